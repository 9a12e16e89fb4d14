import Foundation

/// `launch watch --json`: one object per line, one per event (docs/json.md). The same object is what `--on-change`
/// gets on stdin and `--webhook` receives; `text` is the line a person reads (Slack and Mattermost show it as is).
public struct WatchEventDocument: JSONDocument, Sendable {
    public static var kind: String { "watch-event" }
    public static var schemaVersion: Int { 1 }

    public var time: Date
    public var environment: String
    public var project: String
    /// `compose` or `swarm`.
    public var engine: String
    /// `initial`, `change`, `restart`, `gave-up`.
    public var event: String
    public var service: String
    public var serviceClass: ServiceClass
    /// One word each (`ready`, `exited`, `oom-killed` …); `from` is absent on an initial event.
    public var from: String?
    public var to: String
    /// `to` in words: `exited (137)`, `restarting (exit 1)`, `1/2 tasks running (…)`.
    public var state: String
    public var ready: Bool
    public var exitCode: Int?
    public var downSeconds: Double?
    public var engineRestarts: Int
    public var watchRestarts: Int
    public var budget: Int?
    public var containers: [String]
    /// Swarm only: the nodes its tasks run on, and the node its newest failed task was on (when it is not ready).
    public var nodes: [String]?
    public var failedOn: String?
    public var diagnosis: Diagnosis?
    public var text: String

    enum CodingKeys: String, CodingKey {
        case time, environment, project, engine, event, service, serviceClass = "class", from, to, state, ready,
            exitCode = "exit_code", downSeconds = "down_seconds", engineRestarts = "engine_restarts",
            watchRestarts = "watch_restarts", budget, containers, nodes, failedOn = "failed_on", diagnosis, text
    }

    public init(_ event: WatchEvent, environment: String, project: String, engine: Orchestration, diagnosis: Diagnosis?, redact: Redactor) {
        time = event.time
        self.environment = environment
        self.project = project
        self.engine = engine.rawValue
        self.event = event.kind.rawValue
        service = event.service
        serviceClass = event.serviceClass
        from = event.from?.word
        to = event.to.word
        state = WatchRenderer.shown(event.to.description, redact: redact)
        ready = event.to.isReady
        switch event.to {
        case .exited(let code), .restarting(let code, _): exitCode = code
        default: exitCode = nil
        }
        downSeconds = event.downSeconds.map { ($0 * 1000).rounded() / 1000 }
        engineRestarts = event.engineRestarts
        watchRestarts = event.watchRestarts
        budget = event.budget
        containers = event.containers.map { String($0.prefix(12)) }
        nodes = engine == .swarm ? event.nodes : nil
        failedOn = event.failedOn
        self.diagnosis = diagnosis
        text = WatchRenderer.shown(WatchRenderer.sentence(event, environment: environment), redact: redact)
    }
}

/// `launch watch` for people: one line per event, the diagnosis under every loss, and on a terminal the board of
/// every service after each change.
public enum WatchRenderer {
    /// Anything from the engine, a container or the profile, as watching prints it: redacted whole, then made printable
    /// and cut (so a secret cannot straddle the cut, and no escape sequence reaches a terminal or a chat).
    static func shown(_ text: String, redact: Redactor, limit: Int = 2000) -> String {
        Text.printable(redact(text), limit: limit)
    }

    /// `db (core): ready → exited (137)`, `db (core): restarting → ready, after 2.1s down`; on a swarm, with the
    /// node: `api (core): ready → 0/1 tasks running (…) on node twonode-b`, `api (core): … → ready on twonode-a`.
    public static func sentence(_ event: WatchEvent, environment: String) -> String {
        let who = "\(event.service) (\(event.serviceClass.rawValue))"
        let node =
            event.failedOn.map { " on node \($0)" }
            ?? (event.to.isReady && !event.nodes.isEmpty ? " on " + event.nodes.joined(separator: ", ") : "")
        switch event.kind {
        case .initial:
            return "\(who): \(event.to)\(node)"
        case .restart:
            return "\(who): restarting it (watch restart \(event.watchRestarts) of \(event.budget ?? 0) within its window)"
        case .restartFailed:
            if case .startRejected(let message)? = event.failure { return "\(who): watching could not restart it: \(message)" }
            if case .deadline(let limit)? = event.failure {
                return "\(who): still \(event.to) \(DurationText.format(limit)) after watching restarted it (its readiness deadline)"
            }
            return "\(who): watching's restart did not bring it back (\(event.to))"
        case .gaveUp:
            return
                "\(who): still \(event.to) after \(event.watchRestarts) restart\(event.watchRestarts == 1 ? "" : "s") within its window (watch.max \(event.budget ?? 0)): watching gave up on it"
        case .change:
            let arrow = event.from.map { "\($0) → " } ?? ""
            var text = "\(who): \(arrow)\(event.to)\(node)"
            if let down = event.downSeconds { text += ", after \(DurationText.format(.milliseconds(Int64((down * 1000).rounded())))) down" }
            if case .restartLoop? = event.failure, let failure = event.failure { text += " — \(failure)" }
            return text
        }
    }

    static func clock(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .current).time(includingFractionalSeconds: false).timeSeparator(.colon))
    }

    public static func lines(_ event: WatchEvent, environment: String, diagnosis: Diagnosis?, console: Console, redact: Redactor)
        -> [String]
    {
        let mark: String =
            switch event.kind {
            case .restart: console.styled("↻", .yellow)
            case .gaveUp, .restartFailed: console.styled("✗", .red)
            case .initial, .change:
                event.to.isReady
                    ? console.styled("✓", .green) : (event.to.isFailure ? console.styled("✗", .red) : console.styled("·", .yellow))
            }
        var lines = ["\(clock(event.time)) \(mark) \(shown(sentence(event, environment: environment), redact: redact))"]
        if let diagnosis {
            // The event line names the service; the diagnosis's own first line gives way to its reason.
            lines.append("      why:       \(diagnosis.reason)")
            lines += LaunchSummary.diagnosisLines(diagnosis, console: console).dropFirst().map { "  " + $0 }
        }
        return lines
    }

    /// The board: every service and where it stands, each row cut to `width` columns.
    public static func board(
        _ services: [String: WatchMachine.Watched], now: Date, redact: Redactor, width: Int = 200
    ) -> [String] {
        let ready = services.values.filter { $0.condition?.isReady == true }.count
        var rows = [["SERVICE", "CLASS", "STATE", "FOR", "RESTARTS"]]
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            let since = service.condition?.isReady == true ? service.readySince : service.downSince
            rows.append([
                shown(name, redact: redact, limit: 40), service.serviceClass.rawValue,
                shown(service.condition?.description ?? "unknown", redact: redact, limit: 60),
                since.map { now.timeIntervalSince($0) < 1 ? "<1s" : DurationText.format(.seconds(now.timeIntervalSince($0).rounded())) }
                    ?? "-",
                "\(service.engineRestartsTotal + service.watchRestartsTotal)",
            ])
        }
        return (["\(ready)/\(services.count) ready"] + Text.table(rows).map { "  " + $0 }).map { String($0.prefix(max(20, width - 1))) }
    }
}
