import Foundation

/// A change worth telling a person about.
public struct ProgressUpdate: Sendable, Equatable {
    public var service: String
    public var serviceClass: ServiceClass
    public var state: ServiceState
    /// Seconds since the start phase began.
    public var elapsed: Double
    /// `exit 1`, `retry 1/2 in 0.5s`, `healthy`.
    public var detail: String?
}

/// Drives a `LaunchStateMachine`: feeds it engine events, answers, timers and inspects one at a time, and
/// performs the actions it returns against the engine. Every launch decision is the machine's; this translates the
/// engine's answers into the machine's inputs (which engine errors are an unreadable log, an engine fault, a
/// refused start) and does the I/O.
///
/// Side effects run in tasks that report back as inputs, so a slow start never delays another branch.
struct Orchestrator: Sendable {
    let client: any ContainerEngine
    let project: String
    let stack: ComposeStack
    let graph: DependencyGraph
    let profile: Profile
    /// Engine messages (start errors) can echo command lines: everything shown passes through this.
    var redact: Redactor = .none
    /// How often the safety net inspects services that are still starting.
    var safetyNetInterval: Duration = .seconds(2)
    /// Past times to ready, for `health.timeout: learned`.
    var history: ReadinessHistory = .empty
    /// The services others wait on to exit 0, when `stack` is part of a larger one (`restart`, `start`, a
    /// restore): there, nobody in the part may depend on a job, and it must still be judged by its exit code.
    var jobs: Set<String>?
    /// How often the engine is pinged while services start (nil: never), so a lost engine ends the run in seconds.
    var heartbeat: Duration? = EngineHeartbeat.interval
    let onChange: @Sendable (ProgressUpdate) -> Void

    struct Outcome: Sendable {
        var services: [ServiceRun]
        var interrupted: Bool
        var eventStreamError: String?
        var streamReconnects = 0
        /// The engine stopped answering (how long it had been silent, its last words): no service was judged by it.
        var engineLost: EngineSilence?
    }

    typealias Input = LaunchStateMachine.Input

    /// Runs until every service is ready, failed or blocked, or a core service failed, or the task is cancelled.
    /// `containers` maps each service to its container ids, created before this is called. `since` is the
    /// subscription time of `events` (Unix ns), from which a lost stream is resumed.
    func run(
        containers: [String: [ContainerDetails]], events: AsyncThrowingStream<EngineEvent, any Error>, since: Int64
    ) async -> Outcome {
        let (inputs, continuation) = AsyncStream<Input>.makeStream()
        let clock = ContinuousClock()
        let origin = clock.now
        var machine = LaunchStateMachine(
            services: Self.services(stack: stack, graph: graph, profile: profile, containers: containers, history: history, jobs: jobs),
            policy: profile.health,
            endpoint: client.endpoint.description, startedAtNanoseconds: since)
        var effects = Effects(client: client, project: project, continuation: continuation, redact: redact, onChange: onChange)
        effects.streams.append(Self.forward(events, into: continuation))
        if let heartbeat {
            let client = self.client
            effects.streams.append(
                Task {
                    for await beat in EngineHeartbeat.beats(client, every: heartbeat) {
                        switch beat {
                        case .answered: continuation.yield(.engineAnswered)
                        case .silent(let what, let waited): continuation.yield(.engineSilent(what, waited: waited))
                        }
                    }
                })
        }
        let tickTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: safetyNetInterval)
                continuation.yield(.tick)
            }
        }
        var interrupted = true
        effects.perform(machine.begin(now: 0, wallClock: Date()))
        if machine.isFinished {
            interrupted = false
        } else {
            for await input in inputs {
                if Task.isCancelled { break }
                effects.perform(machine.handle(input, now: origin.duration(to: clock.now).seconds))
                if machine.isFinished {
                    interrupted = false
                    break
                }
            }
        }
        effects.streams.forEach { $0.cancel() }
        tickTask.cancel()
        effects.timers.forEach { $0.cancel() }
        effects.probes.forEach { $0.cancel() }
        continuation.finish()
        let lost = machine.engineLost.map {
            EngineSilence(endpoint: client.endpoint.description, phase: "start", seconds: $0.seconds, lastError: $0.lastError)
        }
        // Start and stop requests already sent must land before anyone (a rollback) lists containers — unless the
        // engine is gone, when they end with their own deadlines and nobody lists anything.
        if lost == nil { for request in effects.requests { await request.value } }
        return Outcome(
            services: machine.services, interrupted: interrupted && Task.isCancelled, eventStreamError: machine.eventStreamError,
            streamReconnects: machine.streamReconnects, engineLost: lost)
    }

    /// Feeds engine events into the loop; reports the stream's end so the machine can resubscribe.
    static func forward(_ events: AsyncThrowingStream<EngineEvent, any Error>, into continuation: AsyncStream<Input>.Continuation)
        -> Task<Void, Never>
    {
        Task { await pump(events, into: continuation) }
    }

    static func pump(_ events: AsyncThrowingStream<EngineEvent, any Error>, into continuation: AsyncStream<Input>.Continuation) async {
        do {
            for try await event in events { continuation.yield(.event(event)) }
            if !Task.isCancelled { continuation.yield(.eventsLost(nil)) }
        } catch {
            if !Task.isCancelled { continuation.yield(.eventsLost("\(error)")) }
        }
    }

    /// Performs actions; each reports back through `continuation`.
    struct Effects {
        let client: any ContainerEngine
        let project: String
        let continuation: AsyncStream<Input>.Continuation
        let redact: Redactor
        let onChange: @Sendable (ProgressUpdate) -> Void
        var timers: [Task<Void, Never>] = []
        /// Start, restart and stop requests in flight; awaited before the run returns.
        var requests: [Task<Void, Never>] = []
        var streams: [Task<Void, Never>] = []
        /// Probes waiting or running; cancelled when the run ends (read-only, nothing to wait for).
        var probes: [Task<Void, Never>] = []
        /// Paces probes: a start storm of 50 services must not become 50 concurrent execs on a busy engine.
        let limiter = ProbeLimiter(limit: 4)

        mutating func perform(_ actions: [LaunchStateMachine.Action]) {
            for action in actions { perform(action) }
        }

        /// One probe's answer. An engine that failed to run the check (no answer, a dropped connection, an error
        /// of its own) is an engine fault, never a failing check: the service said nothing.
        static func probe(_ client: any ContainerEngine, _ container: String, command: [String], timeout: Duration) async
            -> EngineClient.ProbeAnswer
        {
            do {
                return try await client.probe(container, command: command, timeout: timeout)
            } catch {
                return EngineClient.ProbeAnswer(.engineFault((error as? EngineError)?.summary ?? "\(error)"))
            }
        }

        mutating func perform(_ action: LaunchStateMachine.Action) {
            switch action {
            case .progress(var update):
                update.detail = update.detail.map { redact($0) }
                onChange(update)
            case .start(let service, let container):
                requests.append(startTask(service, container, restart: false))
            case .restart(let service, let container):
                requests.append(startTask(service, container, restart: true))
            case .stop(_, let container):
                let client = self.client
                requests.append(Task { try? await client.stopContainer(container, timeoutSeconds: Orchestrator.stopGrace) })
            case .schedule(let service, let kind, let generation, let delay):
                let continuation = self.continuation
                timers.append(
                    Task {
                        try? await Task.sleep(for: delay)
                        guard !Task.isCancelled else { return }
                        continuation.yield(.timer(service: service, kind: kind, generation: generation))
                    })
            case .inspect(let service, let container, let sequence):
                let client = self.client, continuation = self.continuation
                // Read-only: not awaited at the end; an answer after the loop finished is dropped.
                Task {
                    if let details = try? await client.inspectContainer(container) {
                        continuation.yield(.inspected(service: service, details: details, startSequence: sequence))
                    }
                }
            case .probe(let service, let container, let sequence, let command, let timeout, let delay):
                probes.append(probeTask(service, container, sequence, command: command, timeout: timeout, after: delay))
            case .watchLog(let service, let container, let sequence, let pattern, let delay):
                probes.append(followTask(service, container, sequence, pattern: pattern, after: delay))
            case .sample(let service, let container, let sequence, let delay):
                let client = self.client, continuation = self.continuation
                probes.append(
                    Task {
                        try? await Task.sleep(for: delay)
                        guard !Task.isCancelled else { return }
                        let sample = try? await client.stats(container).sample
                        continuation.yield(.sampled(service: service, container: container, startSequence: sequence, sample: sample))
                    })
            case .resubscribe(let since, let delay):
                let client = self.client, continuation = self.continuation, project = self.project
                streams.append(
                    Task {
                        try? await Task.sleep(for: delay)
                        guard !Task.isCancelled else { return }
                        let events = client.projectEvents(project, sinceNanoseconds: since, actions: Orchestrator.watchedActions)
                        // Iterated here, in this task: cancelling it at the end of the run ends the stream (and its
                        // thread, socket and any dial-stdio child) with it.
                        await Orchestrator.pump(events, into: continuation)
                    })
            }
        }

        /// A start (or a retry's restart) request; the engine's answer, or how it refused, goes back to the machine.
        /// A request that timed out may still land: transient. Any other refusal is the engine's word on it.
        func startTask(_ service: String, _ container: String, restart: Bool) -> Task<Void, Never> {
            let client = self.client, continuation = self.continuation
            return Task {
                let clock = ContinuousClock()
                let began = clock.now
                do {
                    if restart {
                        try await client.restartContainer(container, timeoutSeconds: Orchestrator.stopGrace)
                    } else {
                        try await client.startContainer(container)
                    }
                    continuation.yield(.startAnswered(service: service, seconds: began.duration(to: clock.now).seconds))
                } catch let error as EngineError {
                    continuation.yield(.startFailed(service: service, StartRefusal(error)))
                } catch {
                    continuation.yield(.startFailed(service: service, .rejected("\(error)")))
                }
            }
        }

        /// One run of the service's own check after `delay`, at most `limiter.limit` at once.
        func probeTask(_ service: String, _ container: String, _ sequence: Int, command: [String], timeout: Duration, after delay: Duration)
            -> Task<Void, Never>
        {
            let client = self.client, continuation = self.continuation, limiter = self.limiter
            return Task {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                await limiter.acquire()
                let answer = await Self.probe(client, container, command: command, timeout: timeout)
                await limiter.release()
                guard !Task.isCancelled else { return }
                continuation.yield(
                    .probed(
                        service: service, container: container, startSequence: sequence, outcome: answer.outcome,
                        spawnSeconds: answer.spawnSeconds))
            }
        }

        /// Follows this start of the container's log for `launch.ready_log` after `delay`: a match, a log the engine
        /// says it can never read, or the end of the follow (the machine decides whether to follow again).
        func followTask(_ service: String, _ container: String, _ sequence: Int, pattern: String, after delay: Duration) -> Task<
            Void, Never
        > {
            let client = self.client, continuation = self.continuation, redact = self.redact
            return Task {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                do {
                    if let line = try await client.firstLogLine(container, matching: pattern) {
                        // Redacted before the machine cuts it to an excerpt: no secret is printed in part.
                        continuation.yield(.logMatched(service: service, container: container, startSequence: sequence, line: redact(line)))
                        return
                    }
                } catch EngineError.http(let status, let message) where (status != 404 && status != 409 && status < 500) || status == 501 {
                    // The engine says this log cannot be read (the `none` driver, …): it never will be.
                    continuation.yield(.logUnreadable(service: service, container: container, startSequence: sequence, message: message))
                    return
                } catch {
                    // Lost on the way (a dropped connection, a silent engine, an engine error): the machine decides
                    // whether this start is still worth following, and when it has failed too often.
                    if !Task.isCancelled {
                        let message = (error as? EngineError)?.summary ?? "\(error)"
                        continuation.yield(
                            .logWatchEnded(service: service, container: container, startSequence: sequence, error: redact(message)))
                    }
                    return
                }
                // Ended without a match: the container stopped (its events say how) or the engine closed the log.
                if !Task.isCancelled { continuation.yield(.logWatchEnded(service: service, container: container, startSequence: sequence)) }
            }
        }
    }

    /// How long a container launch stops (a retry's restart, a crash loop it ends) may take to go: launch's own
    /// containers are being started, not served from, so they get no more than this before SIGKILL.
    static let stopGrace = 2

    /// What the machine keys off; anything else (exec_*, attach, ...) is noise.
    static let watchedActions = ["start", "die", "oom", "health_status"]

    static func services(
        stack: ComposeStack, graph: DependencyGraph, profile: Profile, containers: [String: [ContainerDetails]],
        history: ReadinessHistory = .empty,
        jobs: Set<String>? = nil
    ) -> [ServiceRun] {
        services(
            stack: stack, graph: graph, policy: profile.health, classOf: profile.services.serviceClass(of:), containers: containers,
            history: history, jobs: jobs)
    }

    /// The machine's starting state: one `ServiceRun` per service in start order, with its readiness rule
    /// (an image's own HEALTHCHECK included) and the containers Compose created.
    static func services(
        stack: ComposeStack, graph: DependencyGraph, policy: Profile.HealthPolicy, classOf: (String) -> ServiceClass,
        containers: [String: [ContainerDetails]], probing: Bool = true,
        history: ReadinessHistory = .empty, jobs: Set<String>? = nil
    ) -> [ServiceRun] {
        let jobs = jobs ?? Planner.jobs(in: stack)
        return graph.startOrder.compactMap { name in
            guard let service = stack.service(name) else { return nil }
            var described = service
            // A HEALTHCHECK baked into the image counts like one in the compose file (Compose waits for it too).
            if described.healthcheck == nil, !described.healthcheckDisabled,
                case .check(let check) = ImageHealthcheck(stored: containers[name]?.first?.config.healthcheck)
            {
                described.healthcheck = Healthcheck(image: check)
            }
            let rule = ReadinessRule(service: described, policy: policy, isJob: jobs.contains(name), history: history.stats(name))
            var run = ServiceRun(
                name: name, serviceClass: classOf(name), rule: rule,
                dependencies: graph.dependencies[name] ?? [],
                containers: (containers[name] ?? []).map { details in
                    ContainerRun(
                        id: details.id, name: details.name, restartPolicy: details.hostConfig.restartPolicy?.name ?? "no", initial: details,
                        resources: ResourceUsage(limitsOf: details))
                })
            run.replicas = service.replicas
            run.judgedRuns = history.judgedRuns[name] ?? []
            // Every healthcheck gets launch's own probes during startup, whatever its interval. Which probes are
            // actually sent is the machine's decision (`scheduleProbe`): paced together, and only where they can
            // beat the engine (bench/readiness.py measures it).
            if case .http(let port, let path)? = rule.signal {
                // Its cadence grows to half this interval (1 s); nothing else checks it meanwhile.
                run.probe = ServiceRun.ProbeSpec(
                    command: ReadySignal.httpCommand(port: port, path: path), timeout: ReadySignal.httpTimeout, interval: .seconds(2),
                    racesEngine: false)
            } else if probing, rule.kind == .healthy, let check = described.healthcheck, let command = healthcheckCommand(check.test) {
                // The engine's own start-period cadence, as it stored it: only an engine that honours
                // `start_interval` keeps one, so this is what that engine will really do.
                let stored = containers[name]?.first?.config.healthcheck
                run.probe = ServiceRun.ProbeSpec(
                    command: command, timeout: check.timeout, interval: check.interval, startPeriod: check.startPeriod,
                    startInterval: stored?.startInterval.flatMap { $0 > 0 ? .nanoseconds($0) : nil })
            }
            return run
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
    /// When it was judged failed (the run's report draws its bar to here).
    var failedAt: Double?
    /// The longest time the engine took to start one of its containers (the first attempt).
    var engineStartSeconds: Double?
    var failure: FailureKind?
    /// Replicas Compose was asked for: zero containers is only right when this is zero.
    var replicas = 1
    /// This attempt's deadline is running (it starts with the container, not with our request).
    var deadlineArmed = false
    /// What made it ready: "probe" (its own check, run by launch), "healthcheck" (the engine's verdict),
    /// "stable", "exit 0", "already running", "scaled to 0".
    var readiness: String?
    /// Its healthcheck as launch runs it during startup; nil when it has none (or probing is off).
    var probe: ProbeSpec?
    /// Found running when the launch began and not started since: whatever readies it says nothing about how long
    /// a start takes (the report says `already running`, which the history skips).
    var adopted = false
    /// Container runs (`<id>@<StartedAt>`) its readiness label judged in an earlier launch that ended with it ready.
    var judgedRuns: Set<String> = []

    struct ProbeSpec: Sendable, Equatable {
        var command: [String]
        var timeout: Duration
        var interval: Duration
        var startPeriod: Duration = .zero
        /// The engine's own cadence during the start period, where it has one (Docker 25+).
        var startInterval: Duration?
        /// The engine runs the same check (a healthcheck): a probe is only sent where it can beat that. False for
        /// a check only launch runs (`launch.ready_http`): every probe counts.
        var racesEngine = true

        /// When the engine will next run this check itself after `t`, and its cadence then, as far as launch can
        /// tell: every `startInterval` during the start period where the engine has one, else every `interval`,
        /// counted from the container's start (the engine counts each interval from the end of the previous check,
        /// so its real checks drift a little later).
        func engineNextCheck(after t: Double, startedAt: Double) -> (at: Double, period: Double) {
            let elapsed = max(t - startedAt, 0)
            var period = max(interval.seconds, 0.001)
            if let fast = startInterval?.seconds, fast > 0, elapsed < startPeriod.seconds { period = fast }
            return (startedAt + ((elapsed / period).rounded(.down) + 1) * period, period)
        }

        /// A probe sent at `t` pays for itself when its answer (the engine's current spawn time later) comes a
        /// quarter of a check period before the engine's own next check; later, the engine's verdict is as good.
        func worthProbing(at t: Double, spawnSeconds: Double, startedAt: Double) -> Bool {
            let next = engineNextCheck(after: t, startedAt: startedAt)
            return t + spawnSeconds + next.period / 4 <= next.at
        }
    }

    var isJob: Bool { if case .completes = rule.kind { true } else { false } }
    /// The worst figures over its containers (with the engine's OOM verdicts), for a diagnosis.
    var resources: ResourceUsage? {
        containers.map { container in
            var usage = container.resources
            usage.oomKilled = usage.oomKilled || container.oomKilled
            return usage
        }.reduce(nil) { worst, next in worst.map { $0.merged(with: next) } ?? next }
    }
    var anyRunning: Bool { containers.contains { $0.running } }
}

struct ContainerRun: Sendable {
    var id: String
    var name: String
    var restartPolicy: String
    /// What inspect said before anything was started (a relaunch finds containers already up).
    var initial: ContainerDetails?
    /// What it used against its limits while its service started (stats readings).
    var resources = ResourceUsage()
    var running = false
    var ready = false
    /// Exits the engine answered with a restart since this container was last ready, and the engine time of the
    /// first of them (Unix ns): several in a row are a restart loop, named with their count and span.
    var crashes = 0
    var firstCrashNanoseconds: Int64?
    /// Exits the engine answered with a restart since launch itself last started or restarted this container
    /// (readiness in between does not reset it: the engine's own count for `on-failure:N` does not either).
    var policyRestarts = 0
    var oomKilled = false
    /// When the engine started this run of it (Unix ns, its own clock): how long a run lasted is measured on it,
    /// so whether an exit came before or after the stability window does not depend on how fast launch saw it.
    var engineStartedNanoseconds: Int64?
    /// Its stability window has passed on launch's clock; an inspect confirms it is still running.
    var stabilityDue = false
    /// Counts start events, so a stability timer from an earlier start is ignored.
    var startSequence = 0
    /// When this start of it was seen (seconds into the start phase): the engine's own checks count from here.
    var startedAt: Double?
    /// We asked the engine to restart it: the `die` that precedes the new start is ours, not a failure.
    var restartRequested = false
    /// We asked the engine to start it and have not seen it start yet: a `die` now is from before (a stop a
    /// moment ago), not a verdict on this start.
    var awaitingStart = false
    /// It died from SIGKILL (137) with no `oom` event yet: the engine may send `oom` after `die`, so the
    /// container's own record (`State.OOMKilled`) decides before the verdict.
    var verifyingKill = false
    /// The wait before the next probe of the service's own check.
    var probeDelay: Duration = .zero
    /// Its check cannot run here (command missing): only the engine's verdict counts.
    var probeUnavailable = false
    /// Probes the engine failed to run in a row (not answers about the service), and its last words.
    var engineFaults = 0
    var lastEngineFault: String?
    /// Times its log was followed again during this start (backoff for the next), and failures in a row.
    var logWatches = 0
    var logWatchErrors = 0

    var engineRestarts: Bool { ["always", "unless-stopped", "on-failure"].contains(restartPolicy) }
    /// `on-failure:N`: how many restarts the engine makes before it leaves the container exited (nil: no limit).
    var engineRestartLimit: Int? {
        guard restartPolicy == "on-failure", let count = initial?.hostConfig.restartPolicy?.maximumRetryCount, count > 0 else { return nil }
        return count
    }
}

/// At most `limit` probes at once; the rest wait their turn in order.
actor ProbeLimiter {
    let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
