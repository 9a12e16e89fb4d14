import ArgumentParser
import LaunchKit

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the logs of an environment's services (secret values redacted).",
        discussion:
            "With --follow, a service that restarts (or is recreated) keeps streaming until Ctrl-C.\n\nExamples:\n  launch logs dev\n  launch logs dev litellm vllm -f --tail 100\n  launch logs dev --since 10m --until 5m -t\n  launch logs dev api --no-log-prefix --tail all\n  launch logs prod api --engine swarm"
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var engineOption: EngineOption
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Argument(help: "Services (default: all).", completion: .services) var services: [String] = []
    @Flag(name: [.short, .long], help: "Keep following new lines.") var follow = false
    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Lines per container to start from, or `all`.", valueName: "lines"))
    var tail: String?
    @Option(help: "Only lines since this time: a duration (10m, 1h), an RFC 3339 time or Unix seconds.") var since: String?
    @Option(help: "Only lines before this time (same forms as --since).") var until: String?
    @Flag(name: [.customShort("t"), .long], help: "Show the engine's timestamp of each line.") var timestamps = false
    @Flag(help: "Leave out the service name before each line.") var noLogPrefix = false
    @Flag(help: "Pass escape sequences and control characters through as the container wrote them (secrets are still redacted).")
    var raw = false

    func validate() throws {
        if let since, let problem = LogStreamer.sinceProblem(since) { throw ValidationError("--since: \(problem)") }
        if let until, let problem = LogStreamer.sinceProblem(until) { throw ValidationError("--until: \(problem)") }
        if let tail, tail != "all", (Int(tail) ?? -1) < 0 { throw ValidationError("--tail: give a number of lines, 0 or more, or `all`") }
    }

    /// `--tail all` and no `--tail` are the same: every line.
    var lines: Int? { tail.flatMap { Int($0) } }

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            let client = EngineClient(context: context)
            let streamer = LogStreamer(context: context, client: client, layout: catalog.layout, profile: profile)
            var options = LogStreamer.Options()
            (options.follow, options.tail, options.since, options.until) = (follow, lines, since, until)
            (options.timestamps, options.prefix, options.raw) = (timestamps, !noLogPrefix, raw)
            if engineOption.resolve(profile) == .swarm {
                try await streamer.streamSwarm(services: services, options: options)
            } else {
                try await streamer.stream(services: services, options: options)
            }
            return .success
        }
    }
}
