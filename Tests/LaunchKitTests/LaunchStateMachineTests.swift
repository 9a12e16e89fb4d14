import Foundation
import Testing

@testable import LaunchKit

/// Replays event sequences recorded from real engines (Fixtures/engine-events, see its README) through the
/// launch state machine, with a simulated clock: timers fire at their due time, between the recorded events.
struct Replay {
    var machine: LaunchStateMachine
    /// Every action the machine asked for, in order.
    var actions: [LaunchStateMachine.Action] = []
    var now: Double = 0
    private var timers: [(due: Double, input: LaunchStateMachine.Input)] = []
    /// Answer the machine's inspects as the engine would (5 ms later, from the events fed so far); tests that
    /// hand-feed an inspect's answer turn this off.
    var answersInspects = true
    private var engine = SimulatedEngine()
    /// Where the engine's own timeline is known (events that happened, whenever launch is told of them, and the
    /// engine time of launch's 0), inspects are answered from it rather than from what was fed.
    var engineTimeline: (events: [EngineEvent], zero: Int64)?
    private var inspectTemplates: [String: [String: Any]] = [:]

    static let engines = ["docker-20.10", "docker-26.1-api1.44"]

    static func folder(_ engine: String, _ scenario: String) -> String {
        Fixture.path("engine-events/\(engine)/\(scenario)")
    }

    /// The scenario's compose file and the containers Compose created, as the launcher would see them.
    init(
        engine: String, scenario: String, policy: Profile.HealthPolicy = Replay.policy(), classes: [String: ServiceClass] = [:],
        dropContainersOf dropped: Set<String> = [], labels: [String: [String: String]] = [:], containers: String = "created",
        history: ReadinessHistory = .empty
    ) throws {
        let folder = Self.folder(engine, scenario)
        var stack = try ComposeModelReader.read(files: [folder + "/compose.yml"], lookup: { _ in nil })
        // Labels added to the recorded compose file (launch.* settings the recording did not need).
        for index in stack.services.indices {
            stack.services[index].labels.merge(labels[stack.services[index].name] ?? [:]) { _, added in added }
        }
        let graph = try DependencyGraph(stack)
        // `created`: as Compose left them; `final`: as the recording ended (a relaunch finds them running).
        let createdData = try Data(contentsOf: URL(fileURLWithPath: folder + "/\(containers).json"))
        let created = try JSONDecoder().decode([ContainerDetails].self, from: createdData)
        for object in try #require(try JSONSerialization.jsonObject(with: createdData) as? [[String: Any]]) {
            if let id = object["Id"] as? String { inspectTemplates[id] = object }
        }
        var byService: [String: [ContainerDetails]] = [:]
        for details in created {
            guard let service = details.config.labels["com.docker.compose.service"], !dropped.contains(service) else { continue }
            byService[service, default: []].append(details)
        }
        let services = Orchestrator.services(
            stack: stack, graph: graph, policy: policy, classOf: { classes[$0] ?? .core }, containers: byService, history: history)
        machine = LaunchStateMachine(services: services, policy: policy, endpoint: "unix:///test.sock (default)")
    }

    static func policy(retries: Int = 0, backoff: Duration = .milliseconds(500), stability: Duration = .seconds(1)) -> Profile.HealthPolicy
    {
        var policy = Profile.HealthPolicy.defaults
        policy.retries = retries
        policy.backoff = backoff
        policy.stability = stability
        return policy
    }

    static func events(_ engine: String, _ scenario: String) throws -> [EngineEvent] {
        let text = try String(contentsOfFile: folder(engine, scenario) + "/events.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(EngineEvent.self, from: Data($0.utf8)) }
    }

    static func finalState(_ engine: String, _ scenario: String) throws -> [ContainerDetails] {
        try JSONDecoder().decode(
            [ContainerDetails].self, from: Data(contentsOf: URL(fileURLWithPath: folder(engine, scenario) + "/final.json")))
    }

    mutating func begin() {
        record(machine.begin(now: 0, wallClock: Date()))
    }

    /// Feeds `input` at time `at`, firing every timer due before it first.
    mutating func feed(_ input: LaunchStateMachine.Input, at time: Double? = nil) {
        let time = time ?? now
        fireTimers(until: time)
        now = max(now, time)
        if case .event(let event) = input { engine.saw(event) }
        guard !machine.isFinished else { return }
        record(machine.handle(input, now: now))
    }

    /// Replays recorded events with their own spacing, starting at `offset` seconds.
    mutating func play(_ events: [EngineEvent], offset: Double = 0.05) {
        guard let first = events.first?.timeNano else { return }
        for event in events {
            feed(.event(event), at: offset + Double(event.timeNano - first) / 1e9)
        }
    }

    /// Lets simulated time run on until nothing is scheduled or the launch is decided.
    mutating func settle(limit: Double = 3600) {
        fireTimers(until: limit)
    }

    private mutating func fireTimers(until time: Double) {
        while !machine.isFinished, let next = timers.indices.min(by: { timers[$0].due < timers[$1].due }), timers[next].due <= time {
            let timer = timers.remove(at: next)
            now = max(now, timer.due)
            record(machine.handle(timer.input, now: now))
        }
    }

    private mutating func record(_ new: [LaunchStateMachine.Action]) {
        for action in new {
            actions.append(action)
            if case .schedule(let service, let kind, let generation, let after) = action {
                timers.append((now + after.seconds, .timer(service: service, kind: kind, generation: generation)))
            }
            if answersInspects, case .inspect(let service, let container, let sequence) = action,
                let details = engineNow.inspect(container, template: inspectTemplates[container])
            {
                timers.append((now + 0.005, .inspected(service: service, details: details, startSequence: sequence)))
            }
        }
    }

    /// The engine as it stands at `now` (answered 5 ms later).
    private var engineNow: SimulatedEngine {
        guard let (events, zero) = engineTimeline else { return engine }
        var known = SimulatedEngine()
        for event in events where Double(event.timeNano - zero) / 1e9 <= now + 0.005 { known.saw(event) }
        return known
    }

    func service(_ name: String) -> ServiceRun? { machine.services.first { $0.name == name } }

    /// Services in the order the machine asked the engine to start them.
    var started: [String] {
        actions.compactMap { if case .start(let service, _) = $0 { service } else { nil } }
    }

    func startIndex(_ service: String) -> Int? {
        actions.firstIndex { if case .start(service, _) = $0 { true } else { false } }
    }

    func progressIndex(_ service: String, _ state: ServiceState) -> Int? {
        actions.firstIndex { if case .progress(let update) = $0 { update.service == service && update.state == state } else { false } }
    }
}

/// What the engine would answer to an inspect, from the events a replay has fed: running since the last
/// `start`, exited (with code, OOM and finish time) since the last `die`, health from the last verdict.
struct SimulatedEngine {
    struct Container {
        var running = false
        var startedAt: Int64 = 0
        var finishedAt: Int64 = 0
        var exitCode = 0
        var oomKilled = false
        var health: String?
    }
    var containers: [String: Container] = [:]

    mutating func saw(_ event: EngineEvent) {
        guard let id = event.containerID else { return }
        var container = containers[id] ?? Container()
        switch event.action {
        case "start":
            container.running = true
            container.startedAt = event.timeNano
            container.oomKilled = false
            container.health = container.health == nil ? nil : "starting"
        case "die":
            container.running = false
            container.finishedAt = event.timeNano
            container.exitCode = event.exitCode ?? -1
        case "oom": container.oomKilled = true
        default: if let health = event.healthStatus { container.health = health }
        }
        containers[id] = container
    }

    /// The recorded inspect document of the container with its `State` as the events say.
    func inspect(_ id: String, template: [String: Any]?) -> ContainerDetails? {
        guard var object = template, let container = containers[id], var state = object["State"] as? [String: Any] else { return nil }
        state["Status"] = container.running ? "running" : "exited"
        state["Running"] = container.running
        state["Restarting"] = false
        state["ExitCode"] = container.running ? 0 : container.exitCode
        state["OOMKilled"] = container.oomKilled
        state["StartedAt"] = Self.text(container.startedAt)
        state["FinishedAt"] = container.running ? "0001-01-01T00:00:00Z" : Self.text(container.finishedAt)
        if let health = container.health { state["Health"] = ["Status": health, "FailingStreak": 0, "Log": [Any]()] }
        object["State"] = state
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return nil }
        return try? JSONDecoder().decode(ContainerDetails.self, from: data)
    }

    /// Unix nanoseconds as the engine writes times: RFC 3339 with nine fraction digits.
    static func text(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let whole = formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds / 1_000_000_000)))
        return whole.replacingOccurrences(of: "Z", with: String(format: ".%09dZ", Int(nanoseconds % 1_000_000_000)))
    }
}

@Suite("Launch state machine: recorded engine sequences")
struct LaunchStateMachineReplayTests {
    @Test(arguments: Replay.engines)
    func aHealthyChainStartsEachServiceWhenItsDependencyHolds(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        #expect(replay.started == ["db"])
        replay.play(try Replay.events(engine, "healthy-chain"))
        replay.settle()
        #expect(replay.machine.isFinished)
        #expect(replay.machine.services.allSatisfy { $0.state == .ready })
        #expect(replay.started == ["db", "api", "web"])
        // api waits for db's healthy event; web (service_started) goes at api's start event, not at api healthy.
        let apiStart = try #require(replay.startIndex("api")), webStart = try #require(replay.startIndex("web"))
        #expect(try #require(replay.progressIndex("db", .ready)) < apiStart)
        #expect(webStart < (try #require(replay.progressIndex("api", .ready))))
        #expect(replay.service("db")?.readiness == "healthcheck")
        #expect(replay.service("web")?.readiness == "stable")
    }

    @Test(arguments: Replay.engines)
    func anUnhealthyCoreServiceFailsWithoutRetryBudget(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "unhealthy")
        replay.begin()
        replay.play(try Replay.events(engine, "unhealthy"))
        #expect(replay.service("app")?.state == .failed)
        #expect(replay.service("app")?.failure == .unhealthy)
        #expect(replay.machine.coreFailed)
    }

    @Test(arguments: Replay.engines)
    func anUnhealthyServiceIsRetriedWhenRetriesAreLeft(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "unhealthy", policy: Replay.policy(retries: 1))
        replay.begin()
        replay.play(try Replay.events(engine, "unhealthy"))
        #expect(replay.service("app")?.state == .retrying)
        // The retry restarts the running container after the backoff.
        replay.settle(limit: replay.now + 1)
        #expect(replay.actions.contains { if case .restart("app", _) = $0 { true } else { false } })
    }

    @Test(arguments: Replay.engines)
    func anExitIsAFailureWithItsCode(engine: String) throws {
        // It exits ~1 s after starting: a stability window longer than that keeps it from counting as ready first.
        var replay = try Replay(engine: engine, scenario: "die-exit-1", policy: Replay.policy(stability: .seconds(3)))
        replay.begin()
        replay.play(try Replay.events(engine, "die-exit-1"))
        #expect(replay.service("app")?.failure == .exited(code: 1))
        #expect(replay.service("app")?.failure?.classification == "transient")
    }

    @Test(arguments: Replay.engines)
    func anOOMKillIsDeterministicAndNeverRetried(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "oom", policy: Replay.policy(retries: 3))
        replay.begin()
        replay.play(try Replay.events(engine, "oom"))
        #expect(replay.service("hog")?.state == .failed)
        #expect(replay.service("hog")?.failure == .oomKilled)
        #expect(replay.service("hog")?.retries == 0)
        #expect(replay.service("hog")?.failure?.classification == "configuration")
    }

    @Test(arguments: Replay.engines)
    func aRestartLoopFailsAndIsStopped(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "restart-loop", policy: Replay.policy(retries: 2))
        replay.begin()
        replay.play(try Replay.events(engine, "restart-loop"))
        guard case .restartLoop(let restarts, let seconds)? = replay.service("flaky")?.failure else {
            Issue.record("not a restart loop: \(String(describing: replay.service("flaky")?.failure))")
            return
        }
        #expect(restarts == LaunchStateMachine.restartLoopLimit)
        // Named with its span on the engine's clock: three exits 0.5 s into runs the engine restarted with back-off.
        #expect((seconds ?? 0) > 0.5 && (seconds ?? 99) < 10)
        // The engine would keep restarting it: launch stops it.
        #expect(replay.actions.contains { if case .stop("flaky", _) = $0 { true } else { false } })
    }

    @Test(arguments: Replay.engines)
    func aJobIsReadyAtExitZeroAndReleasesItsDependent(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "job-then-service")
        replay.begin()
        #expect(replay.started == ["migrate"])
        replay.play(try Replay.events(engine, "job-then-service"))
        replay.settle()
        #expect(replay.service("migrate")?.readiness == "exit 0")
        #expect(replay.service("api")?.state == .ready)
        #expect(replay.started == ["migrate", "api"])
    }

    @Test(arguments: Replay.engines)
    func probesFailingInsideTheStartPeriodAreStillStarting(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "start-period")
        replay.begin()
        replay.play(try Replay.events(engine, "start-period"))
        #expect(replay.service("slow")?.state == .ready)
        #expect(replay.service("slow")?.readiness == "healthcheck")
    }

    @Test(arguments: Replay.engines)
    func duplicateEventsFromAReplayAreHandledOnce(engine: String) throws {
        let events = try Replay.events(engine, "restart-loop")
        var once = try Replay(engine: engine, scenario: "restart-loop", policy: Replay.policy(retries: 5))
        once.begin()
        once.play(events)
        var twice = try Replay(engine: engine, scenario: "restart-loop", policy: Replay.policy(retries: 5))
        twice.begin()
        // The stream drops after every event and the engine replays from the last one seen, twice over.
        for event in events {
            twice.feed(.event(event))
            twice.feed(.eventsLost("connection reset"))
            twice.feed(.event(event))
        }
        #expect(twice.service("flaky")?.containers.first?.crashes == once.service("flaky")?.containers.first?.crashes)
        #expect(twice.service("flaky")?.state == once.service("flaky")?.state)
    }

    @Test(arguments: Replay.engines)
    func aStateChangeDuringAStreamGapIsSeenByReconciling(engine: String) throws {
        // The stream is lost right after db starts; db turns healthy during the gap and the replay is lost too.
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.answersInspects = false
        replay.begin()
        let events = try Replay.events(engine, "healthy-chain")
        replay.feed(.event(events[0]), at: 0.1)
        replay.feed(.eventsLost("EOF"), at: 0.2)
        let resubscribe = replay.actions.last { if case .resubscribe = $0 { true } else { false } }
        #expect(resubscribe == .resubscribe(sinceNanoseconds: events[0].timeNano, after: .milliseconds(100)))
        // The reconnect inspects every container that matters now, and the answer shows db healthy.
        let inspect = try #require(replay.actions.last { if case .inspect("db", _, _) = $0 { true } else { false } })
        guard case .inspect(_, let container, let sequence) = inspect else { return }
        let db = try #require(try Replay.finalState(engine, "healthy-chain").first { $0.id == container })
        replay.feed(.inspected(service: "db", details: db, startSequence: sequence), at: 3)
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.started == ["db", "api"])
    }

    @Test(arguments: Replay.engines)
    func aContainerDeathDuringTheGapIsSeenByReconciling(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "die-exit-1", policy: Replay.policy(stability: .seconds(3)))
        replay.answersInspects = false
        replay.begin()
        let events = try Replay.events(engine, "die-exit-1")
        replay.feed(.event(events[0]), at: 0.1)
        replay.feed(.eventsLost(nil), at: 0.2)
        let inspect = try #require(replay.actions.last { if case .inspect("app", _, _) = $0 { true } else { false } })
        guard case .inspect(_, _, let sequence) = inspect else { return }
        let app = try #require(try Replay.finalState(engine, "die-exit-1").first)
        replay.feed(.inspected(service: "app", details: app, startSequence: sequence), at: 2)
        #expect(replay.service("app")?.failure == .exited(code: 1))
    }
}

@Suite("Launch state machine: decisions")
struct LaunchStateMachineDecisionTests {
    let engine = "docker-20.10"

    @Test func nothingNewStartsOnceACoreServiceFailed() throws {
        // healthy-chain, but db dies instead of turning healthy; api and web must never be started.
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        let db = try #require(replay.service("db")?.containers.first?.id)
        replay.feed(.startFailed(service: "db", .rejected("port is already allocated")), at: 0.1)
        #expect(replay.machine.isFinished)
        #expect(replay.started == ["db"])
        #expect(replay.service("api")?.state == .blocked(by: "db"))
        _ = db
    }

    @Test func aRetryDoesNotBeginAfterTheRunIsLost() throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", policy: Replay.policy(retries: 2), classes: ["web": .optional])
        replay.begin()
        replay.play(Array(try Replay.events(engine, "healthy-chain").prefix(3)))  // db healthy, api started
        // A timed-out start of api is transient: a retry is scheduled...
        replay.feed(.startFailed(service: "api", .noAnswer("timed out")))
        #expect(replay.service("api")?.state == .retrying)
        // ...but db (core) dies for good (126: not executable, deterministic) before it fires: no new attempt
        // starts, and api ends failed.
        let dbContainer = try #require(replay.service("db")?.containers.first?.id)
        let die = try JSONDecoder().decode(
            EngineEvent.self,
            from: Data(
                #"{"Type":"container","Action":"die","Actor":{"ID":"\#(dbContainer)","Attributes":{"exitCode":"126"}},"time":1,"timeNano":9000000000000000000}"#
                    .utf8))
        replay.feed(.event(die))
        replay.settle()
        #expect(replay.machine.coreFailed)
        #expect(!replay.actions.contains { if case .restart("api", _) = $0 { true } else { false } })
        #expect(replay.service("api")?.state == .failed)
    }

    @Test func theDeadlineStartsWithTheContainerNotTheRequest() throws {
        var replay = try Replay(engine: engine, scenario: "start-period")
        replay.begin()
        // No deadline yet: the engine has not started anything.
        #expect(!replay.actions.contains { if case .schedule(_, .deadline, _, _) = $0 { true } else { false } })
        replay.feed(.startAnswered(service: "slow", seconds: 4.0), at: 4.0)
        let deadline = replay.actions.compactMap { action -> Duration? in
            if case .schedule("slow", .deadline, _, let after) = action { after } else { nil }
        }
        #expect(deadline.count == 1)
        // The same start reported again (its event) does not arm a second deadline.
        let start = try #require(try Replay.events(engine, "start-period").first)
        replay.feed(.event(start), at: 4.01)
        #expect(replay.actions.filter { if case .schedule(_, .deadline, _, _) = $0 { true } else { false } }.count == 1)
    }

    @Test func aServiceWithoutContainersFailsNamingTheEndpoint() throws {
        var replay = try Replay(engine: engine, scenario: "die-exit-1", dropContainersOf: ["app"])
        replay.begin()
        #expect(replay.service("app")?.state == .failed)
        #expect(replay.service("app")?.failure == .noContainers(endpoint: "unix:///test.sock (default)"))
        #expect(replay.machine.isFinished)
    }

    @Test func failureClassesMatchTheREADME() {
        #expect(FailureKind.deadline(.seconds(5)).isDeterministic && FailureKind.deadline(.seconds(5)).classification == "configuration")
        #expect(FailureKind.exited(code: 0).isDeterministic)
        for code in [125, 126, 127] { #expect(FailureKind.exited(code: code).isDeterministic) }
        #expect(FailureKind.oomKilled.isDeterministic)
        #expect(!FailureKind.exited(code: 1).isDeterministic && FailureKind.exited(code: 1).classification == "transient")
        #expect(!FailureKind.unhealthy.isDeterministic)
        #expect(!FailureKind.startTimedOut("x").isDeterministic)
    }

    @Test func theStreamIsResumedWithBackoffThenLeftToTheSafetyNet() throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        for _ in 0..<LaunchStateMachine.maxStreamLosses + 1 { replay.feed(.eventsLost("refused")) }
        let delays = replay.actions.compactMap { action -> Duration? in
            if case .resubscribe(_, let after) = action { after } else { nil }
        }
        #expect(delays.count == LaunchStateMachine.maxStreamLosses)
        #expect(delays == delays.sorted() && delays.first == .milliseconds(100) && (delays.last ?? .zero) <= .seconds(5))
        #expect(replay.machine.eventStreamError == "refused")
    }

    @Test func backoffIsCappedAndNeverTraps() {
        #expect(Backoff.retry(.milliseconds(500)).delay(attempt: 1) == .milliseconds(500))
        #expect(Backoff.retry(.milliseconds(500)).delay(attempt: 3) == .seconds(2))
        #expect(Backoff.retry(.seconds(1_000_000_000)).delay(attempt: 60) == .seconds(60))
        // The reconnect rule the event stream and the log follow share: 100 ms doubling, at most 5 s.
        #expect((1...8).map { Backoff.reconnect.delay(attempt: $0) }.map(\.seconds) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5])
        #expect(Backoff.reconnect.delay(attempt: Int.max) == .seconds(5))
        #expect(Backoff.retry(.zero).delay(attempt: 3) == .zero)
    }

    @Test(arguments: Replay.engines)
    func aProbeThatPassesMakesTheServiceReadyBeforeTheEnginesFirstVerdict(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        let events = try Replay.events(engine, "healthy-chain")
        replay.feed(.event(events[0]), at: 0.05)  // db started
        // The first probe is asked for 100 ms after the start, with db's own check and timeout.
        let probe = try #require(replay.actions.last { if case .probe("db", _, _, _, _, _) = $0 { true } else { false } })
        guard case .probe(_, let container, let sequence, let command, let timeout, let after) = probe else { return }
        #expect(command == ["test", "-f", "/tmp/ready"] && timeout == .seconds(1) && after == .milliseconds(100))
        // It fails once (db still starting): the next one is further out, never beyond the interval.
        replay.feed(.probed(service: "db", container: container, startSequence: sequence, outcome: .failed(exitCode: 1)), at: 0.2)
        let next = replay.actions.compactMap { action -> Duration? in
            if case .probe("db", _, _, _, _, let delay) = action { delay } else { nil }
        }
        #expect(next == [.milliseconds(100), .milliseconds(150)])
        // Then it passes, long before the engine would report healthy: db is ready and api starts.
        replay.feed(.probed(service: "db", container: container, startSequence: sequence, outcome: .passed), at: 0.4)
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.service("db")?.readiness == "probe")
        #expect(replay.started == ["db", "api"])
        // The engine's own healthy event later changes nothing.
        replay.feed(.event(events[1]), at: 2.1)
        #expect(replay.started == ["db", "api"])
    }

    /// A start storm is not made worse by launch's own reads: probes (16 a second) and stats reads (8 a second) are
    /// shared by every starting container, so one service keeps its fast cadence and forty are read seldom.
    @Test func probesAndStatsArePacedAcrossEveryStartingService() throws {
        var machine = try Replay(engine: "docker-20.10", scenario: "healthy-chain").machine
        let template = try #require(machine.services.first { $0.probe != nil })
        func starting(_ count: Int) -> [ServiceRun] {
            (0..<count).map { index in
                var service = template
                service.name = "s\(index)"
                service.state = .starting
                service.containers = service.containers.map { container in
                    var container = container
                    container.running = true
                    return container
                }
                return service
            }
        }
        machine.services = starting(1)
        #expect(machine.probePacing == .milliseconds(62) && machine.sampleDelay == LaunchStateMachine.sampleInterval)
        machine.services = starting(40)
        #expect(machine.probePacing == .milliseconds(2500) && machine.sampleDelay == .seconds(5))
        // A container already ready, or whose check cannot run, is not probed and does not count.
        machine.services[0].containers[0].ready = true
        machine.services[1].containers[0].probeUnavailable = true
        #expect(machine.probePacing == .milliseconds(2375))
        // Paced 2.4 s out (at 3.375), the probe would come just before the engine's own check at 3.5 (1 s interval,
        // counted from the start at 0.5): it goes just after that check instead, well ahead of the next one.
        func afterAFailedProbe(_ machine: inout LaunchStateMachine, spawn: Double? = nil) -> [Duration] {
            let container = machine.services[2].containers[0]
            return machine.handle(
                .probed(
                    service: machine.services[2].name, container: container.id, startSequence: container.startSequence,
                    outcome: .failed(exitCode: 1), spawnSeconds: spawn),
                now: 1
            ).compactMap { if case .probe(_, _, _, _, _, let after) = $0 { after } else { nil } }
        }
        for s in machine.services.indices { machine.services[s].containers[0].startedAt = 0.5 }
        #expect(afterAFailedProbe(&machine) == [.milliseconds(2550)])
        // Once the engine takes over a second to spawn an exec, no probe can answer before its own next check:
        // none is scheduled, the engine decides. Stats reads thin out too.
        #expect(afterAFailedProbe(&machine, spawn: 1.2).isEmpty)
        #expect(machine.sampleDelay == .seconds(24))
    }

    /// The engine's own schedule of a check (its interval, or its start_interval during the start period where the
    /// engine keeps one) and the engine's current spawn time decide whether a probe of launch's can still win.
    @Test func aProbeIsWorthItOnlyAheadOfTheEnginesOwnNextCheck() {
        let everySecond = ServiceRun.ProbeSpec(command: ["true"], timeout: .seconds(1), interval: .seconds(1))
        #expect(everySecond.engineNextCheck(after: 0.3, startedAt: 0) == (at: 1.0, period: 1.0))
        #expect(everySecond.engineNextCheck(after: 2.5, startedAt: 0.5) == (at: 3.5, period: 1.0))
        #expect(everySecond.worthProbing(at: 0.3, spawnSeconds: 0.05, startedAt: 0))
        #expect(!everySecond.worthProbing(at: 0.8, spawnSeconds: 0.05, startedAt: 0))
        #expect(!everySecond.worthProbing(at: 0.05, spawnSeconds: 1.2, startedAt: 0))
        let everyFive = ServiceRun.ProbeSpec(command: ["true"], timeout: .seconds(1), interval: .seconds(5))
        #expect(everyFive.worthProbing(at: 0.5, spawnSeconds: 1.2, startedAt: 0))
        let fastStart = ServiceRun.ProbeSpec(
            command: ["true"], timeout: .seconds(1), interval: .seconds(10), startPeriod: .seconds(10), startInterval: .milliseconds(250))
        #expect(fastStart.engineNextCheck(after: 0.3, startedAt: 0) == (at: 0.5, period: 0.25))
        #expect(fastStart.engineNextCheck(after: 10.2, startedAt: 0) == (at: 20, period: 10))
        #expect(!fastStart.worthProbing(at: 0.3, spawnSeconds: 0.2, startedAt: 0))
    }

    @Test func execLoadIsAMovingAverageOfSpawnTimes() {
        var load = ExecLoad()
        #expect(load.spawnSeconds == 0 && load.readShare == 1)
        load.record(spawnSeconds: 0.06)
        #expect(load.spawnSeconds == 0.06 && load.readShare == 1)
        for _ in 0..<6 { load.record(spawnSeconds: 2) }
        #expect(load.spawnSeconds > 1.5 && load.spawnSeconds < 2)
        #expect(load.readShare < 0.17)
        load.record(spawnSeconds: .nan)
        load.record(spawnSeconds: -1)
        #expect(load.spawnSeconds > 1.5 && load.spawnSeconds < 2)
    }

    /// Recorded on Docker 26.1: a 10 s interval with `start_interval: 250ms`. The engine checks every 250 ms during
    /// the start period itself; once a spawn takes 0.2 s no probe of launch's can beat that, so launch leaves it to
    /// the engine and the recorded healthy event decides.
    @Test func anEngineCheckingEveryQuarterSecondIsLeftToItsOwnChecks() throws {
        var replay = try Replay(engine: "docker-26.1-api1.44", scenario: "start-interval")
        #expect(replay.machine.services[0].probe?.startInterval == .milliseconds(250))
        replay.begin()
        let events = try Replay.events("docker-26.1-api1.44", "start-interval")
        replay.feed(.event(events[0]), at: 0.05)
        let probe = try #require(replay.actions.last { if case .probe = $0 { true } else { false } })
        guard case .probe(_, let container, let sequence, _, _, let after) = probe else { return }
        #expect(after == .milliseconds(100))
        let before = replay.actions.count
        replay.feed(
            .probed(service: "quick", container: container, startSequence: sequence, outcome: .failed(exitCode: 1), spawnSeconds: 0.2),
            at: 0.35)
        #expect(!replay.actions[before...].contains { if case .probe = $0 { true } else { false } })
        replay.play(Array(events.dropFirst()), offset: 1.3)
        #expect(replay.service("quick")?.state == .ready && replay.service("quick")?.readiness == "healthcheck")
    }

    @Test func probeCadenceGrowsToHalfTheIntervalAndNoFurther() {
        var delay = LaunchStateMachine.firstProbe
        var seen: [Duration] = []
        for _ in 0..<12 {
            delay = LaunchStateMachine.nextProbeDelay(delay, interval: .seconds(5))
            seen.append(delay)
        }
        #expect(seen == seen.sorted() && seen.last == .milliseconds(2500))
        #expect(LaunchStateMachine.nextProbeDelay(.milliseconds(150), interval: .milliseconds(250)) == .milliseconds(125))
        #expect(LaunchStateMachine.nextProbeDelay(.seconds(1), interval: .milliseconds(10)) == LaunchStateMachine.firstProbe)
    }

    @Test(arguments: Replay.engines)
    func aCheckThatCannotRunLeavesTheVerdictToTheEngine(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "unhealthy")
        replay.begin()
        let events = try Replay.events(engine, "unhealthy")
        replay.feed(.event(events[0]), at: 0.05)
        let probe = try #require(replay.actions.last { if case .probe = $0 { true } else { false } })
        guard case .probe(_, let container, let sequence, _, _, _) = probe else { return }
        let before = replay.actions.count
        replay.feed(.probed(service: "app", container: container, startSequence: sequence, outcome: .unavailable("exit 127")), at: 0.2)
        #expect(!replay.actions[before...].contains { if case .probe = $0 { true } else { false } })
        replay.play(Array(events.dropFirst()), offset: 0.3)
        #expect(replay.service("app")?.failure == .unhealthy)
    }

    @Test(arguments: Replay.engines)
    func aProbeAnswerFromAnEarlierStartIsIgnored(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        let events = try Replay.events(engine, "healthy-chain")
        replay.feed(.event(events[0]), at: 0.05)
        let db = try #require(replay.service("db")?.containers.first?.id)
        replay.feed(.probed(service: "db", container: db, startSequence: 0, outcome: .passed), at: 0.2)
        #expect(replay.service("db")?.state == .starting)
    }

    @Test(arguments: Replay.engines)
    func aDieFromBeforeOurStartIsNotAVerdictOnIt(engine: String) throws {
        // A relaunch or `launch restart` stops a container a moment before starting it again; the engine may
        // deliver that `die` after our start request. It must not fail the new start.
        var replay = try Replay(engine: engine, scenario: "die-exit-1", policy: Replay.policy(stability: .seconds(3)))
        replay.begin()
        let app = try #require(replay.service("app")?.containers.first?.id)
        let late = try JSONDecoder().decode(
            EngineEvent.self,
            from: Data(
                #"{"Type":"container","Action":"die","Actor":{"ID":"\#(app)","Attributes":{"exitCode":"0"}},"time":1,"timeNano":1000000000}"#
                    .utf8))
        replay.feed(.event(late), at: 0.01)
        #expect(replay.service("app")?.state == .starting)
        replay.play(try Replay.events(engine, "die-exit-1"), offset: 0.05)
        #expect(replay.service("app")?.failure == .exited(code: 1))
    }

    @Test(arguments: Replay.engines)
    func aJobsPreviousExitSeenBeforeItsStartIsNotItsVerdict(engine: String) throws {
        // A relaunch starts an unchanged job whose container still shows the previous run's exit: an inspect
        // answered before the new start must not decide the job.
        var replay = try Replay(engine: engine, scenario: "job-then-service")
        replay.begin()
        let previous = try #require(
            try Replay.finalState(engine, "job-then-service").first { $0.config.labels["com.docker.compose.service"] == "migrate" })
        replay.feed(.inspected(service: "migrate", details: previous, startSequence: 0), at: 0.05)
        #expect(replay.service("migrate")?.state == .starting)
        #expect(replay.started == ["migrate"])
    }

    @Test(arguments: Replay.engines)
    func anOOMEventAfterTheDieStillMakesItAnOOMKill(engine: String) throws {
        // The engine can deliver `oom` after `die`: a 137 is checked before it is judged.
        var replay = try Replay(engine: engine, scenario: "oom", policy: Replay.policy(retries: 3, stability: .seconds(5)))
        replay.answersInspects = false
        replay.begin()
        let events = try Replay.events(engine, "oom")
        let start = try #require(events.first { $0.action == "start" })
        let oom = try #require(events.first { $0.action == "oom" })
        let die = try #require(events.first { $0.action == "die" })
        replay.feed(.event(start), at: 0.05)
        replay.feed(.event(die), at: 0.1)
        #expect(replay.service("hog")?.state == .starting)
        #expect(replay.actions.contains { if case .inspect("hog", _, _) = $0 { true } else { false } })
        replay.feed(.event(oom), at: 0.12)
        #expect(replay.service("hog")?.failure == .oomKilled)
    }

    @Test(arguments: Replay.engines)
    func aKillThatWasNotTheKernelsIsAnExit137(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "oom", policy: Replay.policy(retries: 0, stability: .seconds(5)))
        replay.answersInspects = false
        replay.begin()
        let events = try Replay.events(engine, "oom")
        replay.feed(.event(try #require(events.first { $0.action == "start" })), at: 0.05)
        replay.feed(.event(try #require(events.first { $0.action == "die" })), at: 0.1)
        let inspect = try #require(replay.actions.last { if case .inspect("hog", _, _) = $0 { true } else { false } })
        guard case .inspect(_, _, let sequence) = inspect else { return }
        // The container's record says it was not the kernel (a `docker kill`): fixture edited to OOMKilled=false.
        let final = try #require(try Replay.finalState(engine, "oom").first)
        var json = try String(contentsOfFile: Replay.folder(engine, "oom") + "/final.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"OOMKilled\": true", with: "\"OOMKilled\": false")
            .replacingOccurrences(of: "\"OOMKilled\":true", with: "\"OOMKilled\":false")
        let killed = try #require(try JSONDecoder().decode([ContainerDetails].self, from: Data(json.utf8)).first)
        #expect(final.state.oomKilled && !killed.state.oomKilled)
        replay.feed(.inspected(service: "hog", details: killed, startSequence: sequence), at: 0.2)
        #expect(replay.service("hog")?.failure == .exited(code: 137))
    }
}

/// The readiness semantics Compose's own e2e fixtures exposed: each replayed on both engines' recordings.
@Suite("Launch state machine: engine restarts and the stability window")
struct EngineRestartAndWindowTests {
    @Test(arguments: Replay.engines)
    func anOnFailureServiceThatCrashesOnceComesUpWithoutSpendingRetries(engine: String) throws {
        // retries 0: the engine's one restart is its policy at work, not launch's retry.
        var replay = try Replay(engine: engine, scenario: "on-failure-once", policy: Replay.policy(retries: 0))
        replay.begin()
        replay.play(try Replay.events(engine, "on-failure-once"))
        replay.settle()
        #expect(replay.service("worker")?.state == .ready)
        #expect(replay.service("worker")?.retries == 0)
        #expect(!replay.actions.contains { if case .stop = $0 { true } else { false } })
    }

    @Test(arguments: Replay.engines)
    func aRestartLoopIsSeveralExitsInARowNotTheFirstOne(engine: String) throws {
        let events = try Replay.events(engine, "restart-loop")
        var replay = try Replay(engine: engine, scenario: "restart-loop", policy: Replay.policy(retries: 0))
        replay.begin()
        let dies = events.enumerated().filter { $0.element.action == "die" }.map(\.offset)
        try #require(dies.count >= LaunchStateMachine.restartLoopLimit)
        // Up to the second exit it is a service the engine is restarting.
        replay.play(Array(events[...dies[LaunchStateMachine.restartLoopLimit - 2]]))
        #expect(replay.service("flaky")?.state == .starting)
        replay.play(Array(events[(dies[LaunchStateMachine.restartLoopLimit - 2] + 1)...]))
        let failure = try #require(replay.service("flaky")?.failure)
        #expect(failure.key == "restart-loop")
        #expect(failure.description.contains("exited 3 times in a row within"))
    }

    @Test func anOnFailurePolicyThatHasGivenUpIsTheExitItIs() throws {
        // on-failure:1 — the second exit is the last: nothing restarts it, so it is said now, not at the deadline.
        let engine = "docker-20.10"
        var json = try String(contentsOfFile: Replay.folder(engine, "restart-loop") + "/created.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"Name\": \"always\"", with: "\"Name\": \"on-failure\"")
            .replacingOccurrences(of: "\"MaximumRetryCount\": 0", with: "\"MaximumRetryCount\": 1")
        let details = try JSONDecoder().decode([ContainerDetails].self, from: Data(json.utf8))
        #expect(details.first?.hostConfig.restartPolicy?.maximumRetryCount == 1)
        let stack = ComposeStack(services: [ComposeService(name: "flaky", image: "x", restartPolicy: "on-failure:1")])
        let services = Orchestrator.services(
            stack: stack, graph: try DependencyGraph(stack), policy: Replay.policy(), classOf: { _ in .core },
            containers: ["flaky": details])
        var machine = LaunchStateMachine(services: services, policy: Replay.policy(), endpoint: "unix:///test.sock")
        _ = machine.begin(now: 0, wallClock: Date())
        let events = try Replay.events(engine, "restart-loop").prefix(4)  // start, die, start, die
        for (index, event) in events.enumerated() { _ = machine.handle(.event(event), now: Double(index)) }
        #expect(machine.services.first?.failure == .exited(code: 1))
    }

    /// `sleep 2` with a 2 s window, its events seen promptly, late, and with the exit seen before the window's
    /// timer: one verdict, decided on the engine's clock (the run lasted just over 2 s).
    @Test(arguments: Replay.engines)
    func anExitRightAtTheStabilityWindowGetsOneVerdictOnAnyLoad(engine: String) throws {
        let events = try Replay.events(engine, "exit-at-window")
        let start = try #require(events.first { $0.action == "start" }), die = try #require(events.first { $0.action == "die" })
        let ran = Double(die.timeNano - start.timeNano) / 1e9
        try #require(ran >= 2 && ran < 2.5)
        // (when start is seen, when die is seen), on launch's clock.
        let deliveries: [(String, Double, Double)] = [
            ("quiet", 0.01, 0.01 + ran), ("loaded", 0.6, 0.6 + ran + 0.8), ("exit before the timer", 0.3, 0.3 + ran - 0.25),
            ("exit long after the timer", 0.01, 0.01 + ran + 3),
        ]
        for window in [2.0, 3.0] {
            var verdicts: [String: String] = [:]
            for (name, startSeen, dieSeen) in deliveries {
                var replay = try Replay(engine: engine, scenario: "exit-at-window", policy: Replay.policy(stability: .seconds(window)))
                replay.engineTimeline = (events, start.timeNano)
                replay.begin()
                replay.feed(.event(start), at: startSeen)
                replay.feed(.event(die), at: dieSeen)
                replay.settle(limit: 30)
                let brief = try #require(replay.service("brief"))
                verdicts[name] = "\(brief.state) \(brief.failure.map(\.description) ?? brief.readiness ?? "")"
            }
            let expected = window <= ran ? "ready stable" : "failed exited with code 0"
            #expect(Set(verdicts.values) == [expected], "window \(window) s: \(verdicts)")
        }
    }
}
