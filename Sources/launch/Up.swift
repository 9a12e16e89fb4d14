import ArgumentParser
import LaunchKit

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start an environment: preflight, env file, cleanup, pull, start, wait (the default command).",
        discussion: """
            `launch dev` is short for `launch up dev`.

            Examples:
              launch dev
              launch staging --dry-run
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias (see `launch list`).") var environment: String
    @Flag(help: "Print the plan and change nothing.") var dryRun = false
    @Flag(help: "Write the result as JSON to stdout.") var json = false

    func run() async throws {
        try await execute { context in
            if dryRun {
                return try await printPlan(context, environment: environment, projectDirectory: global.projectDirectory, json: json)
            }
            throw UsageError("starting environments is not available in this build yet", hint: "use `launch \(environment) --dry-run`")
        }
    }
}
