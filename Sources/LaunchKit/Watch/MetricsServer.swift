import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--metrics ADDR:PORT`: a minimal HTTP/1.1 server for Prometheus's scraper on its own thread. `GET /metrics`
/// answers the text exposition `render` returns at that moment; anything else is 404. One request per connection,
/// each read bounded by a deadline, so a client that connects and says nothing cannot hold it.
public final class MetricsServer: Sendable {
    /// Where it listens, as bound (a port of 0 becomes the one the kernel chose).
    public let address: String
    private let descriptor: Int32
    private let stopped = Mutex(false)

    public struct Failure: LaunchFailure {
        public var summary: String
        public var hint: String?
        public var exitCode: ExitStatus { .usage }
    }

    /// `HOST:PORT`, `:PORT` (every interface) or `[IPv6]:PORT`.
    public static func parse(_ text: String) -> (host: String?, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.contains(":") && !text.hasPrefix("[") { return nil }
        return (host.isEmpty ? nil : host, port)
    }

    public init(listen text: String, render: @escaping @Sendable () -> String) throws {
        guard let (host, port) = Self.parse(text) else {
            throw Failure(summary: "--metrics \(text): give HOST:PORT, :PORT or [IPv6]:PORT", hint: "for example --metrics 127.0.0.1:9464")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Platform.streamSocket
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(summary: "--metrics \(text): the host \(host ?? "") does not resolve", hint: "give an address of this machine")
        }
        defer { freeaddrinfo(list) }
        let fd = Platform.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else {
            throw Failure(
                summary: "--metrics \(text): cannot open a socket: \(String(cString: strerror(errno)))",
                hint: "too many open files or no network stack here: try again, or leave --metrics out")
        }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard Platform.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, listen(fd, 16) == 0 else {
            let why = String(cString: strerror(errno))
            Platform.close(fd)
            throw Failure(
                summary: "--metrics \(text): cannot listen there: \(why)",
                hint: errno == EADDRINUSE ? "another program holds that port: pick another one" : "give an address of this machine")
        }
        descriptor = fd
        address = Self.boundAddress(fd, host: host) ?? text
        let thread = Thread { [self] in
            while !stopped.withLock({ $0 }) {
                let client = Self.accept(descriptor)
                guard client >= 0 else {
                    switch errno {
                    case EINTR, ECONNABORTED: continue
                    // Out of descriptors for now: wait a little rather than stop serving.
                    case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(100_000)
                    default: if stopped.withLock({ $0 }) { return } else { usleep(100_000) }
                    }
                    continue
                }
                Self.answer(client, render: render)
                Platform.close(client)
            }
        }
        thread.name = "launch.metrics"
        thread.start()
    }

    /// Stops listening; a scrape in progress finishes.
    public func stop() {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        Platform.shutdown(descriptor)
        Platform.close(descriptor)
    }

    static func boundAddress(_ fd: Int32, host: String?) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        let port: UInt16 =
            switch Int32(storage.ss_family) {
            case AF_INET:
                withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port } }
            case AF_INET6:
                withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port } }
            default: 0
            }
        let shown = host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "0.0.0.0"
        return "\(shown):\(UInt16(bigEndian: port))"
    }

    /// A connection, close-on-exec.
    static func accept(_ listener: Int32) -> Int32 {
        // Glibc's module does not export accept4: accept, then close-on-exec (launch spawns children only from its
        // own tasks, which start them through posix_spawn with the descriptors they need).
        #if canImport(Glibc)
            let fd = Glibc.accept(listener, nil, nil)
        #else
            let fd = Darwin.accept(listener, nil, nil)
        #endif
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    /// Reads the request head (at most 8 KiB, within 2 s in all: a client that trickles bytes cannot hold the
    /// server), answers, and returns.
    static func answer(_ client: Int32, render: @Sendable () -> String) {
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + .seconds(2)
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192, ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            head += buffer[..<count]
            if head.count >= 4, head.suffix(4) == [13, 10, 13, 10] { break }
            if String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let requestLine = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let (status, type, body): (String, String, String)
        if requestLine.count >= 2, requestLine[0] == "GET", requestLine[1].split(separator: "?").first == "/metrics" {
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render())
        } else if requestLine.count >= 2, requestLine[0] == "GET", requestLine[1] == "/" {
            (status, type, body) = ("200 OK", "text/plain; charset=utf-8", "launch watch: metrics at /metrics\n")
        } else {
            (status, type, body) = ("404 Not Found", "text/plain; charset=utf-8", "not found: metrics are at /metrics\n")
        }
        let bytes = Array(body.utf8)
        let response =
            Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n".utf8)
            + bytes
        var sent = 0
        while sent < response.count, ContinuousClock.now < deadline + .seconds(3) {
            let count = response[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Platform.sendNoSignal) }
            guard count > 0 else { return }
            sent += count
        }
    }
}
