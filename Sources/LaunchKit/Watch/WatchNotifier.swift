import Foundation
import Synchronization

/// `--on-change` and `--webhook`: every change reaches a command (the event as JSON on stdin, a few `LAUNCH_*`
/// variables) and a URL (POSTed, retried, with a deadline), each through its own queue, so a slow receiver never
/// holds watching up. A queue that falls more than `backlog` events behind drops the oldest and says so.
public final class WatchNotifier: Sendable {
    public struct Target: Sendable {
        /// Run with `/bin/sh -c`, as a hook is.
        public var command: String?
        public var webhook: URL?
        public init(command: String? = nil, webhook: URL? = nil) {
            self.command = command
            self.webhook = webhook
        }
    }

    struct Delivery: Sendable {
        var json: String
        var variables: [String: String]
    }

    static let backlog = 256
    static let commandTimeout: Duration = .seconds(30)
    static let webhookTimeout: Duration = .seconds(5)
    static let webhookAttempts = 3

    private let queues: [AsyncStream<Delivery>.Continuation]
    private let workers: [Task<Void, Never>]
    private let dropped = Mutex(0)
    private let warn: @Sendable (String) -> Void

    /// `warn`: what went wrong with a delivery (said on stderr, never fatal).
    public init(target: Target, runner: any ProcessRunning, warn: @escaping @Sendable (String) -> Void) {
        var deliverers: [@Sendable (Delivery) async -> String?] = []
        if let command = target.command { deliverers.append { await Self.run(command, $0, runner: runner) } }
        if let url = target.webhook { deliverers.append { await Self.post($0.json, to: url) } }
        // One queue and one worker per target: a slow webhook never holds up the command, nor either of them watching.
        let pairs = deliverers.map { deliver in
            let (stream, continuation) = AsyncStream.makeStream(of: Delivery.self, bufferingPolicy: .bufferingNewest(Self.backlog))
            let worker = Task {
                for await delivery in stream {
                    if let problem = await deliver(delivery) { warn(problem) }
                }
            }
            return (continuation, worker)
        }
        queues = pairs.map(\.0)
        workers = pairs.map(\.1)
        self.warn = warn
    }

    /// Queues one event for every target; returns at once.
    public func send(_ document: WatchEventDocument) {
        guard !queues.isEmpty, let json = try? JSONOutput.encode(document, line: true) else { return }
        let variables = [
            "LAUNCH_ENVIRONMENT": document.environment, "LAUNCH_PROJECT": document.project, "LAUNCH_SERVICE": document.service,
            "LAUNCH_CLASS": document.serviceClass.rawValue, "LAUNCH_EVENT": document.event, "LAUNCH_FROM": document.from ?? "",
            "LAUNCH_TO": document.to, "LAUNCH_READY": document.ready ? "1" : "0",
        ]
        for queue in queues {
            guard case .dropped = queue.yield(Delivery(json: json, variables: variables)) else { continue }
            let count = dropped.withLock { count -> Int in
                count += 1
                return count
            }
            // Said on the first drop and every hundredth after: a receiver this slow is worth knowing about, not a flood.
            if count == 1 || count % 100 == 0 {
                warn("a notification receiver is \(Self.backlog) events behind; the oldest are dropped (\(count) so far)")
            }
        }
    }

    /// Lets what is queued go out (each within its own deadline), for at most `limit`; then stops whatever is left.
    public func finish(within limit: Duration) async {
        for queue in queues { queue.finish() }
        let workers = self.workers
        let (signal, done) = AsyncStream.makeStream(of: Void.self)
        Task {
            for worker in workers { await worker.value }
            done.yield()
        }
        Task {
            try? await Task.sleep(for: limit)
            done.yield()
        }
        for await _ in signal { break }
        done.finish()
        for worker in workers { worker.cancel() }
    }

    /// `https://hooks.slack.com/…`: a webhook's path and query are its secret (Slack, Discord, Mattermost).
    static func shown(_ url: URL) -> String {
        guard let scheme = url.scheme, let host = url.host else { return "(the webhook)" }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/…"
    }

    static func run(_ command: String, _ delivery: Delivery, runner: any ProcessRunning) async -> String? {
        var child = Command("/bin/sh", ["-c", command], environment: delivery.variables, timeout: commandTimeout)
        child.input = Array((delivery.json + "\n").utf8)
        do {
            let output = try await runner.run(child)
            guard !output.succeeded else { return nil }
            let said = Text.printable(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines), limit: 200)
            return output.status == 124
                ? "--on-change command did not finish within \(DurationText.format(commandTimeout)); it was stopped"
                : "--on-change command exited \(output.status)\(said.isEmpty ? "" : ": \(said)")"
        } catch {
            return "--on-change command could not run: \(error)"
        }
    }

    /// POSTs with retries (1 s, then 2 s apart); nil when the receiver answered 2xx.
    static func post(_ json: String, to url: URL) async -> String? {
        var last = ""
        for attempt in 0..<webhookAttempts {
            if attempt > 0 { try? await Task.sleep(for: .seconds(1 << (attempt - 1))) }
            let outcome = await HTTPProbe.send(
                url: url, method: "POST", headers: [("Content-Type", "application/json")], timeout: webhookTimeout, body: Data(json.utf8))
            switch outcome {
            case .response(let status, _, _) where (200..<300).contains(status): return nil
            case .response(let status, _, _) where (400..<500).contains(status) && status != 429:
                return "the webhook at \(Self.shown(url)) refused the event (HTTP \(status))"
            case .response(let status, _, _): last = "answered HTTP \(status)"
            case .timedOut: last = "did not answer within \(DurationText.format(webhookTimeout))"
            case .failed(let why): last = why
            }
        }
        return "the webhook at \(Self.shown(url)) \(last) (\(webhookAttempts) tries); this event was not delivered"
    }
}
