import ArgumentParser
import LaunchKit

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start services (and what they depend on) and wait until they are ready.",
        discussion: """
            Takes the project's lock and resolves the environment like `launch <environment>`. Dependencies that \
            are not ready are started first; missing containers are created; existing ones are kept as they are \
            (`launch restart` recreates changed ones). Exit status: 0 ready, 1 a service did not become ready.

            Examples:
              launch start dev openwebui
              launch start demo worker
              launch start demo             (every service)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: ServiceArguments
    @Flag(help: "Write the outcome as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let (control, services) = try target.control(context, projectDirectory: global.projectDirectory)
            let outcome = try await control.start(services, report: ProgressReporter(console: context.console))
            try show(outcome, json: json, context: context)
            return ExitStatus(rawValue: outcome.exitCode)
        }
    }
}
