import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An Engine API version, compared numerically (1.9 < 1.41).
public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else { return nil }
        self.init(major: major, minor: minor)
    }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let version = APIVersion(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an API version: \(text)"))
        }
        self = version
    }
}

/// What one client shares across its requests: the endpoint, the negotiated version and, for dialed and TCP
/// endpoints, idle keep-alive connections (a dial is a `docker` process, worth reusing).
final class EngineSession: Sendable {
    let endpoint: EngineEndpoint
    let dockerExecutable: String
    let environment: [String: String]
    private let idle = Mutex<[EngineConnection]>([])
    private let version = Mutex<APIVersion?>(nil)
    static let maxIdle = 4

    init(endpoint: EngineEndpoint, dockerExecutable: String, environment: [String: String]) {
        self.endpoint = endpoint
        self.dockerExecutable = dockerExecutable
        self.environment = environment
    }

    var negotiated: APIVersion? {
        get { version.withLock { $0 } }
        set { version.withLock { $0 = newValue } }
    }

    var keepsConnections: Bool { endpoint.socketPath == nil }

    /// A fresh connection, bounded by `deadline`. For streams, which never go back to the pool.
    func connect(deadline: ContinuousClock.Instant) throws(EngineError) -> EngineConnection {
        try EngineDialing.connect(endpoint, deadline: deadline, dockerExecutable: dockerExecutable, environment: environment)
    }

    /// One request and its whole response within `timeout`. A kept connection the server closed in the
    /// meantime fails before any byte of the answer: then one fresh connection is tried.
    func roundTrip(method: String, target: String, body: [UInt8]?, timeout: Duration) throws(EngineError) -> EngineResponse {
        let deadline = ContinuousClock.now + timeout
        let what = "\(method) \(target.prefix { $0 != "?" }) on \(endpoint.host)"
        var pooled = keepsConnections ? idle.withLock { $0.popLast() } : nil
        while true {
            let reused = pooled != nil
            let connection: EngineConnection
            if let kept = pooled { connection = kept } else { connection = try connect(deadline: deadline) }
            pooled = nil
            do {
                let response = try EngineHTTP.roundTrip(
                    connection, method: method, target: target, body: body, keepAlive: keepsConnections, deadline: deadline, what: what)
                if response.reusable { checkIn(connection) } else { connection.close() }
                return response
            } catch {
                connection.close()
                // Only "the server had already closed it": nothing of the request reached the engine, so it is safe
                // to send again. Anything later (a truncated answer) may have been acted on: never replayed.
                if reused, case .io(let code, _) = error, code == ECONNRESET || code == EPIPE { continue }
                throw Self.explain(error, connection: connection)
            }
        }
    }

    private func checkIn(_ connection: EngineConnection) {
        let surplus = idle.withLock { idle -> EngineConnection? in
            guard idle.count < Self.maxIdle else { return connection }
            idle.append(connection)
            return nil
        }
        surplus?.close()
    }

    /// A dialer that died says why on its stderr ("ssh: connect to host … refused"): that beats "EOF".
    static func explain(_ error: EngineError, connection: EngineConnection) -> EngineError {
        guard let dialer = connection.dialer else { return error }
        switch error {
        case .io, .timedOut:
            // Give a dying dialer a moment to finish writing its reason.
            for _ in 0..<20 where dialer.errorText.isEmpty { usleep(10_000) }
            let text = dialer.errorText
            return text.isEmpty ? error : .dialFailed("`docker system dial-stdio` failed: \(text)")
        default: return error
        }
    }

    deinit {
        idle.withLock { $0.forEach { $0.close() } }
    }
}
