import Dispatch
import Foundation
import Synchronization

/// Typed access to the Docker Engine API, for the hot paths where a `docker` CLI invocation (55–100 ms) is
/// too slow; a request over a unix socket costs well under 1 ms.
///
/// The API version is negotiated on first use, as the Docker CLI does: the highest version both sides speak,
/// between 1.41 (Engine 20.10) and `newestKnownAPI`. Every request has a deadline.
public struct EngineClient: Sendable {
    public var endpoint: EngineEndpoint { session.endpoint }
    let session: EngineSession
    /// Blocking socket I/O runs here, never on the cooperative pool: a `stop` may
    /// legitimately block for its whole grace period.
    private let queue: DispatchQueue

    /// Engine 20.10: the oldest engine whose response shapes the models rely on.
    public static let oldestAPI = APIVersion(major: 1, minor: 41)
    /// Docker 29.
    public static let newestKnownAPI = APIVersion(major: 1, minor: 52)
    /// How long any request may take unless it says otherwise (a stop adds its grace period).
    public static let requestTimeout: Duration = .seconds(20)
    /// The first contact: a daemon that does not answer `/_ping` in this long is reported as hung.
    public static let pingTimeout: Duration = .seconds(5)

    public init(endpoint: EngineEndpoint, docker: String = "docker", environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.session = EngineSession(endpoint: endpoint, dockerExecutable: docker, environment: environment)
        self.queue = DispatchQueue(label: "EngineClient.io", qos: .userInitiated, attributes: .concurrent)
    }

    /// The endpoint the context resolved, with the context's environment for a dialer.
    public init(context: LaunchContext) {
        self.init(endpoint: context.engine, docker: context.docker.executable, environment: context.environment)
    }

    /// Resolves the endpoint from the environment alone (tests, tools).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(EngineError) {
        self.init(endpoint: try EngineEndpoint.resolve(environment: environment), environment: environment)
    }

    /// The API version requests use, negotiating it first if needed.
    public func apiVersion() async throws -> APIVersion {
        if let known = session.negotiated { return known }
        // An engine that took the whole first contact's deadline without answering is not asked again by this command
        // for a while: every later question would wait out the same deadline (doctor: 13 s instead of 5).
        if let hung = Self.hung(endpoint) { throw hung }
        let response: EngineResponse
        do {
            response = try await perform("GET", "/_ping", versioned: false, timeout: Self.pingTimeout, accept: { _ in true })
        } catch let error as EngineError {
            if case .timedOut = error { Self.hungEndpoints.withLock { $0[endpoint.description] = (error, .now) } }
            throw error
        }
        let version = try Self.negotiate(serverHeader: response.headers["api-version"], endpoint: endpoint)
        session.negotiated = version
        Self.answeredEndpoints.withLock { _ = $0.insert(endpoint.description) }
        return version
    }

    /// Endpoints that answered during this process: an engine that did, and then does not, was lost (not absent).
    private static let answeredEndpoints = Mutex<Set<String>>([])

    public static func hasAnswered(_ endpoint: EngineEndpoint) -> Bool {
        answeredEndpoints.withLock { $0.contains(endpoint.description) }
    }

    /// Endpoints whose first contact timed out, with when: remembered for `hungMemory`.
    private static let hungEndpoints = Mutex<[String: (error: EngineError, at: ContinuousClock.Instant)]>([:])
    static let hungMemory: Duration = .seconds(30)

    static func hung(_ endpoint: EngineEndpoint) -> EngineError? {
        hungEndpoints.withLock { known in
            guard let entry = known[endpoint.description] else { return nil }
            guard entry.at.duration(to: .now) < hungMemory else {
                known[endpoint.description] = nil
                return nil
            }
            return entry.error
        }
    }

    /// min(server, newest known); below the oldest supported is an error that names the engine.
    static func negotiate(serverHeader: String?, endpoint: EngineEndpoint) throws(EngineError) -> APIVersion {
        // An engine too old to send the header predates API 1.25.
        guard let header = serverHeader, let server = APIVersion(header) else {
            throw .apiTooOld("the engine at \(endpoint) does not report an API version (older than Docker 1.13)")
        }
        guard server >= oldestAPI else {
            throw .apiTooOld("the engine at \(endpoint) speaks API \(server); launch needs \(oldestAPI) (Docker 20.10) or newer")
        }
        return min(server, newestKnownAPI)
    }

    // MARK: System

    public func ping(timeout: Duration = EngineClient.pingTimeout) async throws -> Bool {
        let response = try await perform("GET", "/_ping", versioned: false, timeout: timeout, accept: { _ in true })
        if session.negotiated == nil, let version = try? Self.negotiate(serverHeader: response.headers["api-version"], endpoint: endpoint) {
            session.negotiated = version
        }
        // It answers now: whatever timed out before is not held against it.
        _ = Self.hungEndpoints.withLock { $0.removeValue(forKey: endpoint.description) }
        Self.answeredEndpoints.withLock { _ = $0.insert(endpoint.description) }
        return response.status == 200 && String(decoding: response.body, as: UTF8.self) == "OK"
    }

    public func version() async throws -> EngineVersion { try await get("/version") }

    public func info() async throws -> EngineInfo { try await get("/info") }

    /// The engine computes disk usage one caller at a time and answers 500 to a second one meanwhile (another
    /// launch, `docker system df`): a read, so it is simply asked again a few times.
    public func systemDataUsage() async throws -> SystemDataUsage {
        var attempt = 0
        while true {
            do {
                return try await get("/system/df")
            } catch EngineError.http(let status, let message) where status == 500 && message.contains("already running") && attempt < 15 {
                attempt += 1
                // Also asked while undoing after Ctrl-C (sizes of the volumes kept): the wait must still wait.
                await sleepIgnoringCancellation(.milliseconds(200))
            }
        }
    }

    // MARK: Containers

    /// `labels` are `key` or `key=value` filters, ANDed by the engine.
    public func listContainers(all: Bool = false, labels: [String] = []) async throws -> [ContainerSummary] {
        try await get("/containers/json", [("all", all ? "1" : "0")] + Self.labelFilter(labels))
    }

    public func inspectContainer(_ id: String) async throws -> ContainerDetails {
        try await get("/containers/\(Self.escape(id))/json")
    }

    /// 304 (already running) counts as success: the caller wanted it running.
    public func startContainer(_ id: String) async throws {
        try await perform("POST", "/containers/\(Self.escape(id))/start", accept: Self.okOrNotModified)
    }

    /// 304 (already stopped) counts as success. Blocks up to `timeoutSeconds` engine-side.
    public func stopContainer(_ id: String, timeoutSeconds: Int = 10) async throws {
        try await perform(
            "POST", "/containers/\(Self.escape(id))/stop", [("t", String(timeoutSeconds))],
            timeout: Self.requestTimeout + .seconds(timeoutSeconds), accept: Self.okOrNotModified)
    }

    public func restartContainer(_ id: String, timeoutSeconds: Int = 10) async throws {
        try await perform(
            "POST", "/containers/\(Self.escape(id))/restart", [("t", String(timeoutSeconds))],
            timeout: Self.requestTimeout + .seconds(timeoutSeconds))
    }

    /// A missing container is the desired end state, so 404 returns normally.
    public func removeContainer(_ id: String, force: Bool = false, volumes: Bool = false) async throws {
        try await perform(
            "DELETE", "/containers/\(Self.escape(id))",
            [("force", force ? "1" : "0"), ("v", volumes ? "1" : "0")], accept: Self.okOrGone)
    }

    /// The last `tail` lines (negative: all) of stdout and stderr, interleaved as the
    /// engine stored them. Non-TTY logs are demultiplexed; TTY logs are raw, so one
    /// inspect is spent to learn which framing applies.
    public func containerLogs(_ id: String, tail: Int = 100) async throws -> [String] {
        let tty = try await inspectContainer(id).config.tty
        let response = try await perform(
            "GET", "/containers/\(Self.escape(id))/logs",
            [
                ("stdout", "1"), ("stderr", "1"), ("tail", tail < 0 ? "all" : String(tail)), ("timestamps", "0"),
            ])
        return tty ? Self.lines(response.body) : Self.demultiplexLines(response.body)
    }

    /// The last `tail` lines a swarm task, or every task of a swarm service, printed: read through the manager, so
    /// it works for a task on any node whose engine the swarm still reaches. A service with a TTY is not framed.
    public func swarmLogs(_ source: SwarmLogSource, tail: Int) async throws -> [String] {
        let response = try await perform(
            "GET", source.path, [("stdout", "1"), ("stderr", "1"), ("tail", String(max(tail, 1))), ("timestamps", "0")])
        let frames = FrameLines()
        var rest = response.body
        let lines = frames.take(&rest)
        return frames.unframed ? Self.lines(response.body) : lines + frames.finish(rest)
    }

    /// Follows what `id` prints on stdout and stderr during its current run, and returns the first line that
    /// `pattern` matches; nil when the log ends first (the container stopped). The lines are matched on the reading
    /// thread as they arrive, so a long backlog is never held in memory. Cancelling the caller ends the stream.
    public func firstLogLine(_ id: String, matching pattern: String) async throws -> String? {
        guard let regex = try? Regex(pattern) else { return nil }  // refused long before, with its line
        let details = try await inspectContainer(id)
        var query = [("follow", "1"), ("stdout", "1"), ("stderr", "1")]
        if let since = Self.currentRunSince(finishedAt: details.state.finishedAt, startedAt: details.state.startedAt) {
            query.append(("since", Self.sinceText(since)))
        }
        let tty = details.config.tty
        let matcher = LineMatcher(regex)
        let frames = FrameLines()
        let matches = follow("/containers/\(Self.escape(id))/logs", query, heartbeat: Self.streamHeartbeat) { pending throws(EngineError) in
            if tty { return Self.takeLines(&pending).filter(matcher.matches) }
            let matched = frames.take(&pending).filter(matcher.matches)
            if matched.isEmpty, frames.unframed {
                let text = String(decoding: pending.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw .decoding("log stream: not a frame: \(text)")
            }
            return matched
        }
        for try await line in matches { return line }
        return nil
    }

    /// Where the current run's log begins (Unix ns), for `since`: nil for a container that never ran before (its
    /// whole log is this run's). The engine stamps a line when it reads it, so the previous run's last lines can be
    /// stamped just after its `FinishedAt`, and this run's first ones just before its `StartedAt`; halfway between
    /// the two (at most a second after the finish) keeps each run's lines on its own side.
    /// Unix nanoseconds as `since` takes them (`<seconds>.<nanoseconds>`), for the API and `docker logs` alike.
    static func sinceText(_ nanoseconds: Int64) -> String {
        String(format: "%lld.%09lld", nanoseconds / 1_000_000_000, nanoseconds % 1_000_000_000)
    }

    static func currentRunSince(finishedAt: String, startedAt: String) -> Int64? {
        guard let finished = EngineTime.nanoseconds(finishedAt) else { return nil }
        guard let started = EngineTime.nanoseconds(startedAt), started > finished else { return finished + 1 }
        return finished + min((started - finished) / 2, 1_000_000_000)
    }

    /// A compiled pattern for the one thread that follows a log (a `Regex` is not `Sendable`; it is only ever used
    /// there, one line at a time).
    final class LineMatcher: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
        init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
        func matches(_ line: String) -> Bool { line.contains(regex) }
    }

    /// The longest line a log follower keeps before it hands the piece on unfinished (a runaway line must not
    /// grow the buffer without bound).
    static let longestLine = 64 * 1024

    /// Whole lines from the front of a raw (TTY) log buffer, leaving an unfinished one.
    static func takeLines(_ pending: inout [UInt8]) -> [String] {
        var result: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            result.append(line(pending[..<newline]))
            pending.removeSubrange(...newline)
        }
        if pending.count > longestLine {
            result.append(line(pending[...]))
            pending.removeAll()
        }
        return result
    }

    /// Cuts a multiplexed log ([stream, 0, 0, 0, UInt32 big-endian length] + payload) into lines, as it arrives
    /// or whole. The engine sends a line longer than 16 KiB as pieces without their newline, so an unfinished line
    /// is kept per stream until its newline comes (stdout and stderr never splice), up to `longestLine`. Used by
    /// one thread.
    final class FrameLines: @unchecked Sendable {
        private var unfinished: [UInt8: [UInt8]] = [:]
        /// `take` stopped at bytes that are not a frame header (the engine writes some errors unframed): read as
        /// a length they would swallow the rest of the log.
        private(set) var unframed = false

        /// The lines finished by the whole frames at the front of `pending`; an unfinished frame, or from a header
        /// that is not one on, stays there.
        func take(_ pending: inout [UInt8]) -> [String] {
            var result: [String] = []
            var offset = 0
            while pending.count - offset >= 8 {
                let stream = pending[offset]
                guard stream <= 3, pending[offset + 1] == 0, pending[offset + 2] == 0, pending[offset + 3] == 0 else {
                    unframed = true
                    break
                }
                let length = pending[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
                guard pending.count - offset - 8 >= length else { break }
                append(pending[(offset + 8)..<(offset + 8 + length)], to: stream, into: &result)
                offset += 8 + length
            }
            pending.removeFirst(offset)
            return result
        }

        /// What a whole log leaves after `take`: a cut-off last frame's payload, text that was not framed, then each
        /// stream's unfinished line.
        func finish(_ rest: [UInt8]) -> [String] {
            var result: [String] = []
            if unframed {
                result += EngineClient.lines(rest)
            } else if rest.count > 8 {
                append(rest[8...], to: rest[0], into: &result)
            }
            for stream in unfinished.keys.sorted() where !(unfinished[stream] ?? []).isEmpty {
                result += EngineClient.lines(unfinished[stream] ?? [])
            }
            unfinished = [:]
            return result
        }

        private func append(_ payload: ArraySlice<UInt8>, to stream: UInt8, into result: inout [String]) {
            var line = unfinished[stream, default: []]
            for byte in payload {
                if byte == UInt8(ascii: "\n") {
                    result.append(EngineClient.line(line[...]))
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(byte)
                }
            }
            if line.count > EngineClient.longestLine {
                result.append(EngineClient.line(line[...]))
                line.removeAll()
            }
            unfinished[stream] = line
        }
    }

    // MARK: Networks and volumes

    public func listNetworks(labels: [String] = []) async throws -> [NetworkSummary] {
        try await get("/networks", Self.labelFilter(labels))
    }

    public func removeNetwork(_ id: String) async throws {
        try await perform("DELETE", "/networks/\(Self.escape(id))", accept: Self.okOrGone)
    }

    public func listVolumes(labels: [String] = []) async throws -> [VolumeSummary] {
        let list: VolumeList = try await get("/volumes", Self.labelFilter(labels))
        return list.volumes
    }

    public func removeVolume(_ name: String, force: Bool = false) async throws {
        try await perform("DELETE", "/volumes/\(Self.escape(name))", [("force", force ? "1" : "0")], accept: Self.okOrGone)
    }

    // MARK: Plumbing

    static func okOrNotModified(_ status: Int) -> Bool { (200..<300).contains(status) || status == 304 }
    static func okOrGone(_ status: Int) -> Bool { (200..<300).contains(status) || status == 404 }

    func get<T: Decodable>(_ path: String, _ query: [(String, String)] = []) async throws -> T {
        let response = try await perform("GET", path, query)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw EngineError.decoding("\(T.self) from \(path): \(error)")
        }
    }

    /// Runs one round trip on `queue` and bridges back; statuses `accept` rejects become
    /// `.http` carrying the engine's own `{"message": ...}` text.
    @discardableResult
    func perform(
        _ method: String, _ path: String, _ query: [(String, String)] = [], versioned: Bool = true, body: [UInt8]? = nil,
        timeout: Duration = EngineClient.requestTimeout, accept: @escaping @Sendable (Int) -> Bool = { (200..<300).contains($0) }
    ) async throws -> EngineResponse {
        let version = versioned ? try await apiVersion() : nil
        let target = Self.target(path, query, version: version)
        let session = self.session
        let started = ContinuousClock.now
        // Not cancelled with the task: a rollback after Ctrl-C runs in the cancelled task and must still land.
        // The deadline bounds every request instead.
        let response: EngineResponse
        do {
            response = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<EngineResponse, any Error>) in
                queue.async {
                    continuation.resume(
                        with: Result { () throws(EngineError) in
                            try session.roundTrip(method: method, target: target, body: body, timeout: timeout)
                        })
                }
            }
        } catch {
            DebugTrace.note("engine \(method) \(target) → \(error) after \(DebugTrace.milliseconds(since: started))")
            throw error
        }
        DebugTrace.note("engine \(method) \(target) → \(response.status) in \(DebugTrace.milliseconds(since: started))")
        guard accept(response.status) else {
            throw EngineError.http(status: response.status, message: Self.errorMessage(response.body))
        }
        return response
    }

    static func target(_ path: String, _ query: [(String, String)], version: APIVersion?) -> String {
        let base = (version.map { "/v\($0)" } ?? "") + path
        guard !query.isEmpty else { return base }
        return base + "?" + query.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything outside RFC 3986's unreserved set, so filter JSON
    /// (`{`, `"`, `=`, `:` ...) and ids survive both query strings and path segments.
    static func escape(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `filters={"label":[...]}`; omitted entirely when there is nothing to filter on.
    static func labelFilter(_ labels: [String]) -> [(String, String)] { filters(["label": labels]) }

    /// The engine's filter JSON, `{"key":["value",...]}`, with empty keys left out.
    static func filters(_ filters: KeyValuePairs<String, [String]>) -> [(String, String)] {
        func quote(_ text: String) -> String {
            var quoted = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case _ where scalar.value < 0x20: quoted += String(format: "\\u%04x", scalar.value)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        }
        let entries = filters.filter { !$0.value.isEmpty }
            .map { "\(quote($0.key)):[\($0.value.map(quote).joined(separator: ","))]" }
        return entries.isEmpty ? [] : [("filters", "{\(entries.joined(separator: ","))}")]
    }

    static func errorMessage(_ body: [UInt8]) -> String {
        struct Message: Decodable { let message: String }
        if let decoded = try? JSONDecoder().decode(Message.self, from: Data(body)) { return decoded.message }
        return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Splits a whole raw (TTY) log on "\n" (dropping a TTY's "\r"); a trailing newline does not add a line.
    static func lines(_ bytes: [UInt8]) -> [String] {
        var rest = bytes
        let whole = takeLines(&rest)
        return rest.isEmpty ? whole : whole + [line(rest[...])]
    }

    static func line(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes, as: UTF8.self)
    }

    /// The lines of a whole multiplexed log (see `FrameLines`).
    static func demultiplexLines(_ body: [UInt8]) -> [String] {
        let frames = FrameLines()
        var rest = body
        let whole = frames.take(&rest)
        return whole + frames.finish(rest)
    }
}
