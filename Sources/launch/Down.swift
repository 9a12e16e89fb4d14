import ArgumentParser
import LaunchKit

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop and remove an environment's containers and networks (volumes stay).",
        discussion: """
            Containers are found by the compose project label, stopped dependents first, then removed with the \
            project's networks. Volumes are kept.

            Example:
              launch down dev
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias.") var environment: String
    @Flag(help: "Write what was removed as JSON to stdout.") var json = false

    func run() async throws {
        try await execute { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            let client = try EngineClient(environment: context.environment)
            let order = (try? DependencyGraph(ComposeModelReader.read(files: profile.compose.files.map(catalog.layout.composeFile), lookup: { _ in nil })))?.startOrder ?? []
            let report = try await Teardown(client: client, project: profile.compose.project).run(startOrder: order)
            if json {
                context.console.data(try JSONOutput.encode(report))
            } else if report.removedContainers.isEmpty && report.removedNetworks.isEmpty {
                context.console.say("\(profile.compose.project): nothing to stop")
            } else {
                context.console.say("\(profile.compose.project): removed \(report.removedContainers.count) containers, \(report.removedNetworks.count) networks")
                if !report.keptVolumes.isEmpty { context.console.say("  kept volumes: \(report.keptVolumes.joined(separator: ", "))") }
            }
            return .success
        }
    }
}
