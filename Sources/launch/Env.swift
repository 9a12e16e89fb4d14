import ArgumentParser
import LaunchKit

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or complete an environment's env file (secrets are generated, never printed).",
        discussion: """
            Missing variables get the profile's defaults; missing secrets get fresh random values. Existing \
            lines, comments and order are kept. The file is written atomically with mode 0600.

            Example:
              launch env dev
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Flag(help: "Write what was done as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            // A launch reads and completes the same file: one writer at a time.
            let lock = try ProjectLock(
                context: context, root: catalog.layout.root, project: profile.compose.project, environment: profile.name,
                command: "launch env \(profile.name)")
            defer { lock.release() }
            let outcome = try EnvProvisioner(layout: catalog.layout, profile: profile).provision(
                now: context.now(), environment: context.environment)
            if json {
                context.console.data(try JSONOutput.encode(outcome))
            } else {
                EnvReport.lines(outcome).forEach(context.console.say)
            }
            return .success
        }
    }
}
