import Foundation

/// Every decision of `launch watch`, pure: `(state, input, now) -> (state, [Action])`. Inputs are observations of
/// services (from container inspects or swarm task lists), timer ticks and the answers to restarts it asked for;
/// actions are events to report, restarts to perform and the exit of a watch whose budget ran out. It performs
/// nothing and reads no clock, so recorded sequences replay through it in unit tests.
public struct WatchMachine: Sendable {
    public enum Input: Sendable, Equatable {
        case observed(ServiceObservation)
        /// Time passed: due restarts and post-restart deadlines are checked.
        case tick
        /// A restart watching asked for was performed: `error` when the engine refused it, else when the engine says
        /// the service started again (what stopping it for the restart left behind is older, and not a failure).
        case restarted(service: String, error: String?, startedAt: Date?)
    }

    public enum Action: Sendable, Equatable {
        case report(WatchEvent)
        case restart(service: String, containers: [String])
        /// A core service is down past its restart budget: watching ends with this status.
        case exit(ExitStatus, reason: String)
    }

    /// What watching knows of one service.
    public struct Watched: Sendable, Equatable {
        public var serviceClass: ServiceClass
        /// How long it may take to be ready again after watching restarts it (its readiness rule's deadline).
        public var deadline: Duration
        public var condition: ServiceCondition?
        public var containers: [String] = []
        /// Swarm: where its tasks run, and where its newest failed task was.
        public var nodes: [String] = []
        public var failedOn: String?
        /// When it last became ready, and when it last stopped being ready.
        public var readySince: Date?
        public var downSince: Date?
        /// The last recovery's downtime.
        public var lastDownSeconds: Double?
        /// The engine's cumulative restart count last seen, and the times restarts were seen while watching.
        var engineRestartCount: Int?
        public var engineRestarts: [Date] = []
        /// Every engine restart seen since watching began (metrics).
        public var engineRestartsTotal = 0
        /// Restarts watching made, within the policy's window.
        public var watchRestarts: [Date] = []
        /// Restarts watching made since it began (metrics).
        public var watchRestartsTotal = 0
        var restartDue: Date?
        /// Watching asked for a restart and has no answer yet: the stop it makes is not a failure.
        var restartInFlight = false
        /// When the service started again after watching's restart (engine time): a failure from before is stale.
        var restartedAt: Date?
        var readyBy: Date?
        var diagnosedThisDown = false
        var loopNamed = false
        var lastSequence: UInt64 = 0
        public var gaveUp = false
    }

    public let policy: Profile.WatchPolicy
    public private(set) var services: [String: Watched]
    /// A restart loop is as many engine restarts as a launch calls one, within `loopWindow`.
    static let loopRestarts = LaunchStateMachine.restartLoopLimit
    static let loopWindow: TimeInterval = 600

    public init(policy: Profile.WatchPolicy, services: [String: (ServiceClass, Duration)]) {
        self.policy = policy
        self.services = services.mapValues { Watched(serviceClass: $0.0, deadline: $0.1) }
    }

    /// The next moment a tick has work: a restart due or a restarted service's deadline.
    public var nextDeadline: Date? {
        services.values.flatMap { [$0.restartDue, $0.readyBy].compactMap { $0 } }.min()
    }

    public mutating func handle(_ input: Input, now: Date) -> [Action] {
        switch input {
        case .observed(let observation): observe(observation, now: now)
        case .tick: tick(now: now)
        case .restarted(let service, let error, let startedAt): restarted(service, error: error, startedAt: startedAt, now: now)
        }
    }

    private mutating func observe(_ observation: ServiceObservation, now: Date) -> [Action] {
        let name = observation.service
        var service = services[name] ?? Watched(serviceClass: .core, deadline: .seconds(60))
        defer { services[name] = service }
        // A read that began before one already applied says less than it: dropped.
        guard observation.sequence == 0 || observation.sequence >= service.lastSequence else { return [] }
        service.lastSequence = max(service.lastSequence, observation.sequence)
        countRestarts(&service, observation.restarts, now: now)
        service.containers = observation.containers
        service.nodes = observation.nodes
        service.failedOn = observation.failedOn
        let old = service.condition
        let new = observation.condition
        guard old != new, !isStale(observation, service) else { return [] }
        service.condition = new
        var event = self.event(.change, name, service, from: old, to: new, now: now)
        if old == nil { event.kind = .initial }
        if new.isReady {
            if let down = service.downSince, old != nil { event.downSeconds = max(0, now.timeIntervalSince(down)) }
            service.lastDownSeconds = event.downSeconds ?? service.lastDownSeconds
            // Where watching begins, the engine's own time of the start says how long it has been ready.
            service.readySince = old == nil ? (observation.since ?? now) : now
            (service.downSince, service.readyBy, service.restartDue, service.restartedAt) = (nil, nil, nil, nil)
            (service.diagnosedThisDown, service.loopNamed, service.gaveUp) = (false, false, false)
            return [.report(event)]
        }
        if old?.isReady ?? true { service.downSince = service.downSince ?? (old == nil ? observation.since : nil) ?? now }
        guard new.isFailure else { return [.report(event)] }
        event.failure = failure(of: new, &service, now: now)
        var actions: [Action] = [.report(event)]
        // The engine's own restart policy is the first line: a container it is restarting is left to it.
        if case .restarting = new {
            service.restartDue = nil
            return actions
        }
        actions += failed(name, &service, now: now)
        return actions
    }

    /// A failure that watching's own restart made (the stop), or that a read from before the restart still shows.
    private func isStale(_ observation: ServiceObservation, _ service: Watched) -> Bool {
        guard observation.condition.isFailure else { return false }
        if service.restartInFlight { return true }
        guard let restartedAt = service.restartedAt else { return false }
        return observation.since.map { $0 <= restartedAt } ?? false
    }

    /// The failure a loss is diagnosed as: once per stretch of downtime, and once more when the engine's restarts
    /// (or the swarm's replacements) turn out to be a loop.
    private func failure(of condition: ServiceCondition, _ service: inout Watched, now: Date) -> FailureKind? {
        let recent = service.engineRestarts.filter { now.timeIntervalSince($0) <= Self.loopWindow }
        let restartsByEngine: Bool =
            switch condition {
            case .restarting, .short: true
            default: false
            }
        if recent.count >= Self.loopRestarts, !service.loopNamed, restartsByEngine {
            service.loopNamed = true
            service.diagnosedThisDown = true
            let span = recent.last.flatMap { last in recent.first.map { last.timeIntervalSince($0) } }
            return .restartLoop(restarts: recent.count, seconds: span)
        }
        guard !service.diagnosedThisDown else { return nil }
        service.diagnosedThisDown = true
        return condition.failure
    }

    private func countRestarts(_ service: inout Watched, _ count: Int, now: Date) {
        if let seen = service.engineRestartCount, count > seen {
            let added = count - seen
            service.engineRestartsTotal =
                service.engineRestartsTotal.addingReportingOverflow(added).overflow
                ? Int.max : service.engineRestartsTotal + added
            service.engineRestarts += Array(repeating: now, count: min(added, 20))
            service.engineRestarts = service.engineRestarts.filter { now.timeIntervalSince($0) <= Self.loopWindow }.suffix(100)
        }
        service.engineRestartCount = count
    }

    /// A service that stopped being ready for good (not restarting by the engine): restart it if the profile asks,
    /// within the budget; past it, give up (and end watching for a core service).
    private mutating func failed(_ name: String, _ service: inout Watched, now: Date) -> [Action] {
        guard policy.restarts(name, serviceClass: service.serviceClass), !service.gaveUp, service.restartDue == nil,
            !service.restartInFlight
        else { return [] }
        service.readyBy = nil
        service.watchRestarts = service.watchRestarts.filter { now.timeIntervalSince($0) < policy.window.seconds }
        guard service.watchRestarts.count >= policy.max else {
            service.restartDue = now.addingTimeInterval(policy.backoff.seconds)
            return []
        }
        service.gaveUp = true
        var actions: [Action] = [.report(event(.gaveUp, name, service, from: nil, to: service.condition ?? .removed, now: now))]
        if service.serviceClass == .core {
            actions.append(.exit(.watchGaveUp, reason: Self.endText(name, policy: policy)))
        }
        return actions
    }

    private mutating func tick(now: Date) -> [Action] {
        var actions: [Action] = []
        for name in services.keys.sorted() {
            guard var service = services[name] else { continue }
            if let due = service.restartDue, due <= now {
                service.restartDue = nil
                // Only what is still down: a service that came back, or that the engine took over, is left alone.
                if let condition = service.condition, condition.isFailure, !condition.isRestartingByEngine {
                    service.watchRestarts.append(now)
                    service.watchRestartsTotal += 1
                    service.restartInFlight = true
                    service.restartedAt = nil
                    service.readyBy = now.addingTimeInterval(service.deadline.seconds)
                    service.diagnosedThisDown = false
                    actions.append(.report(event(.restart, name, service, from: nil, to: condition, now: now)))
                    actions.append(.restart(service: name, containers: service.containers))
                }
            } else if let readyBy = service.readyBy, readyBy <= now, service.condition?.isReady != true {
                // Restarted, and not ready within its deadline: that is another failure, within the same budget.
                service.readyBy = nil
                var event = event(.restartFailed, name, service, from: nil, to: service.condition ?? .removed, now: now)
                event.failure = .deadline(service.deadline)
                service.diagnosedThisDown = true
                actions.append(.report(event))
                actions += failed(name, &service, now: now)
            }
            services[name] = service
        }
        return actions
    }

    private mutating func restarted(_ name: String, error: String?, startedAt: Date?, now: Date) -> [Action] {
        guard var service = services[name] else { return [] }
        defer { services[name] = service }
        service.restartInFlight = false
        guard let error else {
            service.restartedAt = startedAt ?? now
            // The restart took longer than the deadline it had to be ready by: that deadline's failure counts now.
            if service.readyBy == nil, service.condition?.isReady != true { return failed(name, &service, now: now) }
            return []
        }
        var event = event(.restartFailed, name, service, from: nil, to: service.condition ?? .removed, now: now)
        event.failure = .startRejected(error)
        service.readyBy = nil
        service.diagnosedThisDown = true
        return [.report(event)] + failed(name, &service, now: now)
    }

    private func event(
        _ kind: WatchEvent.Kind, _ name: String, _ service: Watched, from: ServiceCondition?, to: ServiceCondition, now: Date
    ) -> WatchEvent {
        WatchEvent(
            kind: kind, time: now, service: name, serviceClass: service.serviceClass, from: from, to: to,
            engineRestarts: service.engineRestarts.count, watchRestarts: service.watchRestarts.count,
            budget: policy.restarts(name, serviceClass: service.serviceClass) ? policy.max : nil, containers: service.containers,
            nodes: service.nodes, failedOn: to.isReady ? nil : service.failedOn)
    }

    /// Why watching ends when a core service is past its budget.
    public static func endText(_ name: String, policy: Profile.WatchPolicy) -> String {
        "watching ends (exit 5): \(name) is core and still down after \(policy.max) restart\(policy.max == 1 ? "" : "s") within \(DurationText.format(policy.window)) (watch.max: \(policy.max)); the stack is left as it is"
    }
}

extension ServiceCondition {
    /// The engine's restart policy (or the swarm) is bringing it back on its own.
    var isRestartingByEngine: Bool {
        switch self {
        case .restarting, .short: true
        default: false
        }
    }
}
