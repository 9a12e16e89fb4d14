import Foundation

/// Every decision of a swarm launch, and nothing else: which service to scale up when, and when a service is
/// ready, failed or blocked. `(state, input, now) -> [Action]`; it performs nothing and reads no clock.
/// `SwarmLauncher` performs the actions and feeds back what the engine said. Which service may go when is the
/// same `DependencyGate` a compose launch uses (conditions and `required` included).
public struct SwarmRollout: Sendable {
    public struct Service: Sendable, Hashable {
        public var name: String
        public var serviceClass: ServiceClass
        /// Replicas for a long-running service; completions (1) for a job.
        public var replicas: Int
        public var isJob: Bool
        public var hasHealthcheck: Bool
        public var readiness: ReadinessRule
        /// What it waits for before it is scaled up, with each dependency's condition and whether it is required.
        public var dependencies: [Dependency]
        /// An update (`.update` mode) changed this running service's spec: the swarm rolls its tasks over, and
        /// it is ready only once the swarm says the update completed and its new tasks are ready.
        public var isRolling: Bool
        /// How long the swarm watches each updated task (`update_config.monitor`): part of a rolling update's time.
        public var updateMonitor: Duration
        /// `health.retries`: how many failed tasks the launch lets the swarm replace before the service is failed,
        /// for the failures a retry can help (`FailureKind.isDeterministic`, as on one machine); no more than the
        /// compose file's own restart policy lets the swarm make (`SwarmStackFile.retries`).
        public var retries: Int
        /// How long the swarm waits before it starts a replacement (`restart_policy.delay`): part of a retry's time to
        /// get a container.
        public var retryDelay: Duration = .zero

        public init(
            name: String, serviceClass: ServiceClass, replicas: Int, isJob: Bool, hasHealthcheck: Bool,
            readiness: ReadinessRule, dependencies: [Dependency], isRolling: Bool = false, updateMonitor: Duration = .zero,
            retries: Int = 0, retryDelay: Duration = .zero
        ) {
            self.retries = retries
            self.retryDelay = retryDelay
            self.isRolling = isRolling
            self.updateMonitor = updateMonitor
            self.name = name
            self.serviceClass = serviceClass
            self.replicas = replicas
            self.isJob = isJob
            self.hasHealthcheck = hasHealthcheck
            self.readiness = readiness
            self.dependencies = dependencies
        }
    }

    /// What one task looked like at one poll: the engine's task state and, for a running task whose service
    /// has a healthcheck, its container's health (`starting`, `healthy`, `unhealthy`).
    public struct TaskObservation: Sendable, Hashable {
        public var id: String
        public var desiredState: String
        public var state: String
        public var error: String?
        public var exitCode: Int?
        public var health: String?
        /// The task's container, where the swarm has made one (inspectable where its node's engine is reachable).
        public var containerID: String?
        /// The hostname of the node it was placed on: every verdict about it names it.
        public var node: String?

        public init(
            id: String, desiredState: String, state: String, error: String? = nil, exitCode: Int? = nil, health: String? = nil,
            containerID: String? = nil, node: String? = nil
        ) {
            self.node = node
            self.containerID = containerID
            self.id = id
            self.desiredState = desiredState
            self.state = state
            self.error = error
            self.exitCode = exitCode
            self.health = health
        }
    }

    public enum Input: Sendable, Hashable {
        /// The driver is ready to go: services with no dependencies are scaled.
        case begin
        /// The engine accepted the scale-up.
        case scaled(String)
        /// The engine refused the scale-up (its message).
        case scaleFailed(String, String)
        /// A poll of one service's tasks.
        case observed(String, [TaskObservation])
        /// A poll of a rolling service's update status (nil: the swarm has not started the update yet).
        case update(String, SwarmService.UpdateStatus?)
        /// A node (hostname) went down or was drained: the services ready with tasks there are not any more until
        /// the swarm has placed those tasks again and they are ready where they now run.
        case nodeLost(String)
        /// `.update`: the second deploy (`deployHeld`) is done; the held services whose tasks the swarm now replaces.
        case heldDeployed(rolling: Set<String>)
        /// `.update`: the engine refused the second deploy (its message).
        case heldDeployFailed(String)
    }

    /// `.deploy`: a new stack, held at 0 and scaled up in dependency order. `.update`: a stack that runs, deployed
    /// at its real replica counts; the swarm rolls changed services over (start-first, rolling back on failure)
    /// and every service is judged at once — what it depends on is already running — except those that depend on a
    /// job (a migration): they keep their running version until every job of this run completed, then a second
    /// deploy (`deployHeld`) rolls them over, as a first deploy runs jobs before what needs them.
    public enum Mode: Sendable, Hashable {
        case deploy, update
    }

    public enum Action: Sendable, Hashable {
        /// Set the service's replicas (a job: completions) to `count`.
        case scale(String, count: Int)
        /// `.update`: the jobs these services wait for completed; deploy them (and only them), so they roll over.
        case deployHeld(Set<String>)
        case changed(String, ServiceState)
        /// Nothing more will happen: every service has settled.
        case finish
    }

    public struct Record: Sendable, Hashable {
        public var state: ServiceState = .pending
        public var scaledAt: Double?
        public var readyAt: Double?
        /// When every desired task was first seen running (the stability window counts from here).
        public var runningSince: Double?
        /// When a task of it first had a container (`starting` or later): its deadline counts from here, as a
        /// compose launch counts from the container's start, so a busy scheduler does not eat the service's time.
        public var containerStartedAt: Double?
        public var failure: String?
        /// The failure in the vocabulary a compose launch uses (the diagnosis's class and next step), where the
        /// swarm's signals say which it is; the containers of the tasks that failed, for their probes and logs.
        public var failureKind: FailureKind?
        public var failedContainers: [String] = []
        public var taskErrors: [String] = []
        public var readiness: String?
        /// `.update` mode: the last update status the swarm reported for a rolling service.
        public var update: SwarmService.UpdateStatus?
        /// The nodes (hostnames) its current tasks are on, as last observed: what a ready line and a lost node name.
        public var nodes: [String] = []
        /// Nodes lost while it had tasks there (it waited for the swarm to place them again).
        public var lostNodes: [String] = []
        /// Failed tasks the swarm replaced (each a retry), and every failed task already judged.
        public var retries = 0
        public var judgedFailures: Set<String> = []
        /// The tasks whose failure failed it, for their logs.
        public var failedTasks: [String] = []
        /// The node (hostname) of each task container seen, for the engine that holds it.
        public var containerNodes: [String: String] = [:]
    }

    public private(set) var services: [Service]
    public let mode: Mode
    /// `.update`: the services that depend (directly or through others) on a job, held at their running version
    /// until the jobs completed; and whether they have been let go.
    public let heldForJobs: Set<String>
    private var heldReleased = false
    /// How long a scaled-up service may wait for the swarm to give a task a container (pending, assigned, preparing).
    public var schedulingDeadline: Duration = .seconds(60)
    public private(set) var records: [String: Record]
    /// A core service failed: nothing else is scaled, the run is failed.
    public private(set) var aborted = false

    public init(services: [Service], mode: Mode = .deploy) {
        self.services = services
        self.mode = mode
        self.records = Dictionary(uniqueKeysWithValues: services.map { ($0.name, Record()) })
        self.heldForJobs =
            mode == .update
            ? Self.dependOnJobs(
                Dictionary(services.map { ($0.name, $0.dependencies.map(\.service)) }, uniquingKeysWith: { a, _ in a }),
                jobs: Set(services.filter(\.isJob).map(\.name)))
            : []
    }

    /// The services (not jobs) that depend on a job, directly or through other services: what an update holds back
    /// until its jobs completed. The one rule the rollout and the stack files follow.
    public static func dependOnJobs(_ dependsOn: [String: [String]], jobs: Set<String>) -> Set<String> {
        var held: Set<String> = []
        var changed = true
        while changed {
            changed = false
            for (name, dependencies) in dependsOn where !jobs.contains(name) && !held.contains(name) {
                if dependencies.contains(where: { jobs.contains($0) || held.contains($0) }) {
                    held.insert(name)
                    changed = true
                }
            }
        }
        return held
    }

    func service(_ name: String) -> Service? { services.first { $0.name == name } }

    /// Services scaled up and not yet decided (starting, or waiting for a task that replaces a failed one): the
    /// driver polls their tasks.
    public var polling: [String] {
        services.filter { records[$0.name]?.isUnderWay == true && records[$0.name]?.scaledAt != nil }.map(\.name)
    }

    public var settled: Bool { records.values.allSatisfy { $0.state.isTerminal } }

    /// The swarm is still rolling `name` over (old tasks serve meanwhile): its tasks say nothing yet, so the driver
    /// need not read them; an empty observation still lets the update's time limit run out.
    public func awaitsUpdate(_ name: String, now: Double) -> Bool {
        guard let service = service(name), let record = records[name] else { return false }
        return awaitsUpdate(service, record, now: now)
    }

    func awaitsUpdate(_ service: Service, _ record: Record, now: Double) -> Bool {
        // No update status long after the deploy: the swarm found no task to replace (its own notion of a change
        // is narrower than a spec diff), so what runs is what the tasks say.
        let unstarted = record.update == nil && record.scaledAt.map { now - $0 > Self.updateGrace.seconds } == true
        return service.isRolling && record.update?.state != "completed" && !unstarted
    }

    public mutating func handle(_ input: Input, now: Double) -> [Action] {
        var actions: [Action] = []
        switch input {
        case .begin:
            // An update deploys everything at once: every service is under way from the start.
            if mode == .update {
                for service in services where records[service.name]?.state == .pending && !heldForJobs.contains(service.name) {
                    records[service.name]?.scaledAt = now
                    set(service.name, .starting, &actions)
                }
            }
        case .update(let name, let status):
            guard service(name)?.isRolling == true, records[name]?.isUnderWay == true else { break }
            records[name]?.update = status
            if let status, Self.updateFailed.contains(status.state) {
                let by = status.state == "paused" ? "the swarm paused it half-way" : "the swarm rolled it back to the previous spec"
                fail(name, "its rolling update failed" + (status.message.map { " (\($0))" } ?? "") + ": \(by)", &actions)
            }
        case .nodeLost(let host):
            nodeLost(host, now: now, &actions)
        case .heldDeployed(let rolling):
            for index in services.indices where heldForJobs.contains(services[index].name) {
                let name = services[index].name
                guard records[name]?.state == .pending, !aborted else { continue }
                services[index].isRolling = rolling.contains(name)
                records[name]?.scaledAt = now
                set(name, .starting, &actions)
            }
        case .heldDeployFailed(let message):
            // As a refused first deploy: the update is undone, whatever the class (the CLI may have changed some).
            for service in services where heldForJobs.contains(service.name) && records[service.name]?.state == .pending {
                fail(service.name, "the engine refused to deploy it once the jobs completed: \(message)", &actions)
            }
            aborted = true
        case .scaled(let name):
            if records[name]?.scaledAt == nil { records[name]?.scaledAt = now }
        case .scaleFailed(let name, let message):
            fail(name, "the engine refused to scale it: \(message)", &actions)
        case .observed(let name, let tasks):
            guard let service = service(name), let record = records[name], record.isUnderWay else { break }
            judge(service, record, tasks, now: now, &actions)
        }
        if !aborted && mode == .deploy { scaleReady(now: now, &actions) }
        if !aborted && mode == .update { releaseHeld(&actions) }
        if aborted {
            // Whatever was never started will not be: it is blocked by the failure — the first failed (or blocked)
            // core service in the stack's order, so two failures name the same culprit on every run.
            let records = self.records
            let culprit =
                services.lazy.compactMap { service -> String? in
                    guard service.serviceClass == .core, let state = records[service.name]?.state else { return nil }
                    if case .blocked(let root) = state { return root }
                    return state == .failed ? service.name : nil
                }.first ?? "a core failure"
            for service in services where records[service.name]?.state == .pending {
                set(service.name, .blocked(by: culprit), &actions)
            }
            // A service waiting for a replacement task gets no next attempt: it ends failed with its last reason,
            // as on one machine.
            for service in services where self.records[service.name]?.state == .retrying { set(service.name, .failed, &actions) }
        }
        if settled || aborted { actions.append(.finish) }
        return actions
    }

    /// Decides one service from one poll. Failures are final: a task the swarm had to replace is a crash, and
    /// retrying what crashed is the swarm's restart policy, which a launch does not wait out.
    mutating func judge(_ service: Service, _ record: Record, _ tasks: [TaskObservation], now: Double, _ actions: inout [Action]) {
        var record = record
        if awaitsUpdate(service, record, now: now) {
            // Each replica may take a whole readiness deadline plus the monitor window.
            let limit = (service.readiness.deadline + service.updateMonitor + .seconds(30)).multiplied(by: max(service.replicas, 1))
            if let began = record.scaledAt, now - began > limit.seconds {
                fail(
                    service.name,
                    "its rolling update did not finish within \(DurationText.format(limit))"
                        + (record.update.map { " (update \($0.state))" } ?? ""), &actions)
            }
            return
        }
        // Where its tasks are meant to be now (a job's are desired `complete` while they run); one the swarm replaced
        // on a lost node still says `running` there, and is not counted.
        records[service.name]?.nodes = Array(Set(tasks.filter { ["running", "complete"].contains($0.desiredState) }.compactMap(\.node)))
            .sorted()
        for task in tasks { if let id = task.containerID, let node = task.node { records[service.name]?.containerNodes[id] = node } }
        // A failed task already judged (a retry's) had its container; its replacement's deadline counts from its own.
        if record.containerStartedAt == nil,
            tasks.contains(where: { Self.hadContainer.contains($0.state) && !record.judgedFailures.contains($0.id) })
        {
            record.containerStartedAt = now
            records[service.name]?.containerStartedAt = now
        }
        // A failed task judged once (and retried) says nothing new on the next poll.
        let failed = tasks.filter {
            (["failed", "rejected"].contains($0.state) || ($0.state == "complete" && ($0.exitCode ?? 0) != 0 && !service.isJob))
                && !record.judgedFailures.contains($0.id)
        }
        if !failed.isEmpty {
            taskFailed(service, failed, now: now, &actions)
            return
        }
        if record.state == .retrying {
            // Starting again once the swarm has placed a task that replaces the failed ones (desired `ready` while it
            // waits out the restart delay).
            let replaced = tasks.contains {
                ["ready", "running", "complete"].contains($0.desiredState) && !record.judgedFailures.contains($0.id)
            }
            guard replaced else { return schedulingDeadlinePassed(service, record, tasks, now: now, &actions) }
            record.state = .starting
            set(service.name, .starting, &actions)
        }
        if service.isJob {
            let completed = tasks.filter { $0.state == "complete" && ($0.exitCode ?? 0) == 0 }.count
            if completed >= service.replicas { ready(service.name, "exit 0", now: now, &actions); return }
        } else if judgeRunning(service, record, tasks, now: now, &actions) {
            return
        }
        if let started = record.containerStartedAt {
            if now - started > service.readiness.deadline.seconds {
                records[service.name]?.failedContainers = tasks.filter { $0.desiredState == "running" }.compactMap(\.containerID)
                fail(
                    service.name, "not ready within \(DurationText.format(service.readiness.deadline)) (\(service.readiness.description))",
                    kind: .deadline(service.readiness.deadline), &actions)
            }
        } else {
            schedulingDeadlinePassed(service, record, tasks, now: now, &actions)
        }
    }

    /// A long-running service's tasks meant to run: unhealthy (failed or retried), ready (healthy, or stable for the
    /// window), or still on its way. Whether it was decided.
    mutating func judgeRunning(_ service: Service, _ record: Record, _ tasks: [TaskObservation], now: Double, _ actions: inout [Action])
        -> Bool
    {
        let current = tasks.filter { $0.desiredState == "running" }
        let unhealthy = current.filter { $0.health == "unhealthy" && !record.judgedFailures.contains($0.id) }
        if !unhealthy.isEmpty {
            records[service.name]?.failedContainers = unhealthy.compactMap(\.containerID)
            failOrRetry(service, FailureKind.unhealthy.description, kind: .unhealthy, tasks: unhealthy, now: now, &actions)
            return true
        }
        let running = current.filter { $0.state == "running" }
        if service.hasHealthcheck {
            guard running.filter({ $0.health == "healthy" }).count >= service.replicas else { return false }
            ready(service.name, "healthcheck", now: now, &actions)
            return true
        }
        guard running.count >= service.replicas else {
            records[service.name]?.runningSince = nil
            return false
        }
        let since = record.runningSince ?? now
        records[service.name]?.runningSince = since
        if case .stable(let window) = service.readiness.kind, now - since < window.seconds { return false }
        ready(service.name, "stable", now: now, &actions)
        return true
    }

    /// What a service waiting for a replacement task says: its last failure and the attempt, as on one machine.
    public func retryLine(_ name: String) -> String? {
        guard let record = records[name], record.state == .retrying, let service = service(name) else { return nil }
        return "\(record.failure ?? "its task failed"); retry \(record.retries)/\(service.retries): the swarm replaces the task"
    }

    /// Fails a service none of whose tasks got a container within `schedulingDeadline` of its scale-up (or retry).
    mutating func schedulingDeadlinePassed(
        _ service: Service, _ record: Record, _ tasks: [TaskObservation], now: Double, _ actions: inout [Action]
    ) {
        // A retry's replacement first waits out the restart delay.
        let limit = schedulingDeadline + (record.retries > 0 ? service.retryDelay : .zero)
        guard let scaledAt = record.scaledAt, now - scaledAt > limit.seconds else { return }
        let states = Set(tasks.map(\.state)).sorted().joined(separator: ", ")
        fail(
            service.name, "no task got a container within \(DurationText.format(limit)) (tasks: \(states.isEmpty ? "none" : states))",
            &actions)
    }

    /// A service whose tasks failed (`failed` not empty): the verdict as one machine says it, with each task's node and
    /// the swarm's own words as evidence.
    mutating func taskFailed(_ service: Service, _ failed: [TaskObservation], now: Double, _ actions: inout [Action]) {
        guard let first = failed.first else { return }
        // A task the swarm refused never had a container, and one it stopped (unhealthy) was ended by it: their
        // exit code (0) says nothing about the service.
        func ran(_ task: TaskObservation) -> Bool { task.state != "rejected" && !(task.state == "failed" && (task.exitCode ?? 0) == 0) }
        records[service.name]?.taskErrors = failed.compactMap { task in
            task.error.map {
                "task \(task.id.prefix(12))\(task.node.map { " on node \($0)" } ?? ""): \($0)"
                    + (ran(task) ? task.exitCode.map { " (exit \($0))" } ?? "" : "")
            }
        }
        let words = first.error ?? "task \(first.state)" + (ran(first) ? first.exitCode.map { " with exit \($0)" } ?? "" : "")
        let reason = words + (first.node.map { words.contains("node \($0)") ? "" : " (on node \($0))" } ?? "")
        records[service.name]?.failedContainers = failed.compactMap(\.containerID)
        // A task whose container ran and stopped exited with a code; one the swarm could not start was refused; the
        // swarm's words for a container its healthcheck failed are unhealthy, as one machine says it.
        let kind: FailureKind =
            (first.error?.contains("unhealthy container") == true)
            ? .unhealthy : (ran(first) ? first.exitCode.map { .exited(code: $0) } ?? .startRejected(reason) : .startRejected(reason))
        failOrRetry(service, reason, kind: kind, tasks: failed, now: now, &actions)
    }

    /// Tasks that failed with `kind`: a retry (the swarm replaces them; the service waits for the new task, with a
    /// new deadline) while `health.retries` allows and a retry can help, as on one machine; failed otherwise.
    mutating func failOrRetry(
        _ service: Service, _ reason: String, kind: FailureKind, tasks: [TaskObservation], now: Double, _ actions: inout [Action]
    ) {
        guard var record = records[service.name] else { return }
        record.judgedFailures.formUnion(tasks.map(\.id))
        let attempt = record.retries + tasks.count
        guard !kind.isDeterministic, attempt <= service.retries, !aborted else {
            record.failedTasks = tasks.map(\.id)
            records[service.name] = record
            fail(service.name, reason, kind: kind, &actions)
            return
        }
        record.retries = attempt
        record.failure = reason
        record.failureKind = kind
        record.beginAgain(at: now)
        records[service.name] = record
        set(service.name, .retrying, &actions)
    }

    /// `.update`: once every held service is decided by the same gate a first deploy uses (conditions and
    /// `required` included; what is not a job already runs, unless it is held and blocked itself), those that go are
    /// deployed together (`.deployHeld`); a blocked one keeps its running version, as the job it needs did not run.
    mutating func releaseHeld(_ actions: inout [Action]) {
        guard !heldForJobs.isEmpty, !heldReleased else { return }
        let decided = heldDecisions()
        guard decided.count == heldForJobs.count else { return }
        heldReleased = true
        for service in services {
            guard let decision = decided[service.name], case .blocked(let root) = decision else { continue }
            set(service.name, .blocked(by: root), &actions)
            if service.serviceClass == .core { aborted = true }
        }
        let going = Set(decided.filter { $0.value == .satisfied }.keys)
        if !going.isEmpty && !aborted { actions.append(.deployHeld(going)) }
    }

    /// Each held service whose gate is no longer waiting: satisfied or blocked (pure, from the records).
    func heldDecisions() -> [String: DependencyGate.Status] {
        var decided: [String: DependencyGate.Status] = [:]
        var changed = true
        while changed {
            changed = false
            for service in services where heldForJobs.contains(service.name) && decided[service.name] == nil {
                let status = DependencyGate.status(of: service.dependencies) { name in
                    switch decided[name] {
                    case .satisfied?: return .init(state: .ready, started: true)
                    case .blocked(let root)?: return .init(state: .blocked(by: root), started: false)
                    default: break
                    }
                    if heldForJobs.contains(name) { return .init(state: .pending, started: false) }
                    guard let dependency = self.service(name), dependency.isJob else { return .init(state: .ready, started: true) }
                    return records[name].map { DependencyGate.Dependee(state: $0.state, started: $0.containerStartedAt != nil) }
                }
                guard status != .waiting else { continue }
                decided[service.name] = status
                changed = true
            }
        }
        return decided
    }

    /// A node lost: every long-running service that was ready with a task there waits again, with a new deadline
    /// from now (it had met its own), for the swarm to place that task elsewhere and for it to be ready there. A
    /// service still starting keeps its deadline; a job that completed has done its work.
    mutating func nodeLost(_ host: String, now: Double, _ actions: inout [Action]) {
        for service in services where !service.isJob {
            guard var record = records[service.name], record.nodes.contains(host) else { continue }
            if !record.lostNodes.contains(host) { record.lostNodes.append(host) }
            let wasReady = record.state == .ready
            if wasReady { record.beginAgain(at: now) }
            records[service.name] = record
            if wasReady { set(service.name, .starting, &actions) }
        }
    }

    /// How long a rolling service may go without any update status before its tasks are judged as they run.
    public static let updateGrace: Duration = .seconds(15)

    /// Update states after which the new spec is not what runs.
    static let updateFailed: Set<String> = ["paused", "rollback_started", "rollback_paused", "rollback_completed"]

    /// Task states at which the task has (or had) a container.
    static let hadContainer: Set<String> = ["starting", "running", "complete", "failed", "shutdown"]

    /// Scales every pending service whose dependencies hold and blocks those whose dependencies failed, again and
    /// again until nothing changes (a block can block what depends on it in the same pass, whatever the order of
    /// the list), as the compose machine's `evaluate` does. Once a core service failed or is blocked, nothing new
    /// is scaled.
    mutating func scaleReady(now: Double, _ actions: inout [Action]) {
        var changed = true
        while changed {
            changed = false
            for service in services where records[service.name]?.state == .pending {
                let status = DependencyGate.status(of: service.dependencies) { name in
                    records[name].map { DependencyGate.Dependee(state: $0.state, started: $0.containerStartedAt != nil) }
                }
                switch status {
                case .waiting: continue
                case .blocked(let root):
                    set(service.name, .blocked(by: root), &actions)
                    if service.serviceClass == .core { aborted = true }
                    changed = true
                case .satisfied:
                    guard !aborted else { continue }
                    set(service.name, .starting, &actions)
                    actions.append(.scale(service.name, count: service.replicas))
                    changed = true
                }
            }
        }
    }

    mutating func ready(_ name: String, _ evidence: String, now: Double, _ actions: inout [Action]) {
        records[name]?.failure = nil
        records[name]?.failureKind = nil
        records[name]?.failedContainers = []
        records[name]?.failedTasks = []
        records[name]?.taskErrors = []
        records[name]?.readyAt = now
        records[name]?.readiness = evidence
        set(name, .ready, &actions)
    }

    mutating func fail(_ name: String, _ reason: String, kind: FailureKind? = nil, _ actions: inout [Action]) {
        records[name]?.failure = reason
        records[name]?.failureKind = kind
        set(name, .failed, &actions)
        if service(name)?.serviceClass == .core { aborted = true }
    }

    mutating func set(_ name: String, _ state: ServiceState, _ actions: inout [Action]) {
        records[name]?.state = state
        actions.append(.changed(name, state))
    }
}

extension ServiceState {
    var isBlocked: Bool { if case .blocked = self { true } else { false } }
}

extension SwarmRollout.Record {
    /// Scaled up and not decided: starting, or waiting for the task that replaces a failed one.
    var isUnderWay: Bool { state == .starting || state == .retrying }

    /// Under way again from `now` (a retry, or a task placed again after its node was lost): a new deadline, and
    /// nothing of the last attempt's timing.
    mutating func beginAgain(at now: Double) {
        readyAt = nil
        readiness = nil
        runningSince = nil
        containerStartedAt = nil
        scaledAt = now
    }
}

extension ReadinessRule {
    /// A rule stated directly (tests, recorded scenarios).
    init(kind: Kind, deadline: Duration) {
        self.kind = kind
        self.deadline = deadline
    }
}
