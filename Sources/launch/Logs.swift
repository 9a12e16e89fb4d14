import ArgumentParser
import LaunchKit

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the logs of an environment's services (secret values redacted).",
        discussion: "Examples:\n  launch logs dev\n  launch logs dev litellm vllm -f --tail 100")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias.") var environment: String
    @Argument(help: "Services (default: all).") var services: [String] = []
    @Flag(name: [.short, .long], help: "Keep following new lines.") var follow = false
    @Option(help: "Lines per container to start from.") var tail: Int?

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            let client = EngineClient(context: context)
            try await LogStreamer(context: context, client: client, layout: catalog.layout, profile: profile)
                .stream(services: services, follow: follow, tail: tail)
            return .success
        }
    }
}
