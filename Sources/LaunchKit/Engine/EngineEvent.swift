import Foundation

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
        timeNano = try c.decode(.timeNano, or: time * 1_000_000_000)
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
    public var service: String? { actor.attributes["com.docker.compose.service"] }
    public var project: String? { actor.attributes["com.docker.compose.project"] }
    public var containerID: String? { type == "container" ? actor.id : nil }
    /// Container name without "/", for container events.
    public var name: String? { actor.attributes["name"] }
}

extension EngineClient {
    /// Follows `GET /events` on a dedicated connection and thread, yielding each event as
    /// soon as its chunk arrives. Ending iteration (break, cancellation, dropping the
    /// stream) shuts the socket down, which wakes the thread out of `read(2)` at once.
    /// `since` replays the engine's recent history first, so subscribing just before
    /// acting cannot miss the reaction. The stream fails if the engine goes away.
    /// `actions` filters engine-side (e.g. ["start", "die", "health_status"]); without it a
    /// healthchecked container also emits exec_create/exec_start/exec_die every interval.
    /// "health_status", "exec_create" and "exec_start" match by prefix there.
    public func events(
        since: Date? = nil, labels: [String] = [], actions: [String] = []
    ) -> AsyncThrowingStream<EngineEvent, any Error> {
        var query = Self.filters(["label": labels, "event": actions])
        if let since {
            let seconds = since.timeIntervalSince1970.rounded(.down)
            let nanos = Int((since.timeIntervalSince1970 - seconds) * 1e9)
            query.append(("since", String(format: "%lld.%09ld", Int64(seconds), nanos)))
        }
        let target = Self.target("/events", query)
        let socketPath = endpoint.socketPath
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EngineEvent.self)
        let socket = StreamSocket()
        continuation.onTermination = { _ in socket.terminate() }

        let thread = Thread {
            defer { socket.close() }
            do {
                guard let fd = try socket.open(path: socketPath) else { return continuation.finish() }
                try EngineSocket.writeAll(fd, EngineSocket.requestHead("GET", target, bodyLength: nil))
                let reader = ResponseReader(fd: fd)
                let (status, headers) = try reader.readHead()
                guard status == 200 else {
                    let body = try reader.readBody(status: status, headers: headers)
                    throw EngineError.http(status: status, message: Self.errorMessage(body))
                }
                let chunked = ResponseReader.isChunked(headers)
                let decoder = JSONDecoder()
                var pending: [UInt8] = []
                // The engine sends one JSON object + "\n" per chunk, but do not rely on it.
                while let data = try (chunked ? reader.readChunk() : reader.readSome()) {
                    pending += data
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending[..<newline]
                        defer { pending.removeSubrange(...newline) }
                        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
                        do {
                            continuation.yield(try decoder.decode(EngineEvent.self, from: Data(line)))
                        } catch {
                            throw EngineError.decoding("event: \(error)")
                        }
                    }
                }
                continuation.finish()
            } catch {
                // After our own shutdown, the resulting EOF is not an error.
                socket.isTerminated ? continuation.finish() : continuation.finish(throwing: error)
            }
        }
        thread.name = "EngineClient.events"
        thread.start()
        return stream
    }
}
