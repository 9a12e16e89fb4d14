import Foundation

/// A change worth telling a person about.
public struct ProgressUpdate: Sendable {
    public var service: String
    public var serviceClass: ServiceClass
    public var state: ServiceState
    /// Seconds since the start phase began.
    public var elapsed: Double
    /// `exit 1`, `retry 1/2 in 0.5s`, `healthy`.
    public var detail: String?
}

/// Starts every service the moment its own dependencies are ready and decides, from the engine's events,
/// when each one is ready or doomed.
///
/// One loop owns all state and handles one input at a time: engine events, results of start requests,
/// timers (deadlines, backoff, stability windows) and a slow periodic inspect as a safety net. Side
/// effects run in tasks that report back into the loop, so a slow start never delays another branch.
struct Orchestrator: Sendable {
    let client: EngineClient
    let project: String
    let stack: ComposeStack
    let graph: DependencyGraph
    let profile: Profile
    /// Engine messages (start errors) can echo command lines: everything shown passes through this.
    var redact: Redactor = .none
    /// How often the safety net inspects services that are still starting.
    var safetyNetInterval: Duration = .seconds(2)
    let onChange: @Sendable (ProgressUpdate) -> Void

    struct Outcome: Sendable {
        var services: [ServiceRun]
        var interrupted: Bool
        var eventStreamError: String?
    }

    enum Input: Sendable {
        case event(EngineEvent)
        case eventsEnded(String?)
        case startFailed(service: String, message: String)
        /// How long the engine took to answer a start request, for reports.
        case startAnswered(service: String, seconds: Double)
        case timer(service: String, kind: TimerKind, generation: Int)
        /// A safety-net inspect, tagged with the container's start count when it was asked for.
        case inspected(service: String, details: ContainerDetails, startSequence: Int)
        case tick
    }

    enum TimerKind: Sendable, Equatable {
        case deadline
        case retry
        case stability(container: String, sequence: Int)
    }

    /// Runs until every service is ready, failed or blocked, or a core service failed, or the task is cancelled.
    /// `containers` maps each service to its container ids, created before this is called.
    func run(containers: [String: [ContainerDetails]], events: AsyncThrowingStream<EngineEvent, any Error>) async -> Outcome {
        let (inputs, continuation) = AsyncStream<Input>.makeStream()
        let clock = ContinuousClock()
        let origin = clock.now
        var loop = Loop(
            orchestrator: self, continuation: continuation, clock: clock, origin: origin,
            services: Self.services(stack: stack, graph: graph, profile: profile, containers: containers))

        let eventTask = Self.forward(events, into: continuation)
        let tickTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: safetyNetInterval)
                continuation.yield(.tick)
            }
        }
        loop.eventTasks.append(eventTask)
        var interrupted = true
        loop.adoptRunningContainers()
        loop.evaluate()
        if loop.isFinished {
            interrupted = false
        } else {
            for await input in inputs {
                if Task.isCancelled { break }
                loop.handle(input)
                if loop.isFinished {
                    interrupted = false
                    break
                }
            }
        }
        loop.eventTasks.forEach { $0.cancel() }
        tickTask.cancel()
        loop.cancelTimers()
        continuation.finish()
        // Start and stop requests already sent must land before anyone (a rollback) lists containers.
        for request in loop.requests { await request.value }
        return loop.outcome(interrupted: interrupted && Task.isCancelled)
    }

    /// Feeds engine events into the loop; reports the stream's end so the loop can resubscribe.
    static func forward(_ events: AsyncThrowingStream<EngineEvent, any Error>, into continuation: AsyncStream<Input>.Continuation)
        -> Task<Void, Never>
    {
        Task {
            do {
                for try await event in events { continuation.yield(.event(event)) }
                if !Task.isCancelled { continuation.yield(.eventsEnded(nil)) }
            } catch {
                if !Task.isCancelled { continuation.yield(.eventsEnded("\(error)")) }
            }
        }
    }

    static func services(stack: ComposeStack, graph: DependencyGraph, profile: Profile, containers: [String: [ContainerDetails]])
        -> [ServiceRun]
    {
        let jobs = Planner.jobs(in: stack)
        return graph.startOrder.compactMap { name in
            guard let service = stack.service(name) else { return nil }
            var described = service
            // A HEALTHCHECK baked into the image counts like one in the compose file (Compose waits for it too).
            if described.healthcheck == nil, let check = containers[name]?.first?.config.healthcheck, let test = check.test,
                !test.isEmpty, test.first != "NONE"
            {
                described.healthcheck = Healthcheck(
                    test: test, interval: check.interval.flatMap { $0 > 0 ? .nanoseconds($0) : nil } ?? .seconds(30),
                    timeout: check.timeout.flatMap { $0 > 0 ? .nanoseconds($0) : nil } ?? .seconds(30),
                    startPeriod: check.startPeriod.map { .nanoseconds($0) } ?? .zero, retries: check.retries.flatMap { $0 > 0 ? $0 : nil } ?? 3)
            }
            let rule = ReadinessRule(service: described, policy: profile.health, isJob: jobs.contains(name))
            return ServiceRun(
                name: name, serviceClass: profile.services.serviceClass(of: name), rule: rule,
                dependencies: graph.dependencies[name] ?? [],
                containers: (containers[name] ?? []).map { details in
                    ContainerRun(id: details.id, name: details.name, restartPolicy: details.hostConfig.restartPolicy?.name ?? "no", initial: details)
                })
        }
    }
}

/// One service during a launch.
struct ServiceRun: Sendable {
    var name: String
    var serviceClass: ServiceClass
    var rule: ReadinessRule
    var dependencies: [Dependency]
    var containers: [ContainerRun]
    var state: ServiceState = .pending
    /// Retries used so far.
    var retries = 0
    /// Bumped on every attempt so timers of an earlier attempt are ignored.
    var generation = 0
    var startedAt: Double?
    var readyAt: Double?
    /// The longest time the engine took to start one of its containers (the first attempt).
    var engineStartSeconds: Double?
    var failure: FailureKind?

    var isJob: Bool { if case .completes = rule.kind { true } else { false } }
    var anyRunning: Bool { containers.contains { $0.running } }
}

struct ContainerRun: Sendable {
    var id: String
    var name: String
    var restartPolicy: String
    /// What inspect said before anything was started (a relaunch finds containers already up).
    var initial: ContainerDetails?
    var running = false
    var ready = false
    var dies = 0
    var oomKilled = false
    /// Counts start events, so a stability timer from an earlier start is ignored.
    var startSequence = 0
    /// We asked the engine to restart it: the `die` that precedes the new start is ours, not a failure.
    var restartRequested = false

    var engineRestarts: Bool { ["always", "unless-stopped", "on-failure"].contains(restartPolicy) }
}

extension Orchestrator {
    /// The loop's state and transitions. Only `run` touches it, one input at a time.
    struct Loop {
        let orchestrator: Orchestrator
        let continuation: AsyncStream<Input>.Continuation
        let clock: ContinuousClock
        let origin: ContinuousClock.Instant
        var services: [ServiceRun]
        var timers: [Task<Void, Never>] = []
        /// Start, restart and stop requests in flight; awaited before the loop returns.
        var requests: [Task<Void, Never>] = []
        var eventTasks: [Task<Void, Never>] = []
        var resubscriptions = 0
        var lastEventTime: Int64 = 0
        var eventStreamError: String?
        var coreFailed = false

        var client: EngineClient { orchestrator.client }
        var policy: Profile.HealthPolicy { orchestrator.profile.health }
        var elapsed: Double { origin.duration(to: clock.now).seconds }

        var isFinished: Bool { coreFailed || services.allSatisfy { $0.state.isTerminal } }

        func outcome(interrupted: Bool) -> Outcome {
            Outcome(services: services, interrupted: interrupted, eventStreamError: eventStreamError)
        }

        func cancelTimers() { timers.forEach { $0.cancel() } }

        func index(of service: String) -> Int? { services.firstIndex { $0.name == service } }

        func locate(container id: String) -> (Int, Int)? {
            for (s, service) in services.enumerated() {
                if let c = service.containers.firstIndex(where: { $0.id == id }) { return (s, c) }
            }
            return nil
        }

        func emit(_ s: Int, _ detail: String? = nil) {
            let service = services[s]
            orchestrator.onChange(
                ProgressUpdate(
                    service: service.name, serviceClass: service.serviceClass, state: service.state, elapsed: elapsed,
                    detail: detail.map { orchestrator.redact($0) }))
        }

        // MARK: Starting

        /// A relaunch finds containers already running: healthy ones count as ready now.
        mutating func adoptRunningContainers() {
            for s in services.indices {
                for c in services[s].containers.indices {
                    // A restarting container reports Running=true; it is not running in any useful sense.
                    guard let state = services[s].containers[c].initial?.state, state.running, !state.restarting else { continue }
                    services[s].containers[c].running = true
                    switch services[s].rule.kind {
                    case .healthy: services[s].containers[c].ready = state.health?.status == "healthy"
                    case .stable(let window):
                        let started = EngineTime.parse(state.startedAt)
                        services[s].containers[c].ready = started.map { Date().timeIntervalSince($0) >= window.seconds } ?? false
                    case .completes: break
                    }
                }
                if services[s].rule.kind != .completes, services[s].anyRunning {
                    services[s].state = .starting
                    services[s].startedAt = elapsed
                    if services[s].containers.allSatisfy(\.ready) {
                        markReady(s, detail: "already running")
                        continue
                    }
                    scheduleDeadline(s)
                    emit(s, "already running")
                    for c in services[s].containers.indices {
                        let container = services[s].containers[c]
                        if !container.running {
                            // A stopped replica next to running ones: start it like any other.
                            requestStart(service: services[s].name, container: container.id, restart: false)
                        } else if container.initial?.state.health?.status == "unhealthy" {
                            // The engine only reports health changes: an adopted unhealthy container sends none.
                            attemptFailed(s, .unhealthy)
                            break
                        } else if case .stable(let window) = services[s].rule.kind, !container.ready {
                            scheduleStability(s, c, after: window)
                        }
                    }
                }
            }
        }

        /// Starts every pending service whose dependencies hold; blocks those whose dependencies failed.
        mutating func evaluate() {
            var changed = true
            while changed {
                changed = false
                for s in services.indices where services[s].state == .pending {
                    switch dependencyStatus(services[s]) {
                    case .waiting: continue
                    case .blocked(let by):
                        services[s].state = .blocked(by: by)
                        if services[s].serviceClass == .core { coreFailed = true }
                        emit(s)
                        changed = true
                    case .satisfied:
                        start(s)
                        changed = true
                    }
                }
            }
        }

        enum DependencyStatus { case waiting, satisfied, blocked(String) }

        func dependencyStatus(_ service: ServiceRun) -> DependencyStatus {
            var waiting = false
            for dependency in service.dependencies {
                guard let d = index(of: dependency.service) else { continue }
                let other = services[d]
                switch other.state {
                case .failed, .blocked:
                    if dependency.required {
                        if case .blocked(let root) = other.state { return .blocked(root) }
                        return .blocked(other.name)
                    }
                case .ready: continue
                case .starting where dependency.condition == .started && other.anyRunning: continue
                default: waiting = true
                }
            }
            return waiting ? .waiting : .satisfied
        }

        mutating func start(_ s: Int) {
            services[s].state = .starting
            if services[s].startedAt == nil { services[s].startedAt = elapsed }
            services[s].generation += 1
            scheduleDeadline(s)
            emit(s)
            if services[s].containers.isEmpty {
                // Scaled to zero: nothing to wait for.
                markReady(s, detail: "no containers")
                return
            }
            for c in services[s].containers.indices {
                services[s].containers[c].ready = false
                let container = services[s].containers[c]
                if container.running && !services[s].isJob { continue }
                requestStart(service: services[s].name, container: container.id, restart: false)
            }
        }

        mutating func requestStart(service: String, container: String, restart: Bool) {
            let client = self.client
            let continuation = self.continuation
            requests.append(Task {
                let clock = ContinuousClock()
                let began = clock.now
                do {
                    if restart {
                        try await client.restartContainer(container, timeoutSeconds: 2)
                    } else {
                        try await client.startContainer(container)
                    }
                    continuation.yield(.startAnswered(service: service, seconds: began.duration(to: clock.now).seconds))
                } catch let error as EngineError {
                    if case .http(_, let message) = error {
                        continuation.yield(.startFailed(service: service, message: message))
                    } else {
                        continuation.yield(.startFailed(service: service, message: error.summary))
                    }
                } catch {
                    continuation.yield(.startFailed(service: service, message: "\(error)"))
                }
            })
        }

        /// Stops containers the engine would otherwise keep restarting after we gave up on them.
        mutating func stopRestarting(_ s: Int) {
            let client = self.client
            for container in services[s].containers where container.engineRestarts {
                requests.append(Task { try? await client.stopContainer(container.id, timeoutSeconds: 2) })
            }
        }

        // MARK: Inputs

        mutating func handle(_ input: Input) {
            switch input {
            case .event(let event): handle(event)
            case .eventsEnded(let error):
                resubscribe(after: error ?? "the engine closed the event stream")
            case .startFailed(let service, let message):
                guard let s = index(of: service), !services[s].state.isTerminal else { return }
                fail(s, .startRejected(message.trimmingCharacters(in: .whitespacesAndNewlines)))
            case .startAnswered(let service, let seconds):
                guard let s = index(of: service), services[s].retries == 0 else { return }
                services[s].engineStartSeconds = max(services[s].engineStartSeconds ?? 0, seconds)
            case .timer(let service, let kind, let generation):
                guard let s = index(of: service), services[s].generation == generation else { return }
                fire(kind, s)
            case .inspected(let service, let details, let sequence):
                guard let s = index(of: service) else { return }
                reconcile(s, details, sequence: sequence)
            case .tick:
                inspectStarting()
            }
        }

        /// A lost stream must not leave services waiting for events that never come: subscribe again from
        /// the last event seen (the engine replays what was missed), a few times, then rely on the safety net.
        mutating func resubscribe(after error: String) {
            guard resubscriptions < 3 else {
                eventStreamError = error
                return
            }
            resubscriptions += 1
            let since = lastEventTime > 0 ? Date(timeIntervalSince1970: Double(lastEventTime) / 1e9) : Date().addingTimeInterval(-5)
            let events = client.events(
                since: since, labels: ["com.docker.compose.project=\(orchestrator.project)"], actions: ["start", "die", "oom", "health_status"])
            eventTasks.append(Orchestrator.forward(events, into: continuation))
        }

        mutating func handle(_ event: EngineEvent) {
            lastEventTime = max(lastEventTime, event.timeNano)
            guard event.type == "container", let id = event.containerID, let (s, c) = locate(container: id) else { return }
            let action = event.action
            if action == "start" {
                services[s].containers[c].running = true
                services[s].containers[c].restartRequested = false
                services[s].containers[c].startSequence += 1
                if case .stable(let window) = services[s].rule.kind, services[s].state == .starting {
                    scheduleStability(s, c, after: window)
                }
            } else if action == "oom" {
                services[s].containers[c].oomKilled = true
            } else if action == "die" {
                died(s, c, code: event.exitCode ?? -1)
            } else if let health = event.healthStatus, !services[s].isJob {
                if health == "healthy" {
                    containerReady(s, c)
                } else if health == "unhealthy", services[s].state == .starting || services[s].state == .ready {
                    attemptFailed(s, .unhealthy)
                }
            }
        }

        mutating func died(_ s: Int, _ c: Int, code: Int) {
            if services[s].containers[c].restartRequested {
                services[s].containers[c].running = false
                return
            }
            guard services[s].containers[c].running || services[s].state == .starting else { return }
            services[s].containers[c].running = false
            services[s].containers[c].ready = false
            let oom = services[s].containers[c].oomKilled
            if services[s].isJob {
                // Only a job this run started is judged by its exit; a leftover run of it is not.
                guard services[s].state == .starting else { return }
                if code == 0 && !oom {
                    services[s].containers[c].ready = true
                    checkReady(s, detail: "exit 0")
                } else {
                    attemptFailed(s, oom ? .oomKilled : .exited(code: code))
                }
                return
            }
            guard services[s].state == .starting || services[s].state == .ready else { return }
            if services[s].state == .ready {
                // It was ready and died: back to starting, with a deadline again.
                services[s].state = .starting
                services[s].generation += 1
                scheduleDeadline(s)
            }
            services[s].containers[c].dies += 1
            let dies = services[s].containers[c].dies
            let failure: FailureKind = oom ? .oomKilled : .exited(code: code)
            if services[s].containers[c].engineRestarts && !failure.isDeterministic && !(code == 0 && services[s].containers[c].restartPolicy == "on-failure") {
                // The engine restarts it by itself; each restart spends one of our retries.
                if dies > policy.retries {
                    fail(s, .restartLoop(restarts: dies))
                } else {
                    emit(s, "exit \(code); the engine restarts it (\(dies)/\(policy.retries))")
                }
                return
            }
            attemptFailed(s, failure)
        }

        mutating func containerReady(_ s: Int, _ c: Int) {
            guard services[s].state == .starting else { return }
            services[s].containers[c].ready = true
            checkReady(s, detail: services[s].rule.kind == .healthy ? "healthy" : nil)
        }

        mutating func checkReady(_ s: Int, detail: String?) {
            guard services[s].state == .starting, services[s].containers.allSatisfy(\.ready) else { return }
            markReady(s, detail: detail)
        }

        mutating func markReady(_ s: Int, detail: String?) {
            services[s].state = .ready
            services[s].readyAt = elapsed
            services[s].generation += 1  // cancels its deadline
            emit(s, detail)
            evaluate()
        }

        /// One attempt failed: retry after backoff when that can help, fail otherwise.
        mutating func attemptFailed(_ s: Int, _ failure: FailureKind) {
            guard !services[s].state.isTerminal || services[s].state == .ready else { return }
            if !failure.isDeterministic && services[s].retries < policy.retries {
                services[s].retries += 1
                services[s].state = .retrying
                services[s].generation += 1
                // Saturating: `Duration * Double` traps on overflow, and the backoff comes from a file.
                let delay = policy.backoff.multiplied(by: 1 << min(services[s].retries - 1, 10), limit: .seconds(60))
                schedule(s, .retry, after: delay)
                emit(s, "\(failure); retry \(services[s].retries)/\(policy.retries) in \(DurationText.format(delay))")
            } else {
                fail(s, failure)
            }
        }

        mutating func fail(_ s: Int, _ failure: FailureKind) {
            services[s].state = .failed
            services[s].failure = failure
            services[s].generation += 1
            switch failure {
            case .restartLoop, .exited, .oomKilled: stopRestarting(s)  // otherwise the engine keeps it crash-looping
            default: break  // a failed but running service stays up for inspection
            }
            emit(s, failure.description)
            if services[s].serviceClass == .core { coreFailed = true }
            evaluate()
        }

        mutating func fire(_ kind: TimerKind, _ s: Int) {
            switch kind {
            case .deadline:
                guard services[s].state == .starting else { return }
                fail(s, .deadline(services[s].rule.deadline))
            case .retry:
                guard services[s].state == .retrying else { return }
                services[s].state = .starting
                services[s].generation += 1
                scheduleDeadline(s)
                emit(s, "attempt \(services[s].retries + 1)")
                for c in services[s].containers.indices {
                    services[s].containers[c].ready = false
                    let container = services[s].containers[c]
                    if container.running { services[s].containers[c].restartRequested = true }
                    requestStart(service: services[s].name, container: container.id, restart: container.running)
                }
            case .stability(let container, let sequence):
                guard services[s].state == .starting,
                    let c = services[s].containers.firstIndex(where: { $0.id == container }),
                    services[s].containers[c].running, services[s].containers[c].startSequence == sequence
                else { return }
                containerReady(s, c)
            }
        }

        // MARK: Timers

        mutating func scheduleDeadline(_ s: Int) { schedule(s, .deadline, after: services[s].rule.deadline) }

        mutating func scheduleStability(_ s: Int, _ c: Int, after window: Duration) {
            let container = services[s].containers[c]
            schedule(s, .stability(container: container.id, sequence: container.startSequence), after: window)
        }

        mutating func schedule(_ s: Int, _ kind: TimerKind, after delay: Duration) {
            let continuation = self.continuation
            let service = services[s].name
            let generation = services[s].generation
            timers.append(Task {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                continuation.yield(.timer(service: service, kind: kind, generation: generation))
            })
        }

        // MARK: Safety net

        /// Events are the primary signal; this catches anything the stream missed.
        func inspectStarting() {
            let client = self.client
            let continuation = self.continuation
            for service in services where service.state == .starting {
                for container in service.containers {
                    let name = service.name
                    let sequence = container.startSequence
                    // Read-only: not awaited at the end; an answer after the loop finished is dropped.
                    Task {
                        if let details = try? await client.inspectContainer(container.id) {
                            continuation.yield(.inspected(service: name, details: details, startSequence: sequence))
                        }
                    }
                }
            }
        }

        mutating func reconcile(_ s: Int, _ details: ContainerDetails, sequence: Int) {
            guard services[s].state == .starting, let c = services[s].containers.firstIndex(where: { $0.id == details.id }),
                services[s].containers[c].startSequence == sequence  // an answer from before a later start is stale
            else { return }
            let container = services[s].containers[c]
            if container.running && !details.state.running && !details.state.restarting {
                if details.state.oomKilled { services[s].containers[c].oomKilled = true }
                died(s, c, code: details.state.exitCode)
            } else if details.state.running && details.state.health?.status == "healthy" && !container.ready && !services[s].isJob {
                services[s].containers[c].running = true
                containerReady(s, c)
            }
        }
    }
}
