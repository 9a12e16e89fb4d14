import ArgumentParser
import LaunchKit

struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart services and wait until they are ready (recreated when their configuration changed).",
        discussion: """
            Takes the project's lock and resolves the environment like `launch <environment>`. A service whose \
            configuration changed is recreated, any other is restarted; services that depend on it with \
            `depends_on: {<it>: {restart: true}}` follow. Waits with the launch's own readiness rules; nothing \
            else is stopped or started. Exit status: 0 ready, 1 a service did not become ready (left as it is).

            Examples:
              launch restart dev litellm
              launch restart demo api worker --json
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: ServiceArguments
    @Flag(help: "Write the outcome as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let control = try target.control(context, projectDirectory: global.projectDirectory)
            let outcome = try await control.restart(target.services, report: ProgressReporter(console: context.console))
            try show(outcome, json: json, context: context)
            return ExitStatus(rawValue: outcome.exitCode)
        }
    }
}

/// `<environment> <service>…`, both completed from the project's profiles.
struct ServiceArguments: ParsableArguments {
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Argument(help: "One or more services of that environment.", completion: .services) var services: [String]

    /// The environment's services, resolved like `launch <environment>` resolves them.
    func control(_ context: LaunchContext, projectDirectory: String?) throws -> ServiceControl {
        let catalog = try context.catalog(projectDirectory: projectDirectory)
        return ServiceControl(context: context, layout: catalog.layout, profile: try catalog.profile(named: environment))
    }

    func validate() throws {
        if services.isEmpty { throw ValidationError("name at least one service (`launch plan <environment>` lists them)") }
    }
}

/// Prints a per-service command's outcome: JSON to stdout, or lines to stderr.
func show(_ outcome: ServiceControl.Outcome, json: Bool, context: LaunchContext) throws {
    if json {
        context.console.data(try JSONOutput.encode(outcome))
    } else {
        ServiceControlRenderer.lines(outcome).forEach(context.console.say)
    }
}
