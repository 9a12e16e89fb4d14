import ArgumentParser
import LaunchKit

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop and remove an environment's containers and networks (volumes stay).",
        discussion: """
            Containers are found by the compose project label, stopped dependents first, then removed with the \
            project's networks. Volumes are kept unless --volumes is given, which lists them and asks for the \
            project name (or --yes).

            Examples:
              launch down dev
              launch down dev --volumes --yes
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var engineOption: EngineOption
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Flag(help: "Write what was removed as JSON to stdout.") var json = false
    @Flag(name: [.customShort("v"), .long], help: "Also remove the project's volumes (asks for confirmation).") var volumes = false
    @Flag(help: "Confirm removing volumes without asking.") var yes = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            let client = EngineClient(context: context)
            // Not while a launch of this project (from any checkout) is starting or rolling back.
            let lock = try ProjectLock(
                context: context, root: catalog.layout.root, project: profile.compose.project, environment: profile.name,
                command: "launch down \(profile.name)")
            defer { lock.release() }
            if engineOption.resolve(profile) == .swarm {
                // Services, networks, configs and secrets of the stack; volumes live on the nodes and stay.
                let report = await SwarmStack.undo(client: client, stack: profile.compose.project)
                if json {
                    context.console.data(try JSONOutput.encode(SwarmDownReport(project: profile.compose.project, removed: report)))
                } else if report.removedServices.isEmpty && report.removedNetworks.isEmpty {
                    context.console.say("\(profile.compose.project): nothing deployed on this swarm")
                } else {
                    context.console.say(
                        "\(profile.compose.project): removed \(report.removedServices.count) services, \(report.removedNetworks.count) networks, "
                            + "\(report.removedConfigs.count) configs, \(report.removedSecrets.count) secrets (volumes stay)")
                }
                for error in report.errors { context.console.say("  could not remove: \(error)") }
                return report.errors.isEmpty ? .success : .launchFailed
            }
            if volumes {
                let existing = try await client.listVolumes(labels: ComposeLabels.projectFilter(profile.compose.project)).map(\.name)
                if !existing.isEmpty {
                    try Confirmation.require(
                        context, purpose: "remove the volumes of \(profile.compose.project) (their data is lost)",
                        items: existing, token: profile.compose.project, yes: yes, prompt: !json,
                        flagHint: "launch down \(profile.name) --volumes --yes")
                }
            }
            let levels = Planner.outline(profile, layout: catalog.layout)?.levels ?? []
            let report = try await InterruptHandler.stoppable(console: context.console, what: "launch down") { [volumes] in
                try await Teardown(client: client, project: profile.compose.project).run(levels: levels, removeVolumes: volumes)
            }
            if json {
                context.console.data(try JSONOutput.encode(report))
            } else if report.removedContainers.isEmpty && report.removedNetworks.isEmpty {
                context.console.say("\(profile.compose.project): nothing to stop")
            } else {
                context.console.say(
                    "\(profile.compose.project): removed \(report.removedContainers.count) containers, \(report.removedNetworks.count) networks"
                )
                if !report.keptVolumes.isEmpty { context.console.say("  kept volumes: \(report.keptVolumes.joined(separator: ", "))") }
                if !report.removedVolumes.isEmpty {
                    context.console.say("  removed volumes: \(report.removedVolumes.joined(separator: ", "))")
                }
            }
            return .success
        }
    }
}
