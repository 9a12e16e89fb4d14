import ArgumentParser
import Foundation
import LaunchKit

/// `--on-change`, `--webhook`, `--metrics`: what watching tells the world, shared by `watch`, `up --watch` and
/// `status --watch`.
struct WatchFlags: ParsableArguments {
    @Option(
        name: .customLong("on-change"),
        help: ArgumentHelp(
            "Run this shell command for every change, the event as JSON on stdin (and LAUNCH_SERVICE, LAUNCH_EVENT, LAUNCH_TO … set).",
            valueName: "command"))
    var onChange: String?
    @Option(
        help: ArgumentHelp("POST every change as JSON to this URL (a `text` field for Slack/Mattermost), with retries.", valueName: "url"))
    var webhook: String?
    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://ADDR:PORT/metrics while watching (:PORT for every interface).", valueName: "addr:port"))
    var metrics: String?

    func validate() throws {
        if let webhook {
            guard let url = URL(string: webhook), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil
            else { throw ValidationError("--webhook: give an http(s) URL, e.g. https://hooks.slack.com/services/…") }
        }
        if let metrics, MetricsServer.parse(metrics) == nil {
            throw ValidationError("--metrics: give HOST:PORT, :PORT or [IPv6]:PORT, e.g. 127.0.0.1:9464")
        }
        if let onChange, onChange.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--on-change: give a command") }
    }

    /// Whether any of them was given (they need watching).
    var isSet: Bool { onChange != nil || webhook != nil || metrics != nil }

    func options(json: Bool, engine: Orchestration) -> WatchOptions {
        var options = WatchOptions()
        options.json = json
        options.engine = engine
        options.metrics = metrics
        options.notify = WatchNotifier.Target(command: onChange, webhook: webhook.flatMap(URL.init(string:)))
        return options
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a running environment: every change of a service's state, a diagnosis for each failure.",
        discussion: """
            One line per change (ready → unhealthy / restarting / exited / oom-killed / removed → ready again), each \
            loss with the same diagnosis a failed launch prints. The engine's restart policy stays the first line; \
            with `watch: {restart: [...], max, window, backoff}` in the profile, watch restarts those services too, \
            and gives up past the budget (exit 5 for a core service). Ctrl-C or SIGTERM ends watching and leaves the \
            stack running (exit 0).

            Examples:
              launch watch dev
              launch watch dev --json | jq .text
              launch watch prod --metrics 127.0.0.1:9464 --webhook https://hooks.slack.com/services/…
              launch watch dev --on-change 'notify-send "$LAUNCH_SERVICE is $LAUNCH_TO"'
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var engineOption: EngineOption
    @OptionGroup var flags: WatchFlags
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Flag(help: "Write one JSON object per event (JSON Lines) to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: environment)
            let options = flags.options(json: json, engine: engineOption.resolve(profile))
            return try await Watcher(
                context: context, client: EngineClient(context: context), layout: catalog.layout, profile: profile, options: options
            ).run()
        }
    }
}
