import Foundation

/// How `launch` decides that one service is ready, and how long it may take.
public struct ReadinessRule: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Has a healthcheck: ready when the engine says healthy.
        case healthy
        /// One-shot job others wait on with `service_completed_successfully`: ready when it exits 0.
        case completes
        /// No healthcheck: ready when running and not restarted for the stability window.
        case stable(Duration)
        /// `launch.ready_log` / `launch.ready_http`: ready when that signal is seen (see `ReadySignal`).
        case signal(ReadySignal)
    }

    public var kind: Kind
    public var deadline: Duration
    /// The deadline came from the run history.
    public var isLearned = false

    /// Without a healthcheck to take it from, how long a service readied by a label signal may take by default
    /// (`launch.timeout` raises it for a slow model load).
    public static let signalDeadline: Duration = .seconds(120)

    /// `history`: the service's past times to ready; used only when the profile opts in (`health.timeout: learned`).
    /// `signals`: whether `launch.ready_log`/`launch.ready_http` count (a swarm launch cannot watch them).
    public init(service: ComposeService, policy: Profile.HealthPolicy, isJob: Bool, history: ReadinessStats? = nil, signals: Bool = true) {
        if isJob {
            kind = .completes
            deadline = service.healthcheck?.deadline() ?? .seconds(120)
        } else if signals, let signal = ReadySignal(labels: service.labels) {
            kind = .signal(signal)
            deadline = max(service.healthcheck?.deadline() ?? .zero, Self.signalDeadline)
        } else if let check = service.healthcheck {
            kind = .healthy
            deadline = check.deadline()
        } else {
            kind = .stable(policy.stability)
            deadline = policy.stability + .seconds(30)
        }
        if policy.learnedTimeout, let learned = LearnedDeadline.deadline(history) {
            deadline = learned
            isLearned = true
        }
        // `launch.timeout` on the service replaces the derived deadline (a long report job, a slow model load).
        // The reader already refused a bad label; `parse` also refuses it here, so a stack built another way cannot trap.
        if let text = service.labels["launch.timeout"], let declared = DurationText.parse(text), declared > .zero {
            deadline = declared
            isLearned = false
        }
        if let cap = policy.timeout, cap < deadline { deadline = cap }
    }

    /// The label signal that decides readiness, if one does.
    public var signal: ReadySignal? { if case .signal(let signal) = kind { signal } else { nil } }

    public var description: String {
        switch kind {
        case .healthy: "healthy"
        case .completes: "exit 0"
        case .stable(let window): "running \(DurationText.format(window))"
        case .signal(let signal): signal.description
        }
    }
}
