import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A complete, buffered HTTP response.
struct EngineResponse: Sendable {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]
    /// The server may take the connection back for another request.
    var reusable = false
}

/// One byte stream to the engine: a unix or TCP socket, or our end of a socket pair whose other end is a
/// `docker system dial-stdio` child (SSH and TLS). Closing it ends the child too.
final class EngineConnection: Sendable {
    let fd: Int32
    let dialer: Dialer?
    private let closed = Mutex(false)

    struct Dialer: Sendable {
        let pid: pid_t
        /// The child's stderr, kept in a private temporary file so a failure can quote it.
        let errorPath: String

        var errorText: String {
            let data = FileManager.default.contents(atPath: errorPath) ?? Data()
            return String(decoding: data.prefix(2048), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    init(fd: Int32, dialer: Dialer? = nil) {
        self.fd = fd
        self.dialer = dialer
    }

    /// Wakes a reader blocked in `poll`/`read` on another thread; `close` still releases the fd. Under the same
    /// lock as `close`, so it can never hit a reused descriptor number.
    func shutdown() {
        closed.withLock { isClosed in
            if !isClosed { Platform.shutdown(fd) }
        }
    }

    func close() {
        let first = closed.withLock { isClosed -> Bool in
            defer { isClosed = true }
            if !isClosed { Platform.close(fd) }
            return !isClosed
        }
        guard first else { return }
        if let dialer { DialStdioChild.stop(pid: dialer.pid, errorPath: dialer.errorPath) }
    }

    deinit { close() }
}

/// Opens connections to an endpoint, each bounded by a deadline.
enum EngineDialing {
    static func connect(
        _ endpoint: EngineEndpoint, deadline: ContinuousClock.Instant, dockerExecutable: String, environment: [String: String]
    ) throws(EngineError) -> EngineConnection {
        switch endpoint.transport {
        case .unix(let path): return EngineConnection(fd: try connectUnix(path, deadline: deadline))
        case .tcp(let host, let port): return EngineConnection(fd: try connectTCP(host, port, deadline: deadline))
        case .dialer: return try dial(endpoint, dockerExecutable: dockerExecutable, environment: environment)
        }
    }

    static func connectUnix(_ path: String, deadline: ContinuousClock.Instant) throws(EngineError) -> Int32 {
        let fd = Platform.socket(AF_UNIX, Platform.streamSocket)
        guard fd >= 0 else { throw .io(errno, "socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            Platform.close(fd)
            throw .io(ENAMETOOLONG, "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        do {
            try withUnsafePointer(to: &addr) { pointer throws(EngineError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(EngineError) in
                    try connect(fd, address, socklen_t(MemoryLayout<sockaddr_un>.size), deadline: deadline, what: path)
                }
            }
        } catch {
            Platform.close(fd)
            throw error
        }
        return fd
    }

    static func connectTCP(_ host: String, _ port: Int, deadline: ContinuousClock.Instant) throws(EngineError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Platform.streamSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let where_ = "tcp://\(host):\(port)"
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw .io(EHOSTUNREACH, "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var lastError = EngineError.connectionRefused(where_)
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = Platform.socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            do {
                try connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen, deadline: deadline, what: where_)
                return fd
            } catch {
                Platform.close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    /// A non-blocking connect bounded by `deadline`, then back to blocking mode (reads poll on their own).
    static func connect(
        _ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, deadline: ContinuousClock.Instant, what: String
    ) throws(EngineError) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let rc = Platform.connect(fd, address, length)
        if rc == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EAGAIN || code == EINTR else {
            throw EngineError.connectFailure(errno: code, path: what)
        }
        guard try PollWait.wait(fd, for: Int16(POLLOUT), until: deadline) else {
            throw .timedOut("connecting to \(what) took longer than the deadline")
        }
        var soError: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size)
        if soError != 0 { throw EngineError.connectFailure(errno: soError, path: what) }
    }

    /// `docker <endpoint flags> system dial-stdio` on one end of a socket pair: the CLI handles SSH and TLS.
    static func dial(_ endpoint: EngineEndpoint, dockerExecutable: String, environment: [String: String]) throws(EngineError)
        -> EngineConnection
    {
        guard let docker = Executables.find(dockerExecutable, environment: environment) else {
            throw .dialFailed(
                "reaching \(endpoint.host) needs the docker CLI (`docker system dial-stdio`), and `\(dockerExecutable)` is not on PATH")
        }
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Platform.streamSocket | Platform.socketCloseOnExec, 0, &pair) == 0 else { throw .io(errno, "socketpair") }
        for fd in pair { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { Platform.close(pair[1]) }
        var merged = environment
        for (key, value) in endpoint.childEnvironment { merged[key] = value }
        do {
            let child = try DialStdioChild.spawn(
                docker: docker, arguments: endpoint.cliFlags + ["system", "dial-stdio"], environment: merged, socket: pair[1])
            return EngineConnection(fd: pair[0], dialer: .init(pid: child.pid, errorPath: child.errorPath))
        } catch {
            Platform.close(pair[0])
            throw error
        }
    }
}

/// `poll(2)` for one descriptor until a deadline.
enum PollWait {
    /// True when the descriptor is ready (or has hung up: the following read/write reports how), false on timeout.
    static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant?) throws(EngineError) -> Bool {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero { return false }
                let (seconds, attoseconds) = remaining.components
                let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
                timeout = Int32(clamping: millis)
            }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&descriptor, 1, timeout)
            if rc > 0 { return true }
            if rc == 0 { if deadline != nil { return false } else { continue } }
            if errno == EINTR { continue }
            throw .io(errno, "poll")
        }
    }
}

/// HTTP/1.1 framing shared by every request.
enum EngineHTTP {
    static func requestHead(_ method: String, _ target: String, bodyLength: Int?, keepAlive: Bool) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: launch\r\n"
        // Unix sockets connect in microseconds: one request per connection spares us pool state. Dialed and
        // TCP connections are worth keeping.
        if !keepAlive { head += "Connection: close\r\n" }
        if let bodyLength {
            head += "Content-Type: application/json\r\nContent-Length: \(bodyLength)\r\n"
        } else if method != "GET" {
            head += "Content-Length: 0\r\n"
        }
        return Array((head + "\r\n").utf8)
    }

    /// `MSG_NOSIGNAL`: a vanished engine must surface as EPIPE, not kill us with SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant?, what: String) throws(EngineError) {
        var offset = 0
        while offset < bytes.count {
            guard try PollWait.wait(fd, for: Int16(POLLOUT), until: deadline) else {
                throw .timedOut("\(what): the engine did not take the request in time")
            }
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Platform.sendNoSignal) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io(errno, "write")
            }
            offset += n
        }
    }

    /// One complete request/response on `connection`.
    static func roundTrip(
        _ connection: EngineConnection, method: String, target: String, body: [UInt8]?, keepAlive: Bool,
        deadline: ContinuousClock.Instant, what: String
    ) throws(EngineError) -> EngineResponse {
        try writeAll(
            connection.fd, requestHead(method, target, bodyLength: body?.count, keepAlive: keepAlive) + (body ?? []),
            deadline: deadline, what: what)
        let reader = ResponseReader(fd: connection.fd, deadline: deadline, what: what)
        let (status, headers) = try reader.readHead()
        let framed = ResponseReader.isChunked(headers) || headers["content-length"] != nil || status == 204 || status == 304
        let body = try reader.readBody(status: status, headers: headers)
        let reusable = keepAlive && framed && headers["connection"]?.lowercased() != "close"
        return EngineResponse(status: status, headers: headers, body: body, reusable: reusable)
    }
}

/// Incremental HTTP/1.1 response parser over a blocking fd. Every read waits at most until `deadline`
/// (nil: forever), so a daemon that accepts and never answers cannot hang us.
final class ResponseReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    var deadline: ContinuousClock.Instant?
    /// Names the request in a timeout ("GET /_ping on unix:///var/run/docker.sock").
    let what: String

    init(fd: Int32, deadline: ContinuousClock.Instant?, what: String) {
        self.fd = fd
        self.deadline = deadline
        self.what = what
    }

    /// Appends whatever the kernel has; false on EOF (including after `shutdown`).
    private func fill() throws(EngineError) -> Bool {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true); start = 0
        } else if start > 64 * 1024 {
            buffer.removeFirst(start); start = 0
        }
        while true {
            guard try PollWait.wait(fd, for: Int16(POLLIN), until: deadline) else {
                throw .timedOut("\(what): no answer before the deadline")
            }
            let n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { buffer.append(contentsOf: scratch[0..<n]); return true }
            if n == 0 { return false }
            if errno == EINTR || errno == EAGAIN { continue }
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

    /// Status line and headers (names lowercased). EOF before the first byte is `.io(ECONNRESET)`, so a pooled
    /// connection the server already closed can be told from a real failure.
    func readHead() throws(EngineError) -> (Int, [String: String]) {
        if start == buffer.count, try !fill() { throw .io(ECONNRESET, "connection closed before the response") }
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .io(EPROTO, "malformed status line: \(statusLine.prefix(120))")
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
        guard let size = Int(hex, radix: 16), size >= 0, size < 1 << 30 else { throw .io(EPROTO, "bad chunk size: \(sizeLine.prefix(40))") }
        // The size line is consumed: a timeout from here on must not be taken for silence between chunks
        // (a stream's heartbeat would re-read from the middle of this one), so the rest gets its own deadline.
        if let deadline, deadline < .now + EngineClient.requestTimeout { self.deadline = .now + EngineClient.requestTimeout }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        do throws(EngineError) {
            let data = try readExact(size)
            guard try readLine().isEmpty else { throw EngineError.io(EPROTO, "missing CRLF after chunk") }
            return data
        } catch {
            // Not silence between chunks: the engine stopped in the middle of one.
            if case .timedOut(let what) = error { throw .io(ETIMEDOUT, what) }
            throw error
        }
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
        if let length = headers["content-length"].flatMap({ Int($0) }), length >= 0 { return try readExact(length) }
        return try readToEOF()
    }
}
