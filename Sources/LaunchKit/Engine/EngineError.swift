import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything the client throws. Connection failures get distinct cases because the
/// caller reacts differently (missing engine vs. "add yourself to the docker group").
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedHost(String)
    case unknownContext(String, String)
    case conflictingEndpoint
    case socketMissing(String)
    case permissionDenied(String)
    case connectionRefused(String)
    /// Connected (or dialing) but nothing answered in time: a hung daemon, a stuck SSH hop.
    case timedOut(String)
    /// `docker system dial-stdio` (SSH, TLS) could not reach the engine; carries its own words.
    case dialFailed(String)
    /// The engine speaks an API older than the oldest `launch` supports.
    case apiTooOld(String)
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

    /// The request got no answer at all: nothing listening, the connection refused, reset or dropped, nothing in
    /// time. An HTTP status (a 500 included) is an answer: the engine is there.
    public var isNoAnswer: Bool {
        switch self {
        case .socketMissing, .connectionRefused, .timedOut, .dialFailed: true
        case .io(let code, _):
            // EPROTO: the connection closed mid-response (see `EngineSocket`).
            [ECONNRESET, EPIPE, ECONNABORTED, ECONNREFUSED, ENOENT, ETIMEDOUT, ENOTCONN, EHOSTUNREACH, ENETUNREACH, EPROTO].contains(code)
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unsupportedHost(let h): return "unsupported engine host \(h)"
        case .unknownContext(let name, let store): return "docker context \"\(name)\" does not exist (store: \(store)/contexts)"
        case .conflictingEndpoint: return "--host and --context name two different engines"
        case .socketMissing(let p): return "docker socket \(p) does not exist"
        case .permissionDenied(let p): return "permission denied on docker socket \(p)"
        case .connectionRefused(let p): return "connection refused on \(p)"
        case .timedOut(let what): return what
        case .dialFailed(let what): return what
        case .apiTooOld(let what): return what
        case .io(let code, let what): return "\(what) (errno \(code))"
        case .http(let status, let message): return "engine returned \(status): \(message)"
        case .decoding(let what): return "cannot decode engine response: \(what)"
        }
    }
}
