import Foundation

/// Every decision of a launch, as a value: `(state, input) -> (state, [Action])`.
///
/// It performs nothing. Engine events, answers to start requests, timers, inspects and the event stream's
/// health come in as `Input`s with the time they happened; what should happen next goes out as `Action`s that
/// the `Orchestrator` (the driver) performs against the engine. Unit tests replay event sequences recorded from
/// real engines through it and compare the actions, without Docker.
struct LaunchStateMachine: Sendable {
    enum Input: Sendable, Equatable {
        case event(EngineEvent)
        /// The event stream ended or failed (nil: closed by the engine).
        case eventsLost(String?)
        /// The engine refused a start request, failed on its own side, or did not answer it.
        case startFailed(service: String, StartRefusal)
        /// How long the engine took to answer a start request, for reports.
        case startAnswered(service: String, seconds: Double)
        case timer(service: String, kind: TimerKind, generation: Int)
        /// An inspect, tagged with the container's start count when it was asked for.
        case inspected(service: String, details: ContainerDetails, startSequence: Int)
        /// The periodic safety net: inspect what is still starting.
        case tick
        /// One run of the service's own healthcheck command inside the container, tagged with the container's
        /// start count when it was asked for, with how long the engine took to spawn it (see `ExecLoad`).
        case probed(service: String, container: String, startSequence: Int, outcome: EngineClient.ProbeOutcome, spawnSeconds: Double? = nil)
        /// One stats reading of a starting container (nil: the engine gave none; sampling it stops).
        case sampled(service: String, container: String, startSequence: Int, sample: ResourceSample?)
        /// A line this start of the container printed matched its `launch.ready_log` pattern.
        case logMatched(service: String, container: String, startSequence: Int, line: String)
        /// The container's log cannot be read (a logging driver the engine cannot read back, …).
        case logUnreadable(service: String, container: String, startSequence: Int, message: String)
        /// Following the log ended without a match: the container stopped (`error` nil), or the stream failed
        /// (dropped, a silent engine, an engine error). Watched again while this start of it still runs.
        case logWatchEnded(service: String, container: String, startSequence: Int, error: String? = nil)
        /// The heartbeat's ping was answered (any answer: the engine is there).
        case engineAnswered
        /// The heartbeat's ping, sent `waited` seconds ago, got no answer at all (refused, reset, nothing in time).
        case engineSilent(String, waited: Double)
    }

    enum TimerKind: Sendable, Hashable {
        case deadline
        case retry
        case stability(container: String, sequence: Int)
    }

    enum Action: Sendable, Equatable {
        case start(service: String, container: String)
        case restart(service: String, container: String)
        /// Stop a container the engine would otherwise keep restarting.
        case stop(service: String, container: String)
        case schedule(service: String, kind: TimerKind, generation: Int, after: Duration)
        case inspect(service: String, container: String, startSequence: Int)
        /// Subscribe to events again from `sinceNanoseconds` (the engine replays what was missed) after `after`.
        case resubscribe(sinceNanoseconds: Int64, after: Duration)
        /// Run the service's own healthcheck command in the container after `after`, bounded by `timeout`.
        case probe(service: String, container: String, startSequence: Int, command: [String], timeout: Duration, after: Duration)
        /// Read the container's CPU and memory figures after `after`, for the diagnosis should it fail.
        case sample(service: String, container: String, startSequence: Int, after: Duration)
        /// Follow what this start of the container prints until a line matches `pattern` (`launch.ready_log`),
        /// after `after`.
        case watchLog(service: String, container: String, startSequence: Int, pattern: String, after: Duration)
        case progress(ProgressUpdate)
    }

    /// How often the stream may be lost in a row before the launch relies on the safety net alone.
    static let maxStreamLosses = 8
    /// The first probe of a started container, and how the cadence grows towards the declared interval.
    static let firstProbe: Duration = .milliseconds(100)
    static let probeGrowth = 1.5
    /// A probe put off past the engine's own check goes this long after it.
    static let afterEngineCheck: Duration = .milliseconds(50)
    /// At most this many probes a second over all starting services (see `probePacing`).
    static let probesPerSecond = 16
    /// Stats are read this often per starting container: enough to catch a memory peak on cgroup v2 (v1 keeps its
    /// own), cheap enough that the launcher's CPU per service stays in milliseconds.
    static let sampleInterval: Duration = .seconds(1)
    /// At most this many stats reads a second over all starting containers: at 40 services starting at once, one
    /// read each per second is engine work the starts themselves need (measured: bench/readiness.py `wide`).
    static let samplesPerSecond = 8

    var services: [ServiceRun]
    /// How long the engine takes to spawn a probe now (decides which probes are still worth it).
    private(set) var execLoad = ExecLoad()
    let policy: Profile.HealthPolicy
    /// Where containers were created: a service without any is a failure that names it.
    let endpoint: String
    /// Seconds since the start phase began, as of the input being handled.
    private(set) var now: Double = 0
    private(set) var coreFailed = false
    private(set) var eventStreamError: String?
    /// Newest event seen (Unix ns): a resubscription replays from here.
    private(set) var lastEventTime: Int64 = 0
    /// Events already handled, so a replay after a reconnect is not handled twice.
    private var seen: Set<EventKey> = []
    private var seenOrder: [EventKey] = []
    private var streamLosses = 0
    /// Times the event stream was lost and resumed during this run (reports keep it).
    private(set) var streamReconnects = 0
    /// The heartbeat's answers; once the engine has been silent for `EngineLiveness.grace`, the run ends with
    /// `engineLost` instead of waiting on deadlines for events that cannot come.
    private var liveness = EngineLiveness()
    private(set) var engineLost: (seconds: Double, lastError: String)?
    private var actions: [Action] = []

    struct EventKey: Hashable, Sendable {
        var id: String
        var action: String
        var time: Int64
    }

    init(services: [ServiceRun], policy: Profile.HealthPolicy, endpoint: String, startedAtNanoseconds: Int64 = 0) {
        self.services = services
        self.policy = policy
        self.endpoint = endpoint
        self.lastEventTime = startedAtNanoseconds
    }

    var isFinished: Bool { coreFailed || engineLost != nil || services.allSatisfy { $0.state.isTerminal } }

    /// Adopts what is already running (a relaunch) and starts what can start.
    mutating func begin(now: Double, wallClock: Date) -> [Action] {
        self.now = now
        adoptRunningContainers(wallClock: wallClock)
        evaluate()
        return takeActions()
    }

    mutating func handle(_ input: Input, now: Double) -> [Action] {
        self.now = max(self.now, now)
        switch input {
        case .event(let event): handle(event)
        case .eventsLost(let error): streamLost(error ?? "the engine closed the event stream")
        case .startFailed(let service, let refusal):
            guard let s = index(of: service), !services[s].state.isTerminal else { break }
            switch refusal {
            case .rejected(let message): fail(s, .startRejected(message.trimmingCharacters(in: .whitespacesAndNewlines)))
            case .engineFault(let message): attemptFailed(s, .engineFault(message.trimmingCharacters(in: .whitespacesAndNewlines)))
            case .noAnswer(let message): attemptFailed(s, .startTimedOut(message.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        case .startAnswered(let service, let seconds):
            guard let s = index(of: service) else { break }
            if services[s].retries == 0 { services[s].engineStartSeconds = max(services[s].engineStartSeconds ?? 0, seconds) }
            // The engine has started it: its time runs from here even if the start event is late.
            armDeadline(s)
        case .timer(let service, let kind, let generation):
            guard let s = index(of: service), services[s].generation == generation else { break }
            fire(kind, s)
        case .inspected(let service, let details, let sequence):
            guard let s = index(of: service) else { break }
            reconcile(s, details, sequence: sequence)
        case .tick:
            inspect { $0.state == .starting }
        case .probed(let service, let container, let sequence, let outcome, let spawn):
            if let spawn { execLoad.record(spawnSeconds: spawn) }
            guard let s = index(of: service), let c = services[s].containers.firstIndex(where: { $0.id == container }) else { break }
            probed(s, c, sequence: sequence, outcome: outcome)
        case .sampled(let service, let container, let sequence, let sample):
            guard let s = index(of: service), let c = services[s].containers.firstIndex(where: { $0.id == container }) else { break }
            sampled(s, c, sequence: sequence, sample: sample)
        case .logMatched(let service, let container, let sequence, let line):
            guard let s = index(of: service), let c = current(s, container, sequence) else { break }
            containerReady(s, c, evidence: signalEvidence(s), detail: "logged: \(Self.excerpt(line))")
        case .logWatchEnded(let service, let container, let sequence, let error):
            guard let s = index(of: service), let c = current(s, container, sequence) else { break }
            services[s].containers[c].logWatches += 1
            services[s].containers[c].logWatchErrors = error == nil ? 0 : services[s].containers[c].logWatchErrors + 1
            if let error, services[s].containers[c].logWatchErrors >= Self.maxStreamLosses {
                // As for the event stream: this many failures in a row is not a blip, and the deadline would only hide why.
                fail(
                    s,
                    .readinessUnavailable(
                        "its log could not be read \(Self.maxStreamLosses) times in a row for \(ReadySignal.logLabel): \(error)"))
                break
            }
            // A container that stopped mid-follow is usually being restarted: the first re-follow waits 200 ms.
            watchLog(s, c, after: Backoff.reconnect.delay(attempt: services[s].containers[c].logWatches + 1))
        case .logUnreadable(let service, let container, let sequence, let message):
            guard let s = index(of: service), current(s, container, sequence) != nil else { break }
            fail(s, .readinessUnavailable("its log cannot be read for \(ReadySignal.logLabel): \(message)"))
        case .engineAnswered: liveness.answered()
        case .engineSilent(let what, let waited):
            // No verdict on any service: what they were doing when it went is what the run reports.
            if engineLost == nil, let seconds = liveness.silent(what, at: self.now, waited: waited) { engineLost = (seconds, what) }
        }
        return takeActions()
    }

    private mutating func takeActions() -> [Action] {
        defer { actions = [] }
        return actions
    }

    func index(of service: String) -> Int? { services.firstIndex { $0.name == service } }

    /// Container `id` of service `s`, when an answer tagged `sequence` is about its current start, the service is
    /// still deciding and the container is running, not ready yet, and not between runs (a restart or start launch
    /// asked for and has not seen happen): nil for anything stale.
    private func current(_ s: Int, _ id: String, _ sequence: Int) -> Int? {
        guard services[s].state == .starting, let c = services[s].containers.firstIndex(where: { $0.id == id }),
            services[s].containers[c].startSequence == sequence, services[s].containers[c].running, !services[s].containers[c].ready,
            !services[s].containers[c].restartRequested, !services[s].containers[c].awaitingStart
        else { return nil }
        return c
    }

    /// A printed line as evidence: one line of printable characters (a progress bar's `\r` or a colour escape
    /// would garble the board), at most 120 characters. The driver redacts the line before it gets here.
    static func excerpt(_ line: String) -> String { Text.printable(line, limit: 120) }

    func locate(container id: String) -> (Int, Int)? {
        for (s, service) in services.enumerated() {
            if let c = service.containers.firstIndex(where: { $0.id == id }) { return (s, c) }
        }
        return nil
    }

    private mutating func emit(_ s: Int, _ detail: String? = nil) {
        let service = services[s]
        actions.append(
            .progress(
                ProgressUpdate(
                    service: service.name, serviceClass: service.serviceClass, state: service.state, elapsed: now, detail: detail)))
    }

    // MARK: Starting

    /// A relaunch finds containers already running: healthy ones count as ready now.
    private mutating func adoptRunningContainers(wallClock: Date) {
        for s in services.indices {
            for c in services[s].containers.indices {
                // A restarting container reports Running=true; it is not running in any useful sense.
                guard let state = services[s].containers[c].initial?.state, state.running, !state.restarting else { continue }
                services[s].containers[c].running = true
                services[s].containers[c].engineStartedNanoseconds = EngineTime.nanoseconds(state.startedAt)
                // When the engine started it, on this machine's clock (before the phase began: negative): the engine's
                // own checks count from there.
                let started = EngineTime.parse(state.startedAt)
                let age = started.map { max(wallClock.timeIntervalSince($0), 0) }
                services[s].containers[c].startedAt = age.map { now - $0 }
                switch services[s].rule.kind {
                case .healthy: services[s].containers[c].ready = state.health?.status == "healthy"
                case .stable(let window):
                    services[s].containers[c].ready = age.map { $0 >= window.seconds } ?? false
                case .completes: break
                case .signal:
                    // This very run of it (same container, same start) was judged by an earlier launch that ended
                    // with it ready: its ready line may have rotated out of the log since. Unless the engine has found
                    // it unhealthy since. Otherwise its signal is looked for.
                    let id = services[s].containers[c].initial?.id ?? services[s].containers[c].id
                    services[s].containers[c].ready =
                        services[s].judgedRuns.contains("\(id)@\(state.startedAt)") && state.health?.status != "unhealthy"
                }
            }
            guard services[s].rule.kind != .completes, services[s].anyRunning else { continue }
            services[s].state = .starting
            services[s].adopted = true
            services[s].startedAt = now
            if services[s].containers.allSatisfy(\.ready) {
                markReady(s, detail: "already running", evidence: "already running")
                continue
            }
            armDeadline(s)
            emit(s, "already running")
            for c in services[s].containers.indices {
                let container = services[s].containers[c]
                if !container.running {
                    // A stopped replica next to running ones: start it like any other.
                    services[s].containers[c].awaitingStart = true
                    actions.append(.start(service: services[s].name, container: container.id))
                } else if container.initial?.state.health?.status == "unhealthy" {
                    // The engine only reports health changes: an adopted unhealthy container sends none.
                    attemptFailed(s, .unhealthy)
                    break
                } else if case .stable(let window) = services[s].rule.kind, !container.ready {
                    scheduleStability(s, c, after: window)
                } else if !container.ready {
                    watchReadiness(s, c)
                }
                if container.running { startSampling(s, c) }
            }
        }
    }

    /// A start of container `c`, from its event or found by a reconcile: a new start sequence (answers about an
    /// earlier start are stale from now on), the deadline, and the readiness watch its rule asks for.
    private mutating func containerStarted(_ s: Int, _ c: Int, engineTime: Int64?) {
        services[s].adopted = false  // readied by what this start does, not by having been up
        services[s].containers[c].probeUnavailable = false  // a new start may run it (the last refusal can have been its exit)
        // A start launch asked for: the engine counts `on-failure:N` afresh from here, and so does launch.
        if services[s].containers[c].awaitingStart || services[s].containers[c].restartRequested {
            services[s].containers[c].policyRestarts = 0
        }
        services[s].containers[c].running = true
        services[s].containers[c].engineStartedNanoseconds = engineTime
        services[s].containers[c].stabilityDue = false
        services[s].containers[c].restartRequested = false
        services[s].containers[c].awaitingStart = false
        services[s].containers[c].startSequence += 1
        services[s].containers[c].startedAt = now
        armDeadline(s)
        if case .stable(let window) = services[s].rule.kind, services[s].state == .starting {
            scheduleStability(s, c, after: window)
        }
        watchReadiness(s, c)
        startSampling(s, c)
        // A `service_started` dependent may go now.
        evaluate()
    }

    /// Starts every pending service whose dependencies hold; blocks those whose dependencies failed. Once a core
    /// service has failed the run is lost: nothing new starts.
    private mutating func evaluate() {
        var changed = true
        while changed {
            changed = false
            for s in services.indices where services[s].state == .pending {
                switch dependencyStatus(services[s]) {
                case .waiting: continue
                case .blocked(let by):
                    services[s].state = .blocked(by: by)
                    if services[s].serviceClass == .core { runLost() }
                    emit(s)
                    changed = true
                case .satisfied:
                    guard !coreFailed else { continue }
                    start(s)
                    changed = true
                }
            }
        }
    }

    func dependencyStatus(_ service: ServiceRun) -> DependencyGate.Status {
        DependencyGate.status(of: service.dependencies) { name in
            index(of: name).map { DependencyGate.Dependee(state: services[$0].state, started: services[$0].anyRunning) }
        }
    }

    private mutating func start(_ s: Int) {
        services[s].state = .starting
        if services[s].startedAt == nil { services[s].startedAt = now }
        services[s].generation += 1
        services[s].deadlineArmed = false
        emit(s)
        if services[s].containers.isEmpty {
            if services[s].replicas == 0 {
                markReady(s, detail: "scaled to 0", evidence: "scaled to 0")
            } else {
                // Compose said it created the stack, yet the engine we watch has none of this service's
                // containers: the two disagree about the engine. Never "ready" on missing evidence.
                fail(s, .noContainers(endpoint: endpoint))
            }
            return
        }
        for c in services[s].containers.indices {
            services[s].containers[c].ready = false
            let container = services[s].containers[c]
            if container.running && !services[s].isJob { continue }
            services[s].containers[c].awaitingStart = true
            actions.append(.start(service: services[s].name, container: container.id))
        }
        if services[s].containers.allSatisfy({ $0.running }) && !services[s].isJob { armDeadline(s) }
    }

    /// The deadline counts from the container's real start (its `start` event, or the engine's answer to the
    /// start request), not from our request: a busy engine must not eat a service's time.
    private mutating func armDeadline(_ s: Int) {
        guard services[s].state == .starting, !services[s].deadlineArmed else { return }
        services[s].deadlineArmed = true
        schedule(s, .deadline, after: services[s].rule.deadline)
    }

    // MARK: Engine events

    private mutating func handle(_ event: EngineEvent) {
        let key = EventKey(id: event.actor.id, action: event.action, time: event.timeNano)
        guard seen.insert(key).inserted else { return }
        seenOrder.append(key)
        if seenOrder.count > 4096 { seen.remove(seenOrder.removeFirst()) }
        lastEventTime = max(lastEventTime, event.timeNano)
        streamLosses = 0
        guard event.type == "container", let id = event.containerID, let (s, c) = locate(container: id) else { return }
        let action = event.action
        if action == "start" {
            containerStarted(s, c, engineTime: event.timeNano)
        } else if action == "oom" {
            services[s].containers[c].oomKilled = true
            if services[s].containers[c].verifyingKill { died(s, c, code: 137, engineTime: nil) }
            services[s].containers[c].resources.oomKilled = true
        } else if action == "die" {
            died(s, c, code: event.exitCode ?? -1, engineTime: event.timeNano)
        } else if let health = event.healthStatus, !services[s].isJob {
            if health == "healthy", services[s].rule.signal == nil {
                containerReady(s, c, evidence: "healthcheck")
            } else if health == "unhealthy", services[s].state == .starting || services[s].state == .ready {
                attemptFailed(s, .unhealthy)
            }
        }
    }

    /// Several exits in a row that the engine answers with a restart, without the container becoming ready in
    /// between: a restart loop. The engine's own restarts are its policy at work (one crash of an `on-failure`
    /// service that then comes up is fine); they never spend launch's retries.
    static let restartLoopLimit = 3

    /// The end of a run of container `c` (`engineTime`: the engine's time of it, Unix ns, when known).
    private mutating func died(_ s: Int, _ c: Int, code: Int, engineTime: Int64?) {
        if services[s].containers[c].restartRequested {
            services[s].containers[c].running = false
            return
        }
        // The end of a run from before the start we asked for (a `docker stop` a moment ago): not this start's.
        if services[s].containers[c].awaitingStart && !services[s].containers[c].running { return }
        guard services[s].containers[c].running || services[s].state == .starting else { return }
        if code == 137 && !services[s].containers[c].oomKilled && !services[s].containers[c].verifyingKill {
            // Killed: by the kernel for memory (its `oom` event can trail the `die`) or by someone. Ask the container.
            services[s].containers[c].verifyingKill = true
            services[s].containers[c].running = true  // so the inspect's answer is judged as this death
            actions.append(
                .inspect(
                    service: services[s].name, container: services[s].containers[c].id,
                    startSequence: services[s].containers[c].startSequence))
            return
        }
        services[s].containers[c].verifyingKill = false
        if services[s].isJob {
            services[s].containers[c].running = false
            services[s].containers[c].ready = false
            // Only a job this run started is judged by its exit; a leftover run of it is not.
            guard services[s].state == .starting else { return }
            if code == 0 && !services[s].containers[c].oomKilled {
                services[s].containers[c].ready = true
                checkReady(s, detail: "exit 0", evidence: "exit 0")
            } else {
                attemptFailed(s, services[s].containers[c].oomKilled ? .oomKilled : .exited(code: code))
            }
            return
        }
        // A run that lasted its stability window on the engine's clock met the rule, however late launch heard of
        // either end: the verdict is the same on a quiet host and a loaded one. Its exit is then a death after
        // readiness, which matters only while the launch is still deciding.
        if stoodItsWindow(s, c, endedAt: engineTime) {
            containerReady(s, c, evidence: "stable")
            if isFinished { return }
        }
        services[s].containers[c].running = false
        services[s].containers[c].ready = false
        guard services[s].state == .starting || services[s].state == .ready else { return }
        if services[s].state == .ready {
            // It was ready and died: back to starting, with a deadline again.
            services[s].state = .starting
            services[s].generation += 1
            services[s].deadlineArmed = false
            armDeadline(s)
        }
        let failure: FailureKind = services[s].containers[c].oomKilled ? .oomKilled : .exited(code: code)
        let container = services[s].containers[c]
        if container.engineRestarts && !failure.isDeterministic && !(code == 0 && container.restartPolicy == "on-failure") {
            engineRestarts(s, c, code: code, engineTime: engineTime)
            return
        }
        attemptFailed(s, failure)
    }

    /// Container `c` of a service ready by the stability rule ran at least its window, by the engine's own times.
    private func stoodItsWindow(_ s: Int, _ c: Int, endedAt end: Int64?) -> Bool {
        guard services[s].state == .starting, case .stable(let window) = services[s].rule.kind, !services[s].containers[c].ready,
            let end, let begin = services[s].containers[c].engineStartedNanoseconds, end > begin
        else { return false }
        return Double(end) / 1e9 - Double(begin) / 1e9 >= window.seconds
    }

    /// An exit the engine's restart policy answers: counted towards a restart loop, which fails the service with
    /// the count and the span; an `on-failure:N` policy that has given up leaves the container exited.
    private mutating func engineRestarts(_ s: Int, _ c: Int, code: Int, engineTime: Int64?) {
        services[s].containers[c].crashes += 1
        services[s].containers[c].policyRestarts += 1
        let crashes = services[s].containers[c].crashes
        if crashes == 1 { services[s].containers[c].firstCrashNanoseconds = engineTime }
        if let limit = services[s].containers[c].engineRestartLimit, services[s].containers[c].policyRestarts > limit {
            // The engine has made its last restart: nothing will run this container again.
            attemptFailed(s, .exited(code: code))
            return
        }
        guard crashes >= Self.restartLoopLimit else {
            emit(s, "exit \(code); the engine restarts it (\(crashes) in a row)")
            return
        }
        var span: Double?
        if let first = services[s].containers[c].firstCrashNanoseconds, let last = engineTime {
            span = min(max(Double(last) / 1e9 - Double(first) / 1e9, 0), 86_400)
        }
        fail(s, .restartLoop(restarts: crashes, seconds: span))
    }

    private mutating func containerReady(_ s: Int, _ c: Int, evidence: String, detail: String? = nil) {
        guard services[s].state == .starting else { return }
        services[s].containers[c].ready = true
        services[s].containers[c].crashes = 0
        services[s].containers[c].stabilityDue = false
        let detail = detail ?? (evidence == "probe" ? "its check passed" : (services[s].rule.kind == .healthy ? "healthy" : nil))
        checkReady(s, detail: detail, evidence: evidence)
    }

    private mutating func checkReady(_ s: Int, detail: String?, evidence: String) {
        guard services[s].state == .starting, services[s].containers.allSatisfy(\.ready) else { return }
        markReady(s, detail: detail, evidence: evidence)
    }

    private mutating func markReady(_ s: Int, detail: String?, evidence: String) {
        services[s].state = .ready
        services[s].failure = nil
        services[s].readyAt = now
        services[s].readiness = evidence
        services[s].generation += 1  // cancels its deadline
        emit(s, detail)
        evaluate()
    }

    /// One attempt failed: retry after backoff when that can help, fail otherwise.
    private mutating func attemptFailed(_ s: Int, _ failure: FailureKind) {
        guard !services[s].state.isTerminal || services[s].state == .ready else { return }
        if !failure.isDeterministic && services[s].retries < policy.retries && !coreFailed {
            services[s].retries += 1
            services[s].state = .retrying
            services[s].failure = failure  // the last attempt's reason, should the run end before the next
            services[s].generation += 1
            let delay = Backoff.retry(policy.backoff).delay(attempt: services[s].retries)
            schedule(s, .retry, after: delay)
            emit(s, "\(failure); retry \(services[s].retries)/\(policy.retries) in \(DurationText.format(delay))")
        } else {
            fail(s, failure)
        }
    }

    private mutating func fail(_ s: Int, _ failure: FailureKind) {
        services[s].state = .failed
        services[s].failure = failure
        services[s].failedAt = now
        services[s].generation += 1
        switch failure {
        case .restartLoop, .exited, .oomKilled:
            // Otherwise the engine keeps it crash-looping.
            for container in services[s].containers where container.engineRestarts {
                actions.append(.stop(service: services[s].name, container: container.id))
            }
        default: break  // a failed but running service stays up for inspection
        }
        emit(s, failure.description)
        if services[s].serviceClass == .core { runLost() }
        evaluate()
    }

    /// A core service failed: the run ends now. Services waiting out a backoff get no next attempt; they end
    /// failed with their last attempt's reason rather than in a state that is not an outcome.
    private mutating func runLost() {
        coreFailed = true
        for s in services.indices where services[s].state == .retrying {
            services[s].state = .failed
            services[s].generation += 1
            emit(s, services[s].failure?.description)
        }
    }

    private mutating func fire(_ kind: TimerKind, _ s: Int) {
        switch kind {
        case .deadline:
            guard services[s].state == .starting else { return }
            fail(s, .deadline(services[s].rule.deadline))
        case .retry:
            guard services[s].state == .retrying else { return }
            services[s].state = .starting
            services[s].generation += 1
            services[s].deadlineArmed = false
            emit(s, "attempt \(services[s].retries + 1)")
            for c in services[s].containers.indices {
                services[s].containers[c].ready = false
                let container = services[s].containers[c]
                if container.running { services[s].containers[c].restartRequested = true }
                services[s].containers[c].awaitingStart = true
                actions.append(
                    container.running
                        ? .restart(service: services[s].name, container: container.id)
                        : .start(service: services[s].name, container: container.id))
            }
        case .stability(let container, let sequence):
            guard services[s].state == .starting,
                let c = services[s].containers.firstIndex(where: { $0.id == container }),
                services[s].containers[c].running, services[s].containers[c].startSequence == sequence
            else { return }
            // Its exit may be on its way: the engine's answer decides (running, or how long the run lasted).
            services[s].containers[c].stabilityDue = true
            actions.append(.inspect(service: services[s].name, container: container, startSequence: sequence))
        }
    }

    // MARK: Probing the service's own check

    /// Whatever its rule looks at during this start: its check probed (a healthcheck, `launch.ready_http`), or
    /// its log followed (`launch.ready_log`).
    private mutating func watchReadiness(_ s: Int, _ c: Int) {
        services[s].containers[c].logWatches = 0
        watchLog(s, c, after: .zero)
        startProbing(s, c)
    }

    /// What a report says made a service ready by its label: the label's kind, or `already running` for a service
    /// that was up before the launch (its time says nothing about a start).
    private func signalEvidence(_ s: Int) -> String {
        services[s].adopted ? "already running" : services[s].rule.signal?.evidence ?? "already running"
    }

    private mutating func watchLog(_ s: Int, _ c: Int, after delay: Duration) {
        guard case .log(let pattern)? = services[s].rule.signal, services[s].state == .starting else { return }
        let container = services[s].containers[c]
        actions.append(
            .watchLog(
                service: services[s].name, container: container.id, startSequence: container.startSequence, pattern: pattern, after: delay))
    }

    /// A started container of a healthchecked service gets its own check run at a fast cadence (100 ms, growing
    /// towards the declared interval): the first pass makes it ready, long before the engine's first scheduled
    /// probe. The engine's verdicts (unhealthy, die, OOM) still fail it at once.
    private mutating func startProbing(_ s: Int, _ c: Int) {
        guard services[s].state == .starting, services[s].probe != nil, !services[s].containers[c].probeUnavailable else { return }
        services[s].containers[c].probeDelay = Self.firstProbe
        scheduleProbe(s, c, after: max(Self.firstProbe, probePacing))
    }

    /// Schedules the next probe where it can still beat the engine's own next check (see
    /// `ProbeSpec.worthProbing`): after `delay`, or else right after that check; if neither, the probing of this
    /// container stands down and the engine's verdict decides. In a start storm the engine takes a second or more to
    /// spawn an exec, so a service checked every second is left to the engine (probing it anyway costs the start
    /// storm more than it wins; bench/readiness.py shows it) while one checked every 5 s is still probed.
    private mutating func scheduleProbe(_ s: Int, _ c: Int, after delay: Duration) {
        guard let probe = services[s].probe else { return }
        let container = services[s].containers[c]
        let started = container.startedAt ?? now
        let spawn = execLoad.spawnSeconds
        var after = delay
        if probe.racesEngine, !probe.worthProbing(at: now + delay.seconds, spawnSeconds: spawn, startedAt: started) {
            let at = probe.engineNextCheck(after: now + delay.seconds, startedAt: started).at + Self.afterEngineCheck.seconds
            guard probe.worthProbing(at: at, spawnSeconds: spawn, startedAt: started) else { return }
            after = .milliseconds(Int64((min(max(at - now, 0), 86_400) * 1000).rounded(.up)))
        }
        actions.append(
            .probe(
                service: services[s].name, container: container.id, startSequence: container.startSequence, command: probe.command,
                timeout: probe.timeout, after: after))
    }

    private mutating func probed(_ s: Int, _ c: Int, sequence: Int, outcome: EngineClient.ProbeOutcome) {
        // An answer about an earlier start of this container (or one being restarted), or for a service already
        // decided, changes nothing.
        guard current(s, services[s].containers[c].id, sequence) != nil else { return }
        if case .engineFault(let message) = outcome {
            engineFault(s, c, message)
            return
        }
        // The engine answers again: its earlier faults say nothing about what happens to the service from here.
        services[s].containers[c].engineFaults = 0
        services[s].containers[c].lastEngineFault = nil
        switch outcome {
        case .passed where services[s].rule.signal != nil:
            containerReady(s, c, evidence: signalEvidence(s), detail: "answered 2xx")
        case .passed:
            containerReady(s, c, evidence: "probe")
        case .failed:
            probeAgain(s, c)
        case .unavailable(let reason) where services[s].rule.signal != nil:
            // Nothing else can make it ready: say so now rather than at the deadline.
            fail(
                s,
                .readinessUnavailable(
                    "\(ReadySignal.httpLabel) needs /bin/sh and curl, wget or python3 in the image (\(reason))"))
        case .unavailable(let reason):
            // The check cannot run as written (its command is not in the image): the engine's own verdict decides.
            services[s].containers[c].probeUnavailable = true
            emit(s, "its healthcheck cannot run: \(reason)")
        case .engineFault: break  // said and asked again above: no verdict on the service
        }
    }

    /// The next probe of a check that did not pass (or that the engine did not run): 1.5× later, within pacing.
    private mutating func probeAgain(_ s: Int, _ c: Int) {
        guard let probe = services[s].probe else { return }
        let next = Self.nextProbeDelay(services[s].containers[c].probeDelay, interval: probe.interval)
        services[s].containers[c].probeDelay = next
        scheduleProbe(s, c, after: max(next, probePacing))
    }

    /// The engine failed to run a probe: no verdict on the service either way. Asked again at the cadence a failed
    /// check gets (the engine's own verdicts and the deadline still decide); said once per run of faults, and kept
    /// for the diagnosis, so a deadline the engine caused is not read as a slow service.
    private mutating func engineFault(_ s: Int, _ c: Int, _ message: String) {
        services[s].containers[c].engineFaults += 1
        services[s].containers[c].lastEngineFault = message
        if services[s].containers[c].engineFaults == 1 { emit(s, "the engine did not run its check: \(message)") }
        probeAgain(s, c)
    }

    /// The shortest delay that keeps all probes together within `probesPerSecond`: one service probed alone keeps
    /// its fast cadence, forty starting at once are probed about every 2.5 s each (the engine's own checks decide
    /// meanwhile), so a start storm is not made worse by execs.
    var probePacing: Duration {
        Self.spacing(
            startingContainers { service, container in
                service.probe != nil && !container.ready && !container.probeUnavailable
            }, perSecond: Double(Self.probesPerSecond))
    }

    /// Running containers of starting services that `include` counts: what launch reads from the engine right now.
    private func startingContainers(_ include: (ServiceRun, ContainerRun) -> Bool = { _, _ in true }) -> Int {
        services.reduce(0) { total, service in
            service.state == .starting ? total + service.containers.filter { $0.running && include(service, $0) }.count : total
        }
    }

    /// The delay between one container's reads that keeps `count` containers' reads within `perSecond`.
    private static func spacing(_ count: Int, perSecond: Double) -> Duration {
        .milliseconds(Int64((Double(count) * 1000 / max(perSecond, 0.001)).rounded(.down)))
    }

    /// 1.5× the last delay, up to half the declared interval: with the engine's own probes every interval, a
    /// passing check is then seen about a third of an interval after it starts to pass, at twice the engine's cost
    /// at most (and `probePacing` bounds the total).
    static func nextProbeDelay(_ current: Duration, interval: Duration) -> Duration {
        let cap = max(interval / 2, firstProbe)
        let grown = current.seconds * probeGrowth
        guard grown.isFinite else { return cap }
        return min(.milliseconds(Int64(min(grown, 86_400) * 1000)), cap)
    }

    // MARK: Resource evidence

    /// A started container's CPU and memory figures are read every `sampleInterval` while its service starts: a
    /// slow or failed start is then explained by what the container got, not only by what it printed.
    private mutating func startSampling(_ s: Int, _ c: Int) {
        guard services[s].state == .starting else { return }
        let container = services[s].containers[c]
        actions.append(
            .sample(service: services[s].name, container: container.id, startSequence: container.startSequence, after: sampleDelay))
    }

    /// `sampleInterval`, stretched so that all containers being sampled together stay within `samplesPerSecond`,
    /// fewer while the engine is slow to spawn probes (a stats read is engine work too).
    var sampleDelay: Duration {
        max(Self.sampleInterval, Self.spacing(startingContainers(), perSecond: Double(Self.samplesPerSecond) * execLoad.readShare))
    }

    private mutating func sampled(_ s: Int, _ c: Int, sequence: Int, sample: ResourceSample?) {
        let container = services[s].containers[c]
        // A reading of an earlier start still counts (the counters cover the container's life); the next one
        // is asked for only while this start of it is still starting.
        if let sample { services[s].containers[c].resources.record(sample) }
        guard sample != nil, services[s].state == .starting, container.running, container.startSequence == sequence else { return }
        actions.append(.sample(service: services[s].name, container: container.id, startSequence: sequence, after: sampleDelay))
    }

    // MARK: Timers

    private mutating func scheduleStability(_ s: Int, _ c: Int, after window: Duration) {
        let container = services[s].containers[c]
        schedule(s, .stability(container: container.id, sequence: container.startSequence), after: window)
    }

    private mutating func schedule(_ s: Int, _ kind: TimerKind, after delay: Duration) {
        actions.append(.schedule(service: services[s].name, kind: kind, generation: services[s].generation, after: delay))
    }

    // MARK: The event stream and the safety net

    /// A lost stream must not leave services waiting for events that never come: subscribe again from the
    /// last event seen, with backoff (the engine replays what was missed; `seen` drops what was handled), and
    /// inspect every container that matters now, so a change during the gap is seen even if the engine's
    /// replay is incomplete.
    private mutating func streamLost(_ error: String) {
        streamLosses += 1
        streamReconnects += 1
        guard streamLosses <= Self.maxStreamLosses else {
            // From here on the periodic inspects are the only signal.
            eventStreamError = error
            return
        }
        let delay = Backoff.reconnect.delay(attempt: streamLosses)
        actions.append(.resubscribe(sinceNanoseconds: lastEventTime, after: delay))
        inspect { $0.state == .starting || $0.state == .ready }
    }

    private mutating func inspect(where include: (ServiceRun) -> Bool) {
        for service in services where include(service) {
            for container in service.containers {
                actions.append(.inspect(service: service.name, container: container.id, startSequence: container.startSequence))
            }
        }
    }

    private mutating func reconcile(_ s: Int, _ details: ContainerDetails, sequence: Int) {
        guard services[s].state == .starting || services[s].state == .ready,
            let c = services[s].containers.firstIndex(where: { $0.id == details.id }),
            services[s].containers[c].startSequence == sequence  // an answer from before a later start is stale
        else { return }
        let container = services[s].containers[c]
        let isRunning = details.state.running && !details.state.restarting
        if !container.running && isRunning && services[s].state == .starting {
            // Started while the stream was away: count it as the missing start event.
            containerStarted(s, c, engineTime: EngineTime.nanoseconds(details.state.startedAt))
        }
        // An exit seen while our start is still on its way is the previous run's, not this one's.
        if (container.running || services[s].isJob) && !container.awaitingStart && !details.state.running && !details.state.restarting
            && details.state.status != "created"
        {
            if details.state.oomKilled {
                services[s].containers[c].oomKilled = true
                services[s].containers[c].resources.oomKilled = true
            }
            services[s].containers[c].running = true  // so `died` judges it
            if services[s].containers[c].engineStartedNanoseconds == nil {
                services[s].containers[c].engineStartedNanoseconds = EngineTime.nanoseconds(details.state.startedAt)
            }
            died(s, c, code: details.state.exitCode, engineTime: EngineTime.nanoseconds(details.state.finishedAt))
        } else if details.state.running, services[s].state == .starting, !services[s].isJob {
            if services[s].containers[c].stabilityDue && !details.state.restarting {
                services[s].containers[c].stabilityDue = false
                // Only the run the window was for: one the engine restarted meanwhile (its `die` and `start` still on
                // their way) starts its own window when its start is seen.
                let run = EngineTime.nanoseconds(details.state.startedAt)
                if let known = services[s].containers[c].engineStartedNanoseconds, let run, run > known { return }
                containerReady(s, c, evidence: "stable")
                return
            }
            switch details.state.health?.status {
            case "healthy" where services[s].rule.signal == nil: containerReady(s, c, evidence: "healthcheck")
            case "unhealthy": attemptFailed(s, .unhealthy)
            default: break
            }
        }
    }
}
