import Foundation
import Glibc
import Synchronization

/// Where the engine listens. Only unix sockets are spoken natively; any other
/// `DOCKER_HOST` is reported as `.unsupportedHost` so the caller can fall back to the CLI.
public struct EngineEndpoint: Sendable, Equatable {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Mirrors the CLI's resolution of `DOCKER_HOST` (contexts are not consulted).
    public static func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(EngineError) -> EngineEndpoint {
        guard let host = environment["DOCKER_HOST"], !host.isEmpty else {
            return EngineEndpoint(socketPath: "/var/run/docker.sock")
        }
        guard host.hasPrefix("unix://"), host.count > "unix://".count else {
            throw .unsupportedHost(host)
        }
        return EngineEndpoint(socketPath: String(host.dropFirst("unix://".count)))
    }
}

/// Everything the client throws. Connection failures get distinct cases because the
/// caller reacts differently (missing engine vs. "add yourself to the docker group").
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedHost(String)
    case socketMissing(String)
    case permissionDenied(String)
    case connectionRefused(String)
    case io(Int32, String)
    case http(status: Int, message: String)
    case decoding(String)

    /// Maps a failed `connect(2)` to the case a caller can act on.
    public static func connectFailure(errno code: Int32, path: String) -> EngineError {
        switch code {
        case ENOENT, ENOTDIR: return .socketMissing(path)
        case EACCES, EPERM: return .permissionDenied(path)
        case ECONNREFUSED: return .connectionRefused(path)
        default: return .io(code, "connect \(path): \(String(cString: strerror(code)))")
        }
    }

    public var description: String {
        switch self {
        case .unsupportedHost(let h): return "unsupported DOCKER_HOST \(h)"
        case .socketMissing(let p): return "docker socket \(p) does not exist"
        case .permissionDenied(let p): return "permission denied on docker socket \(p)"
        case .connectionRefused(let p): return "connection refused on docker socket \(p)"
        case .io(let code, let what): return "\(what) (errno \(code))"
        case .http(let status, let message): return "engine returned \(status): \(message)"
        case .decoding(let what): return "cannot decode engine response: \(what)"
        }
    }
}

/// A complete, buffered HTTP response.
struct EngineResponse: Sendable {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]
}

/// Blocking HTTP/1.1-over-unix-socket primitives. Callers must run these off the
/// cooperative pool (see `EngineClient.perform` and `EngineClient.events`).
enum EngineSocket {
    static func connect(to path: String) throws(EngineError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(errno, "socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw .io(ENAMETOOLONG, "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw EngineError.connectFailure(errno: code, path: path)
        }
        return fd
    }

    static func requestHead(_ method: String, _ target: String, bodyLength: Int?) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: EngineClient\r\n"
        // One request per connection: connecting to a unix socket costs microseconds,
        // and it spares us connection-pool state shared across tasks.
        head += "Connection: close\r\n"
        if let bodyLength { head += "Content-Type: application/json\r\nContent-Length: \(bodyLength)\r\n" }
        else if method != "GET" { head += "Content-Length: 0\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// `MSG_NOSIGNAL`: a vanished engine must surface as EPIPE, not kill us with SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(EngineError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(errno, "write")
            }
            offset += n
        }
    }

    /// One complete request/response on a fresh connection.
    static func roundTrip(path: String, method: String, target: String, body: [UInt8]?) throws(EngineError) -> EngineResponse {
        let fd = try connect(to: path)
        defer { close(fd) }
        try writeAll(fd, requestHead(method, target, bodyLength: body?.count) + (body ?? []))
        let reader = ResponseReader(fd: fd)
        let (status, headers) = try reader.readHead()
        return EngineResponse(status: status, headers: headers, body: try reader.readBody(status: status, headers: headers))
    }
}

/// Incremental HTTP/1.1 response parser over a blocking fd. `read(2)` returns as soon
/// as any bytes arrive, so streamed chunks are surfaced without waiting for a full buffer.
final class ResponseReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    init(fd: Int32) { self.fd = fd }

    /// Appends whatever the kernel has; false on EOF (including after `shutdown`).
    private func fill() throws(EngineError) -> Bool {
        if start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        else if start > 64 * 1024 { buffer.removeFirst(start); start = 0 }
        while true {
            let n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { buffer.append(contentsOf: scratch[0..<n]); return true }
            if n == 0 { return false }
            if errno == EINTR { continue }
            throw .io(errno, "read")
        }
    }

    private static var truncated: EngineError { .io(EPROTO, "connection closed mid-response") }

    func readLine() throws(EngineError) -> String {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = nl + 1
                return line
            }
            guard try fill() else { throw Self.truncated }
        }
    }

    func readExact(_ count: Int) throws(EngineError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw Self.truncated }
        }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }

    func readToEOF() throws(EngineError) -> [UInt8] {
        while try fill() {}
        defer { start = buffer.count }
        return Array(buffer[start...])
    }

    /// Whatever is buffered or arrives next; nil on EOF. For unframed streaming bodies.
    func readSome() throws(EngineError) -> [UInt8]? {
        if start == buffer.count, try !fill() { return nil }
        defer { start = buffer.count }
        return Array(buffer[start...])
    }

    /// Status line and headers (names lowercased).
    func readHead() throws(EngineError) -> (Int, [String: String]) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .io(EPROTO, "malformed status line: \(statusLine)")
        }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// Next chunk's payload, or nil after the terminating zero-size chunk (and trailers).
    func readChunk() throws(EngineError) -> [UInt8]? {
        let sizeLine = try readLine()
        let hex = sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let size = Int(hex, radix: 16), size >= 0 else { throw .io(EPROTO, "bad chunk size: \(sizeLine)") }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let data = try readExact(size)
        guard try readLine().isEmpty else { throw .io(EPROTO, "missing CRLF after chunk") }
        return data
    }

    static func isChunked(_ headers: [String: String]) -> Bool {
        headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
    }

    func readBody(status: Int, headers: [String: String]) throws(EngineError) -> [UInt8] {
        if status == 204 || status == 304 || status < 200 { return [] }
        if Self.isChunked(headers) {
            var body: [UInt8] = []
            while let chunk = try readChunk() { body += chunk }
            return body
        }
        if let length = headers["content-length"].flatMap({ Int($0) }) { return try readExact(length) }
        return try readToEOF()
    }
}

/// Owns a streaming connection's fd so that `shutdown` (from a stream's onTermination,
/// any thread) and `close` (from the reading thread) cannot race into a reused fd number.
final class StreamSocket: Sendable {
    private enum State { case idle, open(Int32), shutDown(Int32), closed }
    private let state = Mutex(State.idle)

    /// Connects unless termination already happened; nil means "stop quietly".
    func open(path: String) throws(EngineError) -> Int32? {
        let fd = try EngineSocket.connect(to: path)
        let adopted = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .open(fd)
            return true
        }
        if !adopted { Glibc.close(fd) }
        return adopted ? fd : nil
    }

    /// Unblocks a reader stuck in `read(2)`: it returns 0 and the thread winds down.
    func terminate() {
        state.withLock { state in
            switch state {
            case .idle: state = .closed
            case .open(let fd): Glibc.shutdown(fd, Int32(SHUT_RDWR)); state = .shutDown(fd)
            case .shutDown, .closed: break
            }
        }
    }

    var isTerminated: Bool {
        state.withLock { state in
            switch state {
            case .shutDown, .closed: return true
            case .idle, .open: return false
            }
        }
    }

    func close() {
        state.withLock { state in
            switch state {
            case .open(let fd), .shutDown(let fd): Glibc.close(fd)
            case .idle, .closed: break
            }
            state = .closed
        }
    }
}
