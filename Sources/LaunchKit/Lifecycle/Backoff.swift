/// One backoff rule for every wait-and-try-again in launch: doubling from a first delay, capped. A service's
/// retries (`health.retries` from `health.backoff`, at most a minute apart), a lost event stream or a dropped log
/// follow (from 100 ms, at most 5 s apart) and a swarm write refused for a moved version (from 50 ms, at most
/// 800 ms) all wait by it. Computed in seconds, so no exponent or first delay can overflow or trap.
struct Backoff: Sendable, Hashable {
    var first: Duration
    var cap: Duration

    /// A lost event stream or log follow: the engine is usually back within a second.
    static let reconnect = Backoff(first: .milliseconds(100), cap: .seconds(5))
    /// A swarm service write refused because the allocator moved its version meanwhile.
    static let swarmWrite = Backoff(first: .milliseconds(50), cap: .milliseconds(800))

    /// A service's retries after a failed attempt, from the profile's `health.backoff`.
    static func retry(_ first: Duration) -> Backoff { Backoff(first: first, cap: .seconds(60)) }

    /// The wait before try `attempt` (1: the first retry waits `first`).
    func delay(attempt: Int) -> Duration {
        let exponent = Double(1 << min(max(attempt - 1, 0), 16))
        let seconds = first.seconds * exponent
        guard seconds.isFinite, seconds >= 0 else { return cap }
        return .milliseconds(Int64((min(seconds, cap.seconds) * 1000).rounded()))
    }
}
