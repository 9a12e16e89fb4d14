import Foundation

/// Where one service stands while it is watched, from what the engine says of its containers (or swarm tasks).
/// Worse conditions rank higher: a service with replicas is as well as its worst container.
public enum ServiceCondition: Sendable, Hashable, CustomStringConvertible {
    /// Its own check passed: healthy, or running unrestarted past the stability window.
    case ready
    /// A one-shot job that exited 0.
    case completed
    /// Running, not yet ready: its healthcheck is still starting, or it is inside its stability window.
    case starting
    case paused
    case unhealthy
    /// Swarm: fewer tasks running than desired, with the newest task error when one failed.
    case short(running: Int, desired: Int, error: String?)
    /// Exited (killed for lack of memory, when `oomKilled`), and the engine's restart policy is about to start it again.
    case restarting(exitCode: Int, oomKilled: Bool)
    case created
    case exited(Int)
    case oomKilled
    /// No container (or service) of it exists.
    case removed

    public var isReady: Bool { self == .ready || self == .completed }
    /// A process of it runs (ready or not).
    public var isUp: Bool {
        switch self {
        case .ready, .starting, .unhealthy, .paused: true
        case .short(let running, _, _): running > 0
        default: false
        }
    }

    /// A condition that means something is wrong (not a start in progress, a pause or a removal someone asked for).
    public var isFailure: Bool {
        switch self {
        case .unhealthy, .short, .restarting, .exited, .oomKilled: true
        case .ready, .completed, .starting, .paused, .created, .removed: false
        }
    }

    var rank: Int {
        switch self {
        case .completed: 0
        case .ready: 1
        case .starting: 2
        case .paused: 3
        case .unhealthy: 4
        case .short: 5
        case .restarting: 6
        case .created: 7
        case .exited: 8
        case .oomKilled: 9
        case .removed: 10
        }
    }

    /// One word for JSON and metrics: `ready`, `exited`, `oom-killed` …
    public var word: String {
        switch self {
        case .ready: "ready"
        case .completed: "completed"
        case .starting: "starting"
        case .paused: "paused"
        case .unhealthy: "unhealthy"
        case .short: "short"
        case .restarting: "restarting"
        case .created: "created"
        case .exited: "exited"
        case .oomKilled: "oom-killed"
        case .removed: "removed"
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited (\(code))"
        case .restarting(_, true): "restarting (out of memory)"
        case .restarting(let code, false): "restarting (exit \(code))"
        case .short(let running, let desired, let error):
            // The engine's words as they are: whoever prints this redacts, then makes it printable and cuts it.
            "\(running)/\(desired) tasks running" + (error.map { " (\($0))" } ?? "")
        default: word
        }
    }

    /// The failure a diagnosis explains, for a condition that is one.
    public var failure: FailureKind? {
        switch self {
        case .restarting(_, true): .oomKilled
        case .exited(let code), .restarting(let code, false): .exited(code: code)
        case .oomKilled: .oomKilled
        case .unhealthy: .unhealthy
        case .short(_, _, let error):
            // The swarm's words for a task whose process exited: `task: non-zero exit (3)`.
            if let error, let match = error.firstMatch(of: /non-zero exit \((\d+)\)/), let code = Int(match.output.1) {
                .exited(code: code)
            } else {
                error.map { .startRejected($0) }
            }
        default: nil
        }
    }
}

/// What the engine says of one service at one moment: its condition, its containers and how often the engine
/// restarted them. Built from inspected containers (compose) or task lists (swarm), fed to `WatchMachine`.
public struct ServiceObservation: Sendable, Hashable {
    public var service: String
    public var condition: ServiceCondition
    /// Container ids (compose) or task ids (swarm), for the diagnosis.
    public var containers: [String]
    /// The engine's restarts of its containers, cumulative (compose: `RestartCount`; swarm: failed tasks).
    public var restarts: Int
    /// When a running service without a healthcheck becomes ready if nothing changes (its stability window's end):
    /// the driver looks again then.
    public var settlesIn: Duration?
    /// Since when it has been in this condition, by the engine's word (a start, an exit), when it says.
    public var since: Date?
    /// The order the driver began reading it in: an observation older than one already applied is dropped, so a
    /// slow read never overwrites a newer one.
    public var sequence: UInt64 = 0
    /// Swarm: the nodes (hostnames) its running tasks are on, and the node of its newest failed task.
    public var nodes: [String] = []
    public var failedOn: String?

    public init(
        service: String, condition: ServiceCondition, containers: [String] = [], restarts: Int = 0, settlesIn: Duration? = nil
    ) {
        self.service = service
        self.condition = condition
        self.containers = containers
        self.restarts = restarts
        self.settlesIn = settlesIn
    }

    /// A compose service from its inspected containers. `isJob`: exit 0 is completion. `stability`: how long a
    /// running container without a healthcheck must have run to be ready (its start read on the engine's clock).
    public static func compose(
        service: String, containers: [ContainerDetails], isJob: Bool, stability: Duration, now: Date
    ) -> ServiceObservation {
        var worst: ServiceCondition?
        var settles: Duration?
        for details in containers {
            let (condition, wait) = condition(of: details, isJob: isJob, stability: stability, now: now)
            if let wait { settles = max(settles ?? .zero, wait) }
            if worst.map({ condition.rank > $0.rank }) ?? true { worst = condition }
        }
        let condition = worst ?? .removed
        var observation = ServiceObservation(
            service: service, condition: condition, containers: containers.map(\.id),
            restarts: containers.reduce(0) { sum, details in
                let (total, overflow) = sum.addingReportingOverflow(max(0, details.restartCount))
                return overflow ? Int.max : total
            },
            settlesIn: condition == .starting ? settles : nil)
        // The latest start of a running one, the latest exit of one that is down.
        let times = containers.compactMap { EngineTime.parse($0.state.running ? $0.state.startedAt : $0.state.finishedAt) }
        observation.since = times.max().flatMap { $0 <= now && $0.timeIntervalSince1970 > 0 ? $0 : nil }
        return observation
    }

    static func condition(
        of details: ContainerDetails, isJob: Bool, stability: Duration, now: Date
    ) -> (ServiceCondition, Duration?) {
        let state = details.state
        if state.restarting { return (.restarting(exitCode: state.exitCode, oomKilled: state.oomKilled), nil) }
        if state.running {
            if state.status == "paused" { return (.paused, nil) }
            switch state.health?.status {
            case "healthy": return (.ready, nil)
            case "unhealthy": return (.unhealthy, nil)
            case "starting": return (.starting, nil)
            default:
                // No healthcheck: ready once it has run unrestarted for the stability window.
                guard let started = EngineTime.parse(state.startedAt) else { return (.ready, nil) }
                let ran = now.timeIntervalSince(started)
                return ran >= stability.seconds ? (.ready, nil) : (.starting, .seconds(max(0, stability.seconds - ran)))
            }
        }
        if state.oomKilled { return (.oomKilled, nil) }
        if state.status == "created" { return (.created, nil) }
        if isJob && state.exitCode == 0 { return (.completed, nil) }
        return (.exited(state.exitCode), nil)
    }
}

extension ServiceObservation {
    /// A swarm service from its task counts: ready when every desired task runs (the swarm holds a task with a
    /// healthcheck in `starting` until it is healthy); short of tasks with the newest task error; a job completed when
    /// all its tasks did.
    public static func swarm(_ status: SwarmStatus.Service, service: String) -> ServiceObservation {
        let condition: ServiceCondition
        if status.mode == "job" {
            condition =
                status.desired > 0 && status.completed >= status.desired
                ? .completed : (status.lastError.map { .short(running: status.running, desired: status.desired, error: $0) } ?? .starting)
        } else if status.desired == 0 {
            condition = .removed
        } else if status.running < status.desired {
            condition =
                status.lastError != nil || status.failed > 0
                ? .short(running: status.running, desired: status.desired, error: status.lastError) : .starting
        } else {
            condition = .ready
        }
        var observation = ServiceObservation(
            service: service, condition: condition, containers: status.failedContainers, restarts: status.failed)
        observation.nodes = Array(Set(status.nodes)).sorted()
        // Only where the condition is that error's: a loss with no task error (a node gone) names no old failure's node.
        if case .short(_, _, _?) = condition { observation.failedOn = status.lastErrorNode }
        return observation
    }
}
