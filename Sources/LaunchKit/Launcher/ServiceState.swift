/// Where one service is in a launch. Only the decisions move services through these states: `LaunchStateMachine`
/// on one engine, `SwarmRollout` on a swarm (which has no retrying: the swarm's restart policy is its retry).
///
///     pending ─▶ starting ◀─▶ ready   (a ready service that dies starts over, with a deadline again)
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
    /// The engine's restart policy kept restarting it: `restarts` exits in a row without it becoming ready, the
    /// first and the last `seconds` apart on the engine's clock (nil when the engine gave no times).
    case restartLoop(restarts: Int, seconds: Double? = nil)
    /// The engine marked it unhealthy (probes failed `retries` times after start_period).
    case unhealthy
    /// Still not ready at the deadline derived from its healthcheck (or the profile's cap).
    case deadline(Duration)
    /// The engine refused to start it: port already bound, missing device, bad mount.
    case startRejected(String)
    /// A dependency it waits on with `service_completed_successfully` did not complete.
    case dependencyFailed(String)
    /// Compose created the stack, yet the engine launch watches holds none of this service's containers.
    case noContainers(endpoint: String)
    /// The engine did not answer the start request in time (a busy or stuck engine).
    case startTimedOut(String)
    /// The engine failed on its own side while starting it (a 5xx that names no configuration problem).
    case engineFault(String)
    /// Its readiness signal (`launch.ready_log`/`launch.ready_http`) cannot be seen at all: nothing could ever
    /// make it ready, so it fails now instead of at its deadline.
    case readinessUnavailable(String)

    /// Deterministic failures repeat on every attempt, so they are not retried: the engine could not run the
    /// command (125–127), a long-running service that exits 0 (it will exit 0 again), OOM, a refused start, a
    /// deadline (a retry would wait as long again), a restart loop.
    public var isDeterministic: Bool {
        switch self {
        case .exited(let code): [0, 125, 126, 127].contains(code)
        case .oomKilled, .startRejected, .dependencyFailed, .restartLoop, .deadline, .noContainers, .readinessUnavailable: true
        case .unhealthy, .startTimedOut, .engineFault: false
        }
    }

    /// `configuration` means a person must change something; `transient` means it may pass on a rerun.
    /// The same split as `isDeterministic`, so what is retried and what is reported always agree.
    public var classification: String {
        if case .engineFault = self { return "engine" }
        return isDeterministic ? "configuration" : "transient"
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .oomKilled: "killed by the kernel: out of memory"
        case .restartLoop(let restarts, let seconds):
            "restart loop: it exited \(restarts) times in a row\(seconds.map { " within \(DurationText.format(.milliseconds(Int64(($0 * 1000).rounded()))))" } ?? "") and the engine restarted it each time, without it becoming ready"
        case .unhealthy: "unhealthy: its healthcheck failed"
        case .deadline(let limit): "still not ready after \(DurationText.format(limit)) (its deadline)"
        case .startRejected(let message): "the engine refused to start it: \(message)"
        case .dependencyFailed(let service): "\(service) did not complete successfully"
        case .noContainers(let endpoint): "no container of it exists on the engine launch watches (\(endpoint))"
        case .startTimedOut(let message): "the engine did not answer the start request: \(message)"
        case .engineFault(let message): "the engine failed while starting it: \(message)"
        case .readinessUnavailable(let message): "launch cannot tell when it is ready: \(message)"
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
        case .noContainers: "no-containers"
        case .startTimedOut: "start-timed-out"
        case .engineFault: "engine-fault"
        case .readinessUnavailable: "readiness-unavailable"
        }
    }
}
