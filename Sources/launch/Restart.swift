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
              launch restart demo           (every service)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: ServiceArguments
    @Flag(help: "Write the outcome as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let (control, services) = try target.control(context, projectDirectory: global.projectDirectory)
            let outcome = try await control.restart(services, report: ProgressReporter(console: context.console))
            try show(outcome, json: json, context: context)
            return ExitStatus(rawValue: outcome.exitCode)
        }
    }
}

/// `<environment> [<service>…]`, both completed from the project's profiles; no service means all of them, as
/// in Compose.
struct ServiceArguments: ParsableArguments {
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Argument(help: "Services of that environment (default: all of them).", completion: .services) var services: [String] = []

    /// The environment's services, resolved like `launch <environment>` resolves them, and the services named
    /// (every service of its compose files when none was).
    func control(_ context: LaunchContext, projectDirectory: String?) throws -> (control: ServiceControl, services: [String]) {
        let catalog = try context.catalog(projectDirectory: projectDirectory)
        let profile = try catalog.profile(named: environment)
        let chosen = services.isEmpty ? Planner.outline(profile, layout: catalog.layout)?.startOrder ?? [] : services
        return (ServiceControl(context: context, layout: catalog.layout, profile: profile), chosen)
    }
}

/// Prints a per-service command's outcome: JSON to stdout, or lines to stderr.
func show(_ outcome: ServiceControl.Outcome, json: Bool, context: LaunchContext) throws {
    if json {
        context.console.data(try JSONOutput.encode(outcome))
    } else {
        ServiceControlRenderer.lines(outcome, command: context.console.command).forEach(context.console.say)
    }
}
