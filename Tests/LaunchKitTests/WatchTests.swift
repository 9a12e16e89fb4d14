import Foundation
import Testing

@testable import LaunchKit

/// `launch watch`'s decisions: what a container's state means (from `docker inspect` recorded on Docker 20.10 and
/// 26.1, Fixtures/watch/record.sh), and the machine replayed through recorded sequences with a simulated clock.
struct WatchTests {
    static let engines = ["docker-20.10", "docker-26.1"]
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func details(_ engine: String, _ state: String) throws -> ContainerDetails {
        try JSONDecoder().decode(ContainerDetails.self, from: Data(Fixture.text("watch/\(engine)/\(state).json").utf8))
    }

    static func observe(_ engine: String, _ state: String, isJob: Bool = false) throws -> ServiceObservation {
        let details = try details(engine, state)
        // Judged long after its start, so the stability window is no question here.
        return ServiceObservation.compose(
            service: "db", containers: [details], isJob: isJob, stability: .seconds(2), now: Date().addingTimeInterval(3600))
    }

    @Test(arguments: engines) func recordedStatesReadAsTheConditionsWatchingTellsApart(engine: String) throws {
        #expect(try Self.observe(engine, "starting").condition == .starting)
        #expect(try Self.observe(engine, "healthy").condition == .ready)
        #expect(try Self.observe(engine, "unhealthy").condition == .unhealthy)
        #expect(try Self.observe(engine, "restarting").condition == .restarting(exitCode: 3, oomKilled: false))
        #expect(try Self.observe(engine, "recovered").condition == .ready)
        #expect(try Self.observe(engine, "killed").condition == .exited(137))
        // The engine's restart counter is what tells a restart the events went past.
        #expect(try Self.observe(engine, "recovered").restarts == 1)
        #expect(try Self.observe(engine, "healthy").restarts == 0)
    }

    @Test(arguments: engines) func theUnhealthyProbeOutputIsTheEvidence(engine: String) throws {
        let lines = Diagnostics.probeLines(try Self.details(engine, "unhealthy").state.health, redact: .none)
        #expect(lines.last?.contains("db not answering") == true, "\(lines)")
    }

    @Test func aServiceIsAsWellAsItsWorstReplicaAndWithoutContainersItIsRemoved() throws {
        let healthy = try Self.details("docker-20.10", "healthy")
        let killed = try Self.details("docker-20.10", "killed")
        let both = ServiceObservation.compose(
            service: "db", containers: [healthy, killed], isJob: false, stability: .seconds(1), now: Date())
        #expect(both.condition == .exited(137))
        #expect(
            ServiceObservation.compose(service: "db", containers: [], isJob: false, stability: .seconds(1), now: Date()).condition
                == .removed)
    }

    @Test func aRunningContainerWithoutAHealthcheckIsReadyOnlyPastTheStabilityWindow() throws {
        // The recorded container has a healthcheck; the same document without one is what a plain service reads as.
        var json =
            try JSONSerialization.jsonObject(with: Data(Fixture.text("watch/docker-20.10/healthy.json").utf8)) as? [String: Any] ?? [:]
        var state = json["State"] as? [String: Any] ?? [:]
        state["Health"] = nil
        state["StartedAt"] = "2027-01-15T08:00:00.000000000Z"
        json["State"] = state
        let plain = try JSONDecoder().decode(ContainerDetails.self, from: JSONSerialization.data(withJSONObject: json))
        let started = try #require(EngineTime.parse("2027-01-15T08:00:00Z"))
        let early = ServiceObservation.compose(
            service: "worker", containers: [plain], isJob: false, stability: .seconds(2), now: started.addingTimeInterval(0.5))
        #expect(early.condition == .starting)
        #expect(early.settlesIn.map { abs($0.seconds - 1.5) < 0.01 } == true)
        let later = ServiceObservation.compose(
            service: "worker", containers: [plain], isJob: false, stability: .seconds(2), now: started.addingTimeInterval(2))
        #expect(later.condition == .ready)
    }

    @Test func aJobThatExitedZeroIsCompletedNotDown() throws {
        var json =
            try JSONSerialization.jsonObject(with: Data(Fixture.text("watch/docker-20.10/killed.json").utf8)) as? [String: Any] ?? [:]
        var state = json["State"] as? [String: Any] ?? [:]
        state["ExitCode"] = 0
        json["State"] = state
        let done = try JSONDecoder().decode(ContainerDetails.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(
            ServiceObservation.compose(service: "migrate", containers: [done], isJob: true, stability: .seconds(1), now: Date()).condition
                == .completed)
        #expect(
            ServiceObservation.compose(service: "api", containers: [done], isJob: false, stability: .seconds(1), now: Date()).condition
                == .exited(0))
    }

    // MARK: the machine

    static func machine(_ policy: Profile.WatchPolicy = .defaults, serviceClass: ServiceClass = .core) -> WatchMachine {
        WatchMachine(policy: policy, services: ["db": (serviceClass, .seconds(30))])
    }

    static func events(_ actions: [WatchMachine.Action]) -> [WatchEvent] {
        actions.compactMap { if case .report(let event) = $0 { event } else { nil } }
    }

    @Test(arguments: engines) func aCrashTheEnginesPolicyRestartsIsALossThenARecoveryWithItsDowntime(engine: String) throws {
        var machine = Self.machine()
        let sequence = ["healthy", "restarting", "recovered"]
        var reported: [WatchEvent] = []
        for (offset, state) in sequence.enumerated() {
            reported += Self.events(
                machine.handle(.observed(try Self.observe(engine, state)), now: Self.t0.addingTimeInterval(Double(offset))))
        }
        #expect(reported.map(\.kind) == [.initial, .change, .change])
        #expect(reported.map { $0.to.word } == ["ready", "restarting", "ready"])
        // The loss carries what the diagnosis explains; the recovery how long it was down; nothing restarts it but the engine.
        #expect(reported[1].failure == .exited(code: 3))
        #expect(reported[1].isLoss)
        #expect(reported[2].downSeconds == 1)
        #expect(reported[2].engineRestarts == 1)
        #expect(machine.services["db"]?.engineRestartsTotal == 1)
    }

    @Test func aLossIsDiagnosedOncePerDowntimeAndAnEngineRestartLoopIsNamed() {
        var machine = Self.machine()
        var now = Self.t0
        func see(_ condition: ServiceCondition, restarts: Int) -> [WatchEvent] {
            now.addTimeInterval(2)
            return Self.events(
                machine.handle(.observed(ServiceObservation(service: "db", condition: condition, restarts: restarts)), now: now))
        }
        _ = see(.ready, restarts: 0)
        #expect(see(.restarting(exitCode: 1, oomKilled: false), restarts: 0).first?.failure == .exited(code: 1))
        #expect(see(.starting, restarts: 1).first?.failure == nil)
        #expect(see(.restarting(exitCode: 1, oomKilled: false), restarts: 1).first?.failure == nil)
        _ = see(.starting, restarts: 2)
        _ = see(.restarting(exitCode: 1, oomKilled: false), restarts: 2)
        _ = see(.starting, restarts: 3)
        let loop = see(.restarting(exitCode: 1, oomKilled: false), restarts: 3).first
        guard case .restartLoop(let count, let seconds)? = loop?.failure else {
            Issue.record("expected a restart loop, got \(String(describing: loop))")
            return
        }
        #expect(count == 3)
        #expect(seconds == 8)
        // Back to ready: the next loss is diagnosed again.
        #expect(see(.ready, restarts: 3).first?.isRecovery == true)
        #expect(see(.exited(1), restarts: 3).first?.failure == .exited(code: 1))
    }

    @Test func withoutARestartPolicyInTheProfileWatchingOnlyReports() {
        var machine = Self.machine()
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0)
        let actions = machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(1))), now: Self.t0)
        #expect(actions.count == 1)
        #expect(machine.nextDeadline == nil)
        #expect(machine.handle(.tick, now: Self.t0.addingTimeInterval(60)).isEmpty)
    }

    @Test func restartsWithinTheBudgetThenGivesUpAndACoreServiceEndsWatching() {
        let policy = Profile.WatchPolicy(restart: ["core"], max: 2, window: .seconds(600), backoff: .seconds(1))
        var machine = Self.machine(policy)
        var now = Self.t0
        var restarts = 0
        var ended: LaunchKit.ExitStatus?
        var reported: [WatchEvent] = []
        func apply(_ input: WatchMachine.Input) {
            for action in machine.handle(input, now: now) {
                switch action {
                case .report(let event): reported.append(event)
                case .restart(let service, _):
                    #expect(service == "db")
                    restarts += 1
                case .exit(let status, let reason):
                    ended = status
                    #expect(reason.contains("watch.max: 2") && reason.contains("exit 5"))
                }
            }
        }
        apply(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])))
        for _ in 0..<3 {
            now.addTimeInterval(5)
            apply(.observed(ServiceObservation(service: "db", condition: .exited(1), containers: ["c1"])))
            // Not before the backoff.
            apply(.tick)
            now.addTimeInterval(1)
            apply(.tick)
            apply(.restarted(service: "db", error: nil, startedAt: now))
            now.addTimeInterval(1)
            apply(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])))
        }
        #expect(restarts == 2)
        #expect(ended == .watchGaveUp)
        #expect(reported.filter { $0.kind == .restart }.count == 2)
        #expect(reported.contains { $0.kind == .gaveUp })
        // Back by itself (someone restarted it): the budget applies again.
        #expect(machine.services["db"]?.gaveUp == false)
    }

    @Test func anOptionalServicePastItsBudgetIsGivenUpOnWithoutEndingWatching() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 1, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy, serviceClass: .optional)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(1), containers: ["c1"])), now: Self.t0)
        #expect(machine.handle(.tick, now: Self.t0).contains(.restart(service: "db", containers: ["c1"])))
        _ = machine.handle(.restarted(service: "db", error: nil, startedAt: Self.t0), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .starting, containers: ["c1"])), now: Self.t0)
        let again = machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(1), containers: ["c1"])), now: Self.t0)
        #expect(Self.events(again).contains { $0.kind == .gaveUp })
        #expect(!again.contains { if case .exit = $0 { true } else { false } })
    }

    @Test func aRestartedServiceNotReadyWithinItsDeadlineCountsAsAnotherFailure() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 3, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .unhealthy, containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.tick, now: Self.t0)
        _ = machine.handle(.restarted(service: "db", error: nil, startedAt: Self.t0), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .starting, containers: ["c1"])), now: Self.t0)
        let late = machine.handle(.tick, now: Self.t0.addingTimeInterval(31))
        #expect(Self.events(late).first?.failure == .deadline(.seconds(30)))
        #expect(machine.nextDeadline == Self.t0.addingTimeInterval(31))
    }

    @Test func theEnginesRestartingIsLeftToTheEngine() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 3, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0)
        _ = machine.handle(
            .observed(ServiceObservation(service: "db", condition: .restarting(exitCode: 1, oomKilled: false))), now: Self.t0)
        #expect(machine.nextDeadline == nil)
        // Removed or paused by someone: not a failure to act on.
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .removed)), now: Self.t0)
        #expect(machine.nextDeadline == nil)
    }

    @Test func theStopOfWatchingsOwnRestartIsNotAFailureNorIsAReadFromBeforeIt() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 1, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy)
        let t = Self.t0
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])), now: t)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .unhealthy, containers: ["c1"])), now: t)
        #expect(machine.handle(.tick, now: t).contains(.restart(service: "db", containers: ["c1"])))
        // The restart stops it (exit 143) before it starts again: with max 1, a second failure would end watching.
        var stopped = ServiceObservation(service: "db", condition: .exited(143), containers: ["c1"])
        stopped.since = t.addingTimeInterval(0.1)
        #expect(machine.handle(.observed(stopped), now: t.addingTimeInterval(0.2)).isEmpty)
        _ = machine.handle(.restarted(service: "db", error: nil, startedAt: t.addingTimeInterval(0.3)), now: t.addingTimeInterval(0.4))
        // A read that began before the restart and arrives late is stale too.
        #expect(machine.handle(.observed(stopped), now: t.addingTimeInterval(0.5)).isEmpty)
        let back = Self.events(
            machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: t.addingTimeInterval(1)))
        #expect(back.first?.isRecovery == true)
        #expect(machine.services["db"]?.gaveUp == false)
    }

    @Test func aServiceBackBeforeItsBackoffEndsIsNotRestarted() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 3, window: .seconds(600), backoff: .seconds(5))
        var machine = Self.machine(policy)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .unhealthy)), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0.addingTimeInterval(1))
        #expect(machine.handle(.tick, now: Self.t0.addingTimeInterval(10)).isEmpty)
        #expect(machine.services["db"]?.watchRestartsTotal == 0)
    }

    @Test func aRefusedRestartIsSaidAsSuchAndCountsAgainstTheBudget() throws {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 2, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(1), containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.tick, now: Self.t0)
        let refused = Self.events(
            machine.handle(.restarted(service: "db", error: "port is already allocated", startedAt: nil), now: Self.t0))
        let event = try #require(refused.first)
        #expect(event.kind == .restartFailed)
        #expect(WatchRenderer.sentence(event, environment: "dev") == "db (core): watching could not restart it: port is already allocated")
        #expect(machine.nextDeadline == Self.t0)
    }

    /// On a swarm every watch event names its node: a loss where its newest failed task was, a recovery where its
    /// tasks run now (text and JSON).
    @Test func aSwarmEventNamesTheNodeOfTheFailureAndOfTheRecovery() throws {
        var machine = Self.machine()
        func status(running: Int, error: String? = nil, on node: String? = nil) -> SwarmStatus.Service {
            SwarmStatus.Service(
                name: "api", mode: "replicated", desired: 1, running: running, completed: 0, healthy: 0, lastError: error,
                failed: error == nil ? 0 : 1, nodes: running > 0 ? ["twonode-a"] : [], lastErrorNode: node)
        }
        _ = machine.handle(.observed(.swarm(status(running: 1), service: "api")), now: Self.t0)
        let lost = Self.events(
            machine.handle(
                .observed(.swarm(status(running: 0, error: "task: non-zero exit (3)", on: "twonode-b"), service: "api")),
                now: Self.t0.addingTimeInterval(1)))
        let loss = try #require(lost.first)
        #expect(
            WatchRenderer.sentence(loss, environment: "dev").hasSuffix("on node twonode-b"),
            "\(WatchRenderer.sentence(loss, environment: "dev"))")
        let back = Self.events(
            machine.handle(
                .observed(.swarm(status(running: 1, error: "task: non-zero exit (3)", on: "twonode-b"), service: "api")),
                now: Self.t0.addingTimeInterval(3)))
        let recovery = try #require(back.first)
        #expect(recovery.failedOn == nil)
        #expect(
            WatchRenderer.sentence(recovery, environment: "dev")
                == "api (core): 0/1 tasks running (task: non-zero exit (3)) → ready on twonode-a, after 2s down")
        let document = WatchEventDocument(
            recovery, environment: "dev", project: "p", engine: .swarm, diagnosis: nil, redact: Redactor(values: []))
        #expect(document.nodes == ["twonode-a"])
        let compose = WatchEventDocument(
            recovery, environment: "dev", project: "p", engine: .compose, diagnosis: nil, redact: Redactor(values: []))
        #expect(compose.nodes == nil)
    }

    @Test func anOOMKillTheEnginesPolicyRestartsIsAnOOMKill() {
        var machine = Self.machine()
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0)
        let events = Self.events(
            machine.handle(
                .observed(ServiceObservation(service: "db", condition: .restarting(exitCode: 137, oomKilled: true))), now: Self.t0))
        #expect(events.first?.failure == .oomKilled)
        #expect(events.first?.to.description == "restarting (out of memory)")
    }

    @Test func aRestartSlowerThanItsDeadlineStillCountsTheDeadlineOnceItIsDone() {
        let policy = Profile.WatchPolicy(restart: ["db"], max: 3, window: .seconds(600), backoff: .zero)
        var machine = Self.machine(policy)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(1), containers: ["c1"])), now: Self.t0)
        _ = machine.handle(.tick, now: Self.t0)
        // The engine takes longer than the deadline to answer the restart.
        _ = machine.handle(.tick, now: Self.t0.addingTimeInterval(31))
        #expect(machine.nextDeadline == nil)
        _ = machine.handle(
            .restarted(service: "db", error: nil, startedAt: Self.t0.addingTimeInterval(32)), now: Self.t0.addingTimeInterval(32))
        #expect(machine.nextDeadline == Self.t0.addingTimeInterval(32))
    }

    @Test func aReadThatBeganBeforeOneAlreadyAppliedIsDropped() {
        var machine = Self.machine()
        var newer = ServiceObservation(service: "db", condition: .exited(1))
        newer.sequence = 5
        var older = ServiceObservation(service: "db", condition: .ready)
        older.sequence = 4
        _ = machine.handle(.observed(newer), now: Self.t0)
        #expect(machine.handle(.observed(older), now: Self.t0).isEmpty)
        #expect(machine.services["db"]?.condition == .exited(1))
    }

    // MARK: output

    @Test func theJSONEventIsOneLineWithItsKindAndRedactedText() throws {
        var machine = Self.machine()
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready)), now: Self.t0)
        let event = try #require(
            Self.events(machine.handle(.observed(ServiceObservation(service: "db", condition: .exited(137))), now: Self.t0)).first)
        let document = WatchEventDocument(
            event, environment: "dev", project: "p", engine: .compose, diagnosis: nil, redact: Redactor(values: ["db"]))
        let line = try JSONOutput.encode(document, line: true)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "watch-event")
        #expect(object["schema"] as? Int == 1)
        #expect(object["from"] as? String == "ready")
        #expect(object["to"] as? String == "exited")
        #expect(object["exit_code"] as? Int == 137)
        #expect((object["text"] as? String)?.contains("***") == true)
    }

    // MARK: metrics

    @Test func metricsAreTheTextExpositionWithEscapedLabels() {
        var machine = WatchMachine(policy: .defaults, services: ["db": (.core, .seconds(30)), "we\"b\n": (.optional, .seconds(30))])
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, restarts: 0)), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "db", condition: .ready, restarts: 2)), now: Self.t0)
        _ = machine.handle(.observed(ServiceObservation(service: "we\"b\n", condition: .exited(1))), now: Self.t0)
        var metrics = WatchMetrics(environment: "dev", project: "p", engine: "compose", version: "1.2.3", startedAt: Self.t0)
        metrics.services = machine.services
        var sample = WatchMetrics.Sample()
        (sample.memoryBytes, sample.memoryLimitBytes, sample.cpuThrottledRatio) = (1024, 4096, 0.25)
        metrics.samples["db"] = sample
        let text = metrics.render(now: Self.t0.addingTimeInterval(10))
        #expect(text.contains(#"launch_info{environment="dev",project="p",version="1.2.3",engine="compose"} 1"#))
        #expect(text.contains(#"launch_service_up{environment="dev",project="p",service="db",class="core"} 1"#))
        #expect(text.contains(#"launch_service_restarts_total{environment="dev",project="p",service="db",class="core"} 2"#))
        #expect(text.contains(#"launch_service_seconds_since_ready{environment="dev",project="p",service="db",class="core"} 10"#))
        #expect(text.contains(#"launch_service_cpu_throttled_ratio{environment="dev",project="p",service="db",class="core"} 0.25"#))
        #expect(text.contains(#"service="we\"b\n",class="optional"} 0"#))
        #expect(text.contains("# TYPE launch_service_restarts_total counter"))
    }

    @Test func metricsAddressesParse() {
        #expect(MetricsServer.parse("127.0.0.1:9464")?.port == 9464)
        #expect(MetricsServer.parse(":9464")?.host == nil)
        #expect(MetricsServer.parse("[::1]:9464")?.host == "::1")
        #expect(MetricsServer.parse("::1:9464") == nil)
        #expect(MetricsServer.parse("localhost") == nil)
        #expect(MetricsServer.parse("a:70000") == nil)
    }

    // MARK: the profile

    @Test func theWatchPolicyIsReadAndItsNamesChecked() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile:
                "name: demo\ncompose: {project: demo, files: [app.yml]}\nwatch: {restart: [db, optional], max: 2, window: 5m, backoff: 1s}\n"
        )
        let policy = try project.catalog().profile(named: "demo").watch
        #expect(policy == Profile.WatchPolicy(restart: ["db", "optional"], max: 2, window: .seconds(300), backoff: .seconds(1)))
        #expect(policy.restarts("web", serviceClass: .optional))
        #expect(!policy.restarts("web", serviceClass: .core))

        let bad = try TemporaryProject()
        try bad.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nwatch: {restart: [dbb], max: 0}\n")
        do {
            _ = try bad.catalog().profile(named: "demo")
            Issue.record("expected the profile to be rejected")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.message.contains("`dbb`") && $0.hint == "did you mean `db`?" && $0.location.line == 3 })
            #expect(error.problems.contains { $0.message.contains("watch.max") })
        }
    }
}
