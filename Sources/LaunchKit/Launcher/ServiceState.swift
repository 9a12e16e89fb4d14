/// Where one service is in a launch. The orchestrator moves services through these states; nothing else does.
///
///     pending ─▶ starting ─▶ ready
///        │          │  ▲
///        │          ▼  │ (retry after backoff)
///        │       retrying
///        │          │
///        ▼          ▼
///     blocked     failed
public enum ServiceState: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// Waiting for its dependencies.
    case pending
    /// Start requested or running, not ready yet.
    case starting
    /// Waiting out the backoff before the next attempt.
    case retrying
    /// Healthy, stable, or (for a job) completed with exit 0.
    case ready
    case failed
    /// A dependency it needs failed, so it was never started.
    case blocked(by: String)

    public var isTerminal: Bool {
        switch self {
        case .ready, .failed, .blocked: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .pending: "waiting"
        case .starting: "starting"
        case .retrying: "retrying"
        case .ready: "ready"
        case .failed: "failed"
        case .blocked(let by): "blocked by \(by)"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .blocked: try container.encode("blocked")
        default: try container.encode(description)
        }
    }
}

/// Why a service failed. Decides whether a retry can help.
public enum FailureKind: Sendable, Hashable, CustomStringConvertible {
    case exited(code: Int)
    case oomKilled
    /// The engine's restart policy kept restarting it.
    case restartLoop(restarts: Int)
    /// The engine marked it unhealthy (probes failed `retries` times after start_period).
    case unhealthy
    /// Still not ready at the deadline derived from its healthcheck (or the profile's cap).
    case deadline(Duration)
    /// The engine refused to start it: port already bound, missing device, bad mount.
    case startRejected(String)
    /// A dependency it waits on with `service_completed_successfully` did not complete.
    case dependencyFailed(String)

    /// Deterministic failures repeat on every attempt, so they are not retried.
    public var isDeterministic: Bool {
        switch self {
        case .exited(let code): [125, 126, 127].contains(code)
        case .oomKilled, .startRejected, .dependencyFailed, .restartLoop, .deadline: true
        case .unhealthy: false
        }
    }

    /// `configuration` means a person must change something; `transient` means it may pass on a rerun.
    public var classification: String {
        switch self {
        case .exited(let code) where [125, 126, 127].contains(code): "configuration"
        case .oomKilled, .startRejected, .dependencyFailed: "configuration"
        case .exited, .unhealthy, .deadline, .restartLoop: "transient"
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .oomKilled: "killed by the kernel: out of memory"
        case .restartLoop(let restarts): "restart loop: restarted \(restarts) times without becoming ready"
        case .unhealthy: "unhealthy: its healthcheck failed"
        case .deadline(let limit): "still not ready after \(DurationText.format(limit)) (its deadline)"
        case .startRejected(let message): "the engine refused to start it: \(message)"
        case .dependencyFailed(let service): "\(service) did not complete successfully"
        }
    }

    /// A stable key for grouping failures (the circuit breaker, reports).
    public var key: String {
        switch self {
        case .exited(let code): "exited(\(code))"
        case .oomKilled: "oom"
        case .restartLoop: "restart-loop"
        case .unhealthy: "unhealthy"
        case .deadline: "deadline"
        case .startRejected: "start-rejected"
        case .dependencyFailed: "dependency-failed"
        }
    }
}
