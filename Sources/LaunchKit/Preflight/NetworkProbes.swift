import Dispatch
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Resumes a continuation exactly once, whichever of the work and the deadline comes first. The loser's
/// answer is dropped: a slow DNS lookup may finish later on its thread, but nobody waits for it.
final class OnceContinuation<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Value) {
        let pending = continuation.withLock { stored -> CheckedContinuation<Value, Never>? in
            defer { stored = nil }
            return stored
        }
        pending?.resume(returning: value)
    }

    /// Runs `work` on a global queue and answers `onTimeout` if it has not answered within `timeout`.
    static func race(
        timeout: Duration, onTimeout: Value, _ work: @escaping @Sendable (OnceContinuation<Value>) -> Void
    ) async -> Value {
        await withCheckedContinuation { continuation in
            let once = OnceContinuation(continuation)
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) { once.resume(onTimeout) }
            DispatchQueue.global().async { work(once) }
        }
    }
}

/// A TCP connect with a deadline that covers name resolution too.
enum TCPProbe {
    enum Outcome: Sendable, Equatable {
        case connected(milliseconds: Int)
        case refused
        case timedOut
        case unresolvable(String)
        case unreachable(String)
    }

    static func connect(host: String, port: Int, timeout: Duration) async -> Outcome {
        await OnceContinuation.race(timeout: timeout, onTimeout: .timedOut) { once in
            once.resume(blockingConnect(host: host, port: port, timeout: timeout))
        }
    }

    private static func blockingConnect(host: String, port: Int, timeout: Duration) -> Outcome {
        let started = ContinuousClock.now
        var hints = addrinfo()
        hints.ai_socktype = Platform.streamSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return .unresolvable(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let descriptor = Platform.socket(current.pointee.ai_family, current.pointee.ai_socktype)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            if Platform.connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                return .connected(milliseconds: milliseconds(since: started))
            }
            guard errno == EINPROGRESS else {
                lastError = errno
                continue
            }
            let left = timeout - (ContinuousClock.now - started)
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            // Clamped before converting: `Int32(_:)` traps on a wait longer than about 24 days.
            let ready = poll(&poller, 1, Int32(min(max(0, left.seconds * 1000), Double(Int32.max))))
            guard ready > 0 else { return .timedOut }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return .connected(milliseconds: milliseconds(since: started)) }
            lastError = error
        }
        return lastError == ECONNREFUSED ? .refused : .unreachable(String(cString: strerror(lastError)))
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        Int(((ContinuousClock.now - start).seconds * 1000).rounded())
    }
}

/// One HTTP request with a hard deadline, through URLSession.
enum HTTPProbe {
    enum Outcome: Sendable, Equatable {
        case response(status: Int, body: String, milliseconds: Int)
        case timedOut
        /// The request never got an answer: refused, unresolvable, TLS failure.
        case failed(String)
    }

    static func send(
        url: URL, method: String, headers: [(String, String)], timeout: Duration, body: Data? = nil
    ) async -> Outcome {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout.seconds)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.seconds
        configuration.timeoutIntervalForResource = timeout.seconds
        let session = URLSession(configuration: configuration)
        let started = ContinuousClock.now
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let once = OnceContinuation(continuation)
            let task = session.dataTask(with: request) { data, response, error in
                if let response = response as? HTTPURLResponse {
                    let body = String(decoding: (data ?? Data()).prefix(4096), as: UTF8.self)
                    once.resume(
                        .response(
                            status: response.statusCode, body: body,
                            milliseconds: TCPProbe.milliseconds(since: started)))
                } else if let error = error as? URLError, error.code == .timedOut {
                    once.resume(.timedOut)
                } else {
                    once.resume(.failed(error.map(describe) ?? "no response"))
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) { once.resume(.timedOut) }
            task.resume()
        }
        session.invalidateAndCancel()
        return outcome
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? URLError else { return "\(error)" }
        switch error.code {
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "the host name does not resolve"
        case .notConnectedToInternet, .networkConnectionLost: return "no network connection"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "the TLS handshake failed (certificate or proxy problem)"
        default: return error.localizedDescription
        }
    }
}
