import Foundation
import Synchronization

/// One object from `GET /events`. The helpers normalise what the launcher keys off.
public struct EngineEvent: Decodable, Sendable, Equatable {
    public struct Actor: Decodable, Sendable, Equatable {
        public let id: String
        public let attributes: [String: String]
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(.id, or: "")
            attributes = try c.decode(.attributes, or: [:])
        }
    }

    /// "container", "network", "volume", "image", ...
    public let type: String
    /// "start", "die", "health_status: healthy", "exec_start: sh -c ...", ...
    public let action: String
    public let actor: Actor
    /// Unix seconds / nanoseconds.
    public let time: Int64
    public let timeNano: Int64

    enum CodingKeys: String, CodingKey { case type = "Type", action = "Action", actor = "Actor", time, timeNano }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(.type, or: "")
        action = try c.decode(.action, or: "")
        actor = try c.decode(Actor.self, forKey: .actor)
        time = try c.decode(.time, or: 0)
        // Only seconds: an engine's `time` past the year 2262 would overflow as nanoseconds, so it reads as unknown (0).
        let fromSeconds = time.multipliedReportingOverflow(by: 1_000_000_000)
        timeNano = try c.decode(.timeNano, or: fromSeconds.overflow ? 0 : fromSeconds.partialValue)
    }

    /// "healthy" / "unhealthy" / "starting" from `health_status: healthy` (20.10 puts a
    /// space after the colon; tolerate its absence too). Nil for other actions.
    public var healthStatus: String? {
        guard action.hasPrefix("health_status") else { return nil }
        let rest = action.dropFirst("health_status".count).drop { $0 == ":" || $0 == " " }
        return rest.isEmpty ? nil : String(rest)
    }

    /// The process exit code, present on `die` events.
    public var exitCode: Int? { actor.attributes["exitCode"].flatMap { Int($0) } }
    public var service: String? { actor.attributes[ComposeLabels.service] }
    public var project: String? { actor.attributes[ComposeLabels.project] }
    public var containerID: String? { type == "container" ? actor.id : nil }
    /// Container name without "/", for container events.
    public var name: String? { actor.attributes["name"] }
}

extension EngineClient {
    /// How long an event stream may stay silent before a `/_ping` checks that the engine is still there.
    public static let streamHeartbeat: Duration = .seconds(5)

    /// Follows `GET /events` on a dedicated connection and thread, yielding each event as
    /// soon as its chunk arrives. Ending iteration (break, cancellation, dropping the
    /// stream) shuts the socket down, which wakes the thread out of `poll(2)` at once.
    /// `since` replays the engine's recent history first, so subscribing just before
    /// acting cannot miss the reaction. The stream fails if the engine goes away — or stops answering:
    /// when it has been silent for `streamHeartbeat`, a `/_ping` with a deadline must succeed.
    /// `actions` filters engine-side (e.g. ["start", "die", "health_status"]); without it a
    /// healthchecked container also emits exec_create/exec_start/exec_die every interval.
    /// "health_status", "exec_create" and "exec_start" match by prefix there.
    public func events(
        since: Date? = nil, labels: [String] = [], actions: [String] = [], heartbeat: Duration = EngineClient.streamHeartbeat
    ) -> AsyncThrowingStream<EngineEvent, any Error> {
        events(
            sinceNanoseconds: since.map { Int64(($0.timeIntervalSince1970 * 1e9).rounded(.down)) }, labels: labels, actions: actions,
            heartbeat: heartbeat)
    }

    /// `since` in Unix nanoseconds, exactly as events carry `timeNano` (a Double would lose the last digits).
    public func events(
        sinceNanoseconds since: Int64?, labels: [String] = [], actions: [String] = [], heartbeat: Duration = EngineClient.streamHeartbeat,
        /// Called once the engine has the subscription in place — or once it is clear it will not (then the
        /// stream ends with the error).
        onConnected: (@Sendable () -> Void)? = nil
    ) -> AsyncThrowingStream<EngineEvent, any Error> {
        var query = Self.filters(["label": labels, "event": actions])
        if let since, since > 0 {
            query.append(("since", String(format: "%lld.%09lld", since / 1_000_000_000, since % 1_000_000_000)))
        }
        return follow("/events", query, heartbeat: heartbeat, onConnected: onConnected) { pending throws(EngineError) in
            let decoder = JSONDecoder()
            var events: [EngineEvent] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                defer { pending.removeSubrange(...newline) }
                guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
                do {
                    events.append(try decoder.decode(EngineEvent.self, from: Data(line)))
                } catch {
                    throw EngineError.decoding("event: \(error)")
                }
            }
            return events
        }
    }

    /// Follows a streaming `GET` on a dedicated connection and thread: each piece of body is appended to a buffer
    /// that `parse` takes whole elements from (leaving a partial one for the next piece), and each element is
    /// yielded as soon as it is complete. Ending iteration (break, cancellation, dropping the stream) shuts the
    /// socket down, which wakes the thread out of `poll(2)` at once. Silence longer than `heartbeat` is checked
    /// with a `/_ping` that must answer in time.
    func follow<Element: Sendable>(
        _ path: String, _ query: [(String, String)], heartbeat: Duration, onConnected: (@Sendable () -> Void)? = nil,
        parse: @escaping @Sendable (inout [UInt8]) throws(EngineError) -> [Element]
    ) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Element.self)
        let client = self
        let session = self.session
        let handle = StreamHandle()
        continuation.onTermination = { _ in handle.terminate() }

        Task {
            // Negotiation is a request of its own; only then is the stream's thread started.
            let version: APIVersion
            do { version = try await client.apiVersion() } catch {
                onConnected?()  // settled: the caller must not wait for a subscription that will not come
                return continuation.finish(throwing: error)
            }
            let target = Self.target(path, query, version: version)
            let thread = Thread {
                do {
                    guard
                        let connection = try handle.open({ () throws(EngineError) in
                            try session.connect(deadline: .now + EngineClient.pingTimeout)
                        })
                    else { return continuation.finish() }
                    defer { connection.close() }
                    let what = "GET \(path) on \(session.endpoint.host)"
                    try EngineHTTP.writeAll(
                        connection.fd, EngineHTTP.requestHead("GET", target, bodyLength: nil, keepAlive: false),
                        deadline: .now + EngineClient.pingTimeout, what: what)
                    let reader = ResponseReader(fd: connection.fd, deadline: .now + EngineClient.requestTimeout, what: what)
                    let (status, headers) = try reader.readHead()
                    guard status == 200 else {
                        let body = try reader.readBody(status: status, headers: headers)
                        throw EngineError.http(status: status, message: Self.errorMessage(body))
                    }
                    // The engine answers the head once the subscription is in place: from here nothing is missed.
                    onConnected?()
                    let chunked = ResponseReader.isChunked(headers)
                    var pending: [UInt8] = []
                    while true {
                        reader.deadline = .now + heartbeat
                        let data: [UInt8]?
                        do throws(EngineError) {
                            data = try chunked ? reader.readChunk() : reader.readSome()
                        } catch {
                            guard case .timedOut = error else { throw error }
                            // Silence is normal; an engine that no longer answers is not.
                            try Self.heartbeat(session: session)
                            continue
                        }
                        guard let data else { break }
                        pending += data
                        for element in try parse(&pending) { continuation.yield(element) }
                    }
                    continuation.finish()
                } catch {
                    onConnected?()  // settled (a second call is harmless)
                    // After our own shutdown, the resulting EOF is not an error.
                    handle.isTerminated ? continuation.finish() : continuation.finish(throwing: error)
                }
            }
            thread.name = "EngineClient.follow"
            thread.start()
        }
        return stream
    }

    /// A blocking `/_ping` with the ping deadline, from the stream's own thread.
    static func heartbeat(session: EngineSession) throws(EngineError) {
        let response = try session.roundTrip(method: "GET", target: "/_ping", body: nil, timeout: EngineClient.pingTimeout)
        guard response.status == 200 else { throw .http(status: response.status, message: "ping answered \(response.status)") }
    }
}

extension EngineClient {
    /// Subscribes to a compose project's container events and returns once the engine has the subscription in
    /// place (at most `EngineClient.pingTimeout`), so anything done afterwards is seen. No `since`: a replay of
    /// the recent past would hand a relaunch the `die` of a container someone stopped a moment before, and the
    /// engine's clock need not agree with ours. `resumeFrom` (Unix ns, ours, a little early) is only for
    /// resuming a stream lost before its first event.
    public func subscribe(project: String, actions: [String]) async -> (
        events: AsyncThrowingStream<EngineEvent, any Error>, resumeFrom: Int64
    ) {
        let resumeFrom = Int64((Date().timeIntervalSince1970 - 2) * 1e9)
        let (connected, signal) = AsyncStream<Void>.makeStream()
        let events = self.events(
            sinceNanoseconds: nil, labels: ComposeLabels.projectFilter(project), actions: actions,
            onConnected: {
                signal.yield()
                signal.finish()
            })
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in connected { return } }
            group.addTask { try? await Task.sleep(for: EngineClient.pingTimeout) }
            await group.next()
            group.cancelAll()
        }
        signal.finish()
        return (events, resumeFrom)
    }
}

/// Owns a stream's connection so that `terminate` (from a stream's onTermination, any thread) and the
/// reading thread cannot race: a terminate before the connection exists stops it from being opened.
final class StreamHandle: Sendable {
    private enum State { case idle, open(EngineConnection), terminated }
    private let state = Mutex(State.idle)

    func open(_ connect: () throws(EngineError) -> EngineConnection) throws(EngineError) -> EngineConnection? {
        let connection = try connect()
        let adopted = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .open(connection)
            return true
        }
        if !adopted { connection.close() }
        return adopted ? connection : nil
    }

    func terminate() {
        state.withLock { state in
            if case .open(let connection) = state { connection.shutdown() }
            state = .terminated
        }
    }

    var isTerminated: Bool {
        state.withLock { if case .terminated = $0 { true } else { false } }
    }
}
