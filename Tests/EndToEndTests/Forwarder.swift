import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP or unix-socket front to an engine's socket, in the test process: a plain `tcp://` endpoint, and a proxy a
/// test can cut (every open connection, the event stream included, drops; new ones are refused). What socat did,
/// without asking the machine for socat.
final class Forwarder: Sendable {
    enum Listen: Sendable {
        case tcp(port: Int)
        case unix(path: String)
    }

    private let listener: Int32
    private let target: String
    private let open = Mutex<Set<Int32>>([])
    private let stopped = Mutex(false)
    private let frozen = Mutex(false)
    private let freezing = Mutex<String?>(nil)

    init(listen: Listen, to socketPath: String) throws {
        target = socketPath
        listener = try Self.bind(listen)
        Sockets.acceptLoop(listener) { [self] client in forward(client) }
    }

    /// Stops listening and drops every connection it carries. Once: a second close of the listener's number would
    /// close whatever the process opened under that number since (a child's pidfd, and its wait would never end).
    func stop() {
        guard
            stopped.withLock({ done in
                defer { done = true }
                return !done
            })
        else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        open.withLock { descriptors in
            for descriptor in descriptors { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    /// Freezes the engine as a hung daemon looks from outside: connections (open and new) are accepted and kept,
    /// requests read, and nothing is ever answered.
    func freeze() { frozen.withLock { $0 = true } }

    /// Freezes only the connections that carry a request containing `request` (`POST /v1.41/containers/create` is
    /// matched by `/containers/create`): from that request on, nothing on them is forwarded either way; every other
    /// request is answered as before.
    func freeze(requestsContaining request: String) { freezing.withLock { $0 = request } }

    private func forward(_ client: Int32) {
        let upstream = Self.connect(unix: target)
        guard upstream >= 0 else {
            close(client)
            return
        }
        open.withLock { $0.formUnion([client, upstream]) }
        // Whichever direction ends first shuts both down; the second to finish closes them.
        let finished = Mutex(0)
        let done: @Sendable () -> Void = { [self] in
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
            guard
                finished.withLock({ count in
                    count += 1
                    return count == 2
                })
            else { return }
            open.withLock { $0.subtract([client, upstream]) }
            close(client)
            close(upstream)
        }
        let stuck = Mutex(false)
        Thread.detachNewThread { [self] in
            Self.pump(from: client, to: upstream) { chunk in
                if let request = freezing.withLock({ $0 }), String(decoding: chunk, as: UTF8.self).contains(request) {
                    stuck.withLock { $0 = true }
                }
                return frozen.withLock { $0 } || stuck.withLock { $0 }
            }
            done()
        }
        Thread.detachNewThread { [self] in
            Self.pump(from: upstream, to: client) { _ in frozen.withLock { $0 } || stuck.withLock { $0 } }
            done()
        }
    }

    private static func pump(from source: Int32, to destination: Int32, dropping: (ArraySlice<UInt8>) -> Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else { return }
            if dropping(buffer[0..<count]) { continue }
            var sent = 0
            while sent < count {
                // Never SIGPIPE: a peer (or `stop`) may close the other side mid-write, and the signal would end the
                // whole test process.
                let written = buffer[sent..<count].withUnsafeBytes {
                    Glibc.send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard written > 0 else { return }
                sent += written
            }
        }
    }

    private static func bind(_ listen: Listen) throws -> Int32 {
        switch listen {
        case .tcp(let port):
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var on: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            return try listening(descriptor, bound)
        case .unix(let path):
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = unixAddress(path)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            return try listening(descriptor, bound)
        }
    }

    private static func listening(_ descriptor: Int32, _ bound: Int32) throws -> Int32 {
        guard descriptor >= 0, bound == 0, Glibc.listen(descriptor, 64) == 0 else {
            let error = errno
            if descriptor >= 0 { close(descriptor) }
            throw Sockets.SocketError(errno: error)
        }
        return descriptor
    }

    private static func connect(unix path: String) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = unixAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    private static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        return address
    }
}
