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
        case timer(service: String, kind: TimerKind, generation: Int)
        case inspected(service: String, details: ContainerDetails)
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

        let eventTask = Task {
            do {
                for try await event in events { continuation.yield(.event(event)) }
                continuation.yield(.eventsEnded(nil))
            } catch {
                continuation.yield(.eventsEnded("\(error)"))
            }
        }
        let tickTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: safetyNetInterval)
                continuation.yield(.tick)
            }
        }
        defer {
            eventTask.cancel()
            tickTask.cancel()
            loop.cancelTimers()
            continuation.finish()
        }

        loop.adoptRunningContainers()
        loop.evaluate()
        if loop.isFinished { return loop.outcome(interrupted: false) }
        for await input in inputs {
            if Task.isCancelled { break }
            loop.handle(input)
            if loop.isFinished { return loop.outcome(interrupted: false) }
        }
        return loop.outcome(interrupted: true)
    }

    static func services(stack: ComposeStack, graph: DependencyGraph, profile: Profile, containers: [String: [ContainerDetails]])
        -> [ServiceRun]
    {
        let jobs = Planner.jobs(in: stack)
        return graph.startOrder.compactMap { name in
            guard let service = stack.service(name) else { return nil }
            let rule = ReadinessRule(service: service, policy: profile.health, isJob: jobs.contains(name))
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
                ProgressUpdate(service: service.name, serviceClass: service.serviceClass, state: service.state, elapsed: elapsed, detail: detail))
        }

        // MARK: Starting

        /// A relaunch finds containers already running: healthy ones count as ready now.
        mutating func adoptRunningContainers() {
            for s in services.indices {
                for c in services[s].containers.indices {
                    guard let state = services[s].containers[c].initial?.state, state.running else { continue }
                    services[s].containers[c].running = true
                    switch services[s].rule.kind {
                    case .healthy: services[s].containers[c].ready = state.health?.status == "healthy"
                    case .stable(let window):
                        let started = Self.date(state.startedAt)
                        services[s].containers[c].ready = started.map { Date().timeIntervalSince($0) >= window.seconds } ?? false
                    case .completes: break
                    }
                }
                if services[s].rule.kind != .completes, services[s].anyRunning {
                    services[s].state = .starting
                    services[s].startedAt = elapsed
                    if services[s].containers.allSatisfy(\.ready) {
                        markReady(s, detail: "already running")
                    } else {
                        scheduleDeadline(s)
                        for c in services[s].containers.indices where services[s].containers[c].running && !services[s].containers[c].ready {
                            if case .stable(let window) = services[s].rule.kind { scheduleStability(s, c, after: window) }
                        }
                        emit(s, "already running")
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

        func requestStart(service: String, container: String, restart: Bool) {
            let client = self.client
            let continuation = self.continuation
            Task {
                do {
                    if restart {
                        try await client.restartContainer(container, timeoutSeconds: 2)
                    } else {
                        try await client.startContainer(container)
                    }
                } catch let error as EngineError {
                    if case .http(_, let message) = error {
                        continuation.yield(.startFailed(service: service, message: message))
                    } else {
                        continuation.yield(.startFailed(service: service, message: error.summary))
                    }
                } catch {
                    continuation.yield(.startFailed(service: service, message: "\(error)"))
                }
            }
        }

        // MARK: Inputs

        mutating func handle(_ input: Input) {
            switch input {
            case .event(let event): handle(event)
            case .eventsEnded(let error):
                eventStreamError = error ?? "the engine closed the event stream"
            case .startFailed(let service, let message):
                guard let s = index(of: service), !services[s].state.isTerminal else { return }
                fail(s, .startRejected(message.trimmingCharacters(in: .whitespacesAndNewlines)))
            case .timer(let service, let kind, let generation):
                guard let s = index(of: service), services[s].generation == generation else { return }
                fire(kind, s)
            case .inspected(let service, let details):
                guard let s = index(of: service) else { return }
                reconcile(s, details)
            case .tick:
                inspectStarting()
            }
        }

        mutating func handle(_ event: EngineEvent) {
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
            } else if let health = event.healthStatus {
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
                if code == 0 && !oom {
                    services[s].containers[c].ready = true
                    checkReady(s, detail: "exit 0")
                } else {
                    attemptFailed(s, oom ? .oomKilled : .exited(code: code))
                }
                return
            }
            guard services[s].state == .starting || services[s].state == .ready else { return }
            if services[s].state == .ready { services[s].state = .starting }
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
                let exponent = Double(1 << min(services[s].retries - 1, 10))
                let delay = min(policy.backoff * exponent, .seconds(60))
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
                    Task {
                        if let details = try? await client.inspectContainer(container.id) {
                            continuation.yield(.inspected(service: name, details: details))
                        }
                    }
                }
            }
        }

        mutating func reconcile(_ s: Int, _ details: ContainerDetails) {
            guard services[s].state == .starting, let c = services[s].containers.firstIndex(where: { $0.id == details.id }) else { return }
            let container = services[s].containers[c]
            if container.running && !details.state.running && !details.state.restarting {
                if details.state.oomKilled { services[s].containers[c].oomKilled = true }
                died(s, c, code: details.state.exitCode)
            } else if details.state.running && details.state.health?.status == "healthy" && !container.ready {
                services[s].containers[c].running = true
                containerReady(s, c)
            }
        }

        static func date(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            // The engine writes nanoseconds; ISO8601DateFormatter takes at most milliseconds.
            let trimmed = text.replacingOccurrences(of: "(\\.\\d{3})\\d+", with: "$1", options: .regularExpression)
            return formatter.date(from: trimmed) ?? ISO8601DateFormatter().date(from: text)
        }
    }
}
