import ArgumentParser
import LaunchKit

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop services; their containers stay, for `launch start`.",
        discussion: """
            Takes the project's lock. Stops only the services named (dependents among them first) and says which \
            running services depend on them.

            Examples:
              launch stop dev openwebui
              launch stop demo worker
              launch stop demo              (every service, dependents first)
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: ServiceArguments
    @Flag(help: "Write the outcome as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let (control, services) = try target.control(context, projectDirectory: global.projectDirectory)
            try show(try await control.stop(services), json: json, context: context)
            return .success
        }
    }
}
