import ArgumentParser
import LaunchKit

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what is running: service, class, state, health, uptime, restarts, ports.",
        discussion: "Examples:\n  launch status\n  launch ps dev\n  launch status dev --json",
        aliases: ["ps"])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var engineOption: EngineOption
    @Argument(help: "Environment name or alias (default: every environment).", completion: .environments) var environment: String?
    @Flag(help: "Write JSON to stdout.") var json = false
    @Flag(help: "Keep watching: the live view of `launch watch` (one environment).") var watch = false
    @OptionGroup var watchFlags: WatchFlags

    func validate() throws {
        if watch && environment == nil {
            throw ValidationError("--watch follows one environment: name it, e.g. `launch status dev --watch`")
        }
        if !watch && watchFlags.isSet { throw ValidationError("--on-change, --webhook and --metrics belong to watching: add --watch") }
    }

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profiles = try environment.map { [try catalog.profile(named: $0)] } ?? Self.onePerProject(catalog)
            let client = EngineClient(context: context)
            if watch, let profile = profiles.first {
                let options = watchFlags.options(json: json, engine: engineOption.resolve(profile))
                return try await Watcher(context: context, client: client, layout: catalog.layout, profile: profile, options: options).run()
            }
            if environment != nil, let profile = profiles.first, engineOption.resolve(profile) == .swarm {
                let status = try await SwarmStatus.read(client: client, stack: profile.compose.project)
                if json {
                    context.console.data(try JSONOutput.encode(StatusDocument(swarm: status, environment: profile.name)))
                } else {
                    status.render().forEach(context.console.data)
                }
                return .success
            }
            var statuses: [ProjectStatus] = []
            for profile in profiles {
                let expected = Planner.outline(profile, layout: catalog.layout)?.services ?? []
                statuses.append(
                    try await ProjectStatus.read(client: client, profile: profile, expected: environment == nil ? [] : expected))
            }
            if json {
                context.console.data(try JSONOutput.encode(StatusDocument(compose: statuses)))
            } else {
                for status in statuses where environment != nil || !status.services.isEmpty {
                    status.render().forEach(context.console.data)
                }
                if environment == nil && statuses.allSatisfy({ $0.services.isEmpty }) { context.console.data("no environment is running") }
            }
            return .success
        }
    }

    /// Every compose project once: where several environments share one (the quickstart's `demo` and `first-run`),
    /// the one that launched it last speaks for it.
    static func onePerProject(_ catalog: ProfileCatalog) -> [Profile] {
        let recent = RunStore(layout: catalog.layout).list(limit: 50)
        var seen: Set<String> = []
        var chosen: [Profile] = []
        for profile in catalog.profiles where seen.insert(profile.compose.project).inserted {
            let sharing = catalog.profiles.filter { $0.compose.project == profile.compose.project }
            let last = recent.first { run in run.project == profile.compose.project && sharing.contains { $0.name == run.environment } }
            chosen.append(sharing.first { $0.name == last?.environment } ?? profile)
        }
        return chosen
    }
}
