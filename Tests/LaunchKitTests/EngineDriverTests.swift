import Foundation
import Synchronization
import Testing

@testable import LaunchKit

/// The drivers between the decisions and Docker — rollback, the orchestrator's effects, the last-good restore —
/// against `LoudEngine`: what they ask the engine, in which order, and what they make of its answers and errors.
@Suite("Engine drivers against a loud fake engine")
struct EngineDriverTests {
    static let project = "shop"

    @Test func aRollbackRemovesWhatTheRunMadeAndKeepsEveryVolume() async throws {
        let engine = LoudEngine()
        let p = Self.project
        // Before the run: db ran, a stopped worker existed, one network, the data volume.
        let before = ProjectSnapshot(
            containers: ["db-old", "worker-old"], runningContainers: ["db-old"], networks: ["net-old"], volumes: ["\(p)_data"],
            runningByService: ["db": ["db-old"]])
        let now = [
            try EngineDocuments.container("db-old", service: "db", project: p, created: 1),
            try EngineDocuments.container("worker-old", service: "worker", project: p, created: 2),
            try EngineDocuments.container("api-new", service: "api", project: p, created: 3),
            try EngineDocuments.container("web-new", service: "web", project: p, created: 4),
        ]
        engine.listContainers = { all, labels in
            #expect(all && labels == ComposeLabels.projectFilter(p))
            return now
        }
        engine.listNetworks = { _ in
            [try EngineDocuments.network("net-old", "\(p)_default"), try EngineDocuments.network("net-new", "\(p)_back")]
        }
        engine.listVolumes = { _ in
            [try EngineDocuments.volume("\(p)_data", project: p), try EngineDocuments.volume("\(p)_cache", project: p)]
        }
        engine.removeContainer = { _, volumes in #expect(volumes, "anonymous volumes go with the container this run made") }
        engine.stopContainer = { _ in }
        engine.removeNetwork = { _ in }
        engine.systemDataUsage = {
            try EngineDocuments.decode(
                SystemDataUsage.self,
                [
                    "LayersSize": 0, "Images": [Any](), "Containers": [Any](), "BuildCache": [Any](),
                    "Volumes": [["Name": "\(p)_cache", "UsageData": ["Size": 4096, "RefCount": 0]]],
                ])
        }
        let report = await Rollback(client: engine, project: p).undo(since: before, levels: [["db"], ["api"], ["web"]])
        // Dependents first (web before api); the stopped-before worker, running now, is stopped again, not removed.
        let changes = engine.calls.filter { $0.hasPrefix("remove") || $0.hasPrefix("stop") }
        #expect(changes == ["stopContainer(worker-old)", "removeContainer(web-new)", "removeContainer(api-new)", "removeNetwork(net-new)"])
        #expect(report.keptVolumes == ["\(p)_data"])
        #expect(report.keptNewVolumes == [.init(name: "\(p)_cache", bytes: 4096)])
        #expect(report.removedVolumes.isEmpty)
        #expect(report.errors.isEmpty)
    }

    @Test func aListingTheEngineRefusesIsAnErrorNeverNothingToUndo() async throws {
        let engine = LoudEngine()
        engine.listContainers = { _, _ in throw EngineError.connectionRefused("/loud-fake.sock") }
        engine.listNetworks = { _ in [] }
        engine.listVolumes = { _ in [] }
        let before = ProjectSnapshot(containers: [], runningContainers: [], networks: [], volumes: [])
        let report = await Rollback(client: engine, project: Self.project).undo(since: before, levels: [])
        #expect(report.errors == ["could not list containers of \(Self.project): connection refused on /loud-fake.sock"])
    }

    @Test func anEngineErrorDuringAProbeIsAnEngineFaultNotAFailingCheck() async throws {
        let engine = LoudEngine()
        engine.probe = { _, _ in throw EngineError.timedOut("the engine at /loud-fake.sock did not answer within 20s") }
        let answer = await Orchestrator.Effects.probe(engine, "db-1", command: ["pg_isready"], timeout: .seconds(1))
        #expect(answer.outcome == .engineFault("the Docker engine did not answer: the engine at /loud-fake.sock did not answer within 20s"))
        engine.probe = { _, _ in EngineClient.ProbeAnswer(.failed(exitCode: 2), spawnSeconds: 0.01) }
        #expect(
            await Orchestrator.Effects.probe(engine, "db-1", command: ["pg_isready"], timeout: .seconds(1)).outcome == .failed(exitCode: 2))
        #expect(engine.calls == ["probe(db-1)", "probe(db-1)"])
    }

    @Test(arguments: Replay.engines)
    func theMachineTakesAnEngineFaultAsNoVerdictAndTheDiagnosisSaysSo(engine: String) async throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.answersInspects = false
        replay.begin()
        let events = try Replay.events(engine, "healthy-chain")
        replay.feed(.event(events[0]), at: 0.05)  // db starts
        let db = try #require(replay.service("db")?.containers.first)
        let probes = { replay.actions.filter { if case .probe("db", _, _, _, _, _) = $0 { true } else { false } }.count }
        let asked = probes()
        try #require(asked >= 1)
        for time in [0.2, 0.4, 0.6] {
            replay.feed(
                .probed(service: "db", container: db.id, startSequence: 1, outcome: .engineFault("connection reset by peer")), at: time)
        }
        #expect(replay.service("db")?.state == .starting)
        #expect(probes() == asked + 3, "each fault is followed by another probe")
        let said = replay.actions.filter {
            if case .progress(let update) = $0 { update.detail?.contains("the engine did not run its check") == true } else { false }
        }
        #expect(said.count == 1, "said once per run of faults")
        // A real answer resets the run of faults.
        replay.feed(.probed(service: "db", container: db.id, startSequence: 1, outcome: .passed), at: 0.8)
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.service("db")?.containers.first?.engineFaults == 0)
        #expect(replay.service("db")?.containers.first?.lastEngineFault == nil, "a passing answer clears the faults' evidence")
    }

    @Test func aDeadlineWhileTheEngineFailedTheProbesIsDiagnosedAsTheEngines() async throws {
        let fake = LoudEngine()
        let details = try #require(try Replay.finalState("docker-20.10", "healthy-chain").first)
        fake.inspectContainer = { _ in details }
        fake.containerLogs = { _ in ["starting"] }
        fake.stats = { _ in throw EngineError.timedOut("no answer") }
        var run = try #require(try Replay(engine: "docker-20.10", scenario: "healthy-chain").service("db"))
        run.failure = .deadline(.seconds(30))
        run.containers[0].engineFaults = 4
        run.containers[0].lastEngineFault = "connection reset by peer"
        let diagnostics = Diagnostics(client: fake, redact: .none, environment: "dev", project: Self.project)
        let diagnosis = try #require(await diagnostics.diagnose(run))
        #expect(diagnosis.probes.last == "the engine did not run launch's probe: connection reset by peer")
        #expect(diagnosis.nextStep.hasPrefix("the engine failed launch's last probes"))
    }

    @Test func aRestoreBringsBackTheLastGoodStateAndWaitsForIt() async throws {
        let project = try TemporaryProject()
        try project.write("compose/app.yml", "services:\n  web:\n    image: local/busybox:latest\n    command: [\"sleep\", \"3600\"]\n")
        try project.write(
            "environments/demo.yml",
            """
            name: demo
            compose: {project: \(Self.project), files: [app.yml]}
            services: {core: [web]}
            health: {stability: 200ms}
            """)
        let runner = RecordingRunner()
        runner.onMissing("nvidia-smi")
        runner.onMissing("docker-compose")
        runner.on(["docker", "compose", "version"], ProcessOutput(status: 0, stdout: "2.26.1\n"))
        runner.on(["docker", "image", "inspect"], ProcessOutput(status: 0, stdout: "null\n"))
        runner.on(
            ["docker", "compose"],
            ProcessOutput(
                status: 0,
                stdout: """
                    {"name": "\(Self.project)", "services": {"web": {"image": "local/busybox:latest", "command": ["sleep", "3600"]}}}
                    """))
        let context = LaunchContext(runner: runner, environment: [:], console: CapturedOutput().console(), workingDirectory: project.root)
        let profile = try project.catalog().profile(named: "demo")
        let plan = try await Planner(context: context, layout: project.layout).plan(profile)
        // The record a successful launch left: the model with the image pinned.
        let directory = try project.layout.privateStateDirectory("last-good")
        try #"{"name": "shop", "services": {"web": {"image": "sha256:feed", "command": ["sleep", "3600"]}}}"#
            .write(toFile: directory + "/\(Self.project).json", atomically: true, encoding: .utf8)

        // What Compose creates from it, and what the engine then says of that container.
        let created = try #require(
            try Replay.finalState("docker-20.10", "healthy-chain").first { $0.config.labels[ComposeLabels.service] == "web" })
        let createdJSON = try String(contentsOfFile: Replay.folder("docker-20.10", "healthy-chain") + "/created.json", encoding: .utf8)
        let fresh = try #require(
            try JSONDecoder().decode([ContainerDetails].self, from: Data(createdJSON.utf8)).first { $0.id == created.id })
        let engine = LoudEngine()
        engine.openEvents()
        engine.ping = { true }  // the restore's heartbeat
        let started = Mutex(false)
        engine.listContainers = { _, _ in
            [
                try EngineDocuments.container(
                    created.id, service: "web", project: Self.project, state: started.withLock { $0 } ? "running" : "created")
            ]
        }
        engine.inspectContainer = { _ in started.withLock { $0 } ? created : fresh }
        engine.startContainer = { [engine] id in
            started.withLock { $0 = true }
            engine.emit("start", container: id, service: "web")
        }
        engine.stats = { _ in throw EngineError.timedOut("not sampled in this test") }
        let lastGood = LastGood(context: context, layout: project.layout, client: engine, project: Self.project)
        let report = await lastGood.restore(["web"], plan: plan, profile: profile, redact: .none) { _ in }

        #expect(report.problem == nil, "\(report)")
        #expect(report.restored == ["web"])
        #expect(report.running == ["web"])
        // Recreated from the record, not from the files that failed: `up --no-start --no-deps web` on it.
        let create = try #require(runner.calls.last { $0.arguments.contains("--no-start") })
        #expect(create.arguments.contains(directory + "/\(Self.project).json"))
        #expect(create.arguments.suffix(2) == ["--no-deps", "web"])
        #expect(engine.calls.contains("startContainer(\(created.id))"))
    }
}

/// Findings of a review, each pinned by a test: rules that held on the happy path and not beside it.
@Suite("Review findings: restarts, stability and swarm gating")
struct ReviewFindingTests {
    @Test func anOnFailureLimitCountsTheEnginesRestartsAcrossReadiness() throws {
        // on-failure:1: the engine restarts it once, ever (readiness in between does not give it another).
        let engine = "docker-20.10"
        var json = try String(contentsOfFile: Replay.folder(engine, "restart-loop") + "/created.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"Name\": \"always\"", with: "\"Name\": \"on-failure\"")
            .replacingOccurrences(of: "\"MaximumRetryCount\": 0", with: "\"MaximumRetryCount\": 1")
        let flaky = try JSONDecoder().decode([ContainerDetails].self, from: Data(json.utf8))
        // Another core service still starting, so the launch is not over when flaky is first ready.
        let other = try #require(
            try JSONDecoder().decode(
                [ContainerDetails].self, from: Data(contentsOf: URL(fileURLWithPath: Replay.folder(engine, "unhealthy") + "/created.json"))
            ).first)
        let stack = ComposeStack(services: [
            ComposeService(name: "flaky", image: "x", restartPolicy: "on-failure:1"),
            ComposeService(name: "other", image: "x", healthcheck: Healthcheck(test: ["CMD", "false"])),
        ])
        let policy = Replay.policy(stability: .milliseconds(100))
        var machine = LaunchStateMachine(
            services: Orchestrator.services(
                stack: stack, graph: try DependencyGraph(stack), policy: policy, classOf: { _ in .core },
                containers: ["flaky": flaky, "other": [other]]),
            policy: policy, endpoint: "unix:///test.sock")
        _ = machine.begin(now: 0, wallClock: Date())
        // start, exit 0.5 s later (stood its 100 ms window: ready, then died), start again, exit again.
        let events = Array(try Replay.events(engine, "restart-loop").prefix(4))
        for (index, event) in events.enumerated() { _ = machine.handle(.event(event), now: 0.1 + Double(index) * 0.5) }
        #expect(machine.services.first { $0.name == "flaky" }?.failure == .exited(code: 1))
    }

    @Test func theStabilityInspectJudgesOnlyTheRunItsWindowWasFor() throws {
        let folder = Replay.folder("docker-20.10", "exit-at-window")
        var replay = try Replay(engine: "docker-20.10", scenario: "exit-at-window", policy: Replay.policy(stability: .seconds(1)))
        replay.answersInspects = false
        replay.begin()
        let lines = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n")
        var startObject = try #require(
            try lines.compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first { $0["Action"] as? String == "start" })
        let start = try EngineDocuments.decode(EngineEvent.self, startObject)
        replay.feed(.event(start), at: 0.01)
        replay.settle(limit: 1.2)  // the window's timer fires and asks the engine
        func lastInspect() throws -> Int {
            let inspect = try #require(replay.actions.last { if case .inspect("brief", _, _) = $0 { true } else { false } })
            guard case .inspect(_, _, let sequence) = inspect else { throw CancellationError() }
            return sequence
        }
        // The engine answers with a later run of it (restarted meanwhile; its die and start are still on the way).
        let raw = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/final.json"))) as? [[String: Any]])
        func running(since nanoseconds: Int64) throws -> ContainerDetails {
            var object = try #require(raw.first)
            var state = try #require(object["State"] as? [String: Any])
            state["Running"] = true
            state["Status"] = "running"
            state["StartedAt"] = SimulatedEngine.text(nanoseconds)
            object["State"] = state
            return try EngineDocuments.decode(ContainerDetails.self, object)
        }
        let restartedAt = start.timeNano + 1_500_000_000
        replay.feed(
            .inspected(service: "brief", details: try running(since: restartedAt - 1_000_000), startSequence: try lastInspect()), at: 1.3)
        #expect(replay.service("brief")?.state == .starting, "a later run is not the one that stood the window")
        // Its start arrives: its own window, and the engine's answer about that run makes it ready.
        startObject["timeNano"] = NSNumber(value: restartedAt)
        startObject["time"] = NSNumber(value: restartedAt / 1_000_000_000)
        replay.feed(.event(try EngineDocuments.decode(EngineEvent.self, startObject)), at: 1.5)
        replay.settle(limit: 2.6)
        replay.feed(
            .inspected(service: "brief", details: try running(since: restartedAt - 1_000_000), startSequence: try lastInspect()), at: 2.7)
        #expect(replay.service("brief")?.state == .ready)
    }

    @Test func aSwarmChainBlockedFromItsEndIsDecidedInOnePassWhateverTheOrder() {
        // api → broker → zk, all optional, listed dependents first: zk's failure blocks both at once.
        let failed = SwarmRollout.TaskObservation(
            id: "t", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        var rollout = SwarmRollout(services: [
            SwarmRolloutTests.service("api", dependencies: ["broker"], serviceClass: .optional),
            SwarmRolloutTests.service("broker", dependencies: ["zk"], serviceClass: .optional),
            SwarmRolloutTests.service("zk", serviceClass: .optional),
        ])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("zk"), now: 0)
        let actions = rollout.handle(.observed("zk", [failed]), now: 1)
        #expect(actions.contains(.changed("api", .blocked(by: "zk"))))
        #expect(actions.contains(.changed("broker", .blocked(by: "zk"))))
        #expect(actions.last == .finish)
    }

    @Test func nothingIsScaledOnceACoreServiceIsBlocked() {
        // core `app` needs `db` (failed); `extra` only optionally: the run is lost, so extra is not scaled.
        let failed = SwarmRollout.TaskObservation(
            id: "t", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        var rollout = SwarmRollout(services: [
            SwarmRolloutTests.service("db", serviceClass: .optional),
            SwarmRolloutTests.service("app", dependencies: ["db"]),
            SwarmRolloutTests.service("extra", requires: [Dependency(service: "db", required: false)], serviceClass: .optional),
        ])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("db"), now: 0)
        let actions = rollout.handle(.observed("db", [failed]), now: 1)
        #expect(!actions.contains { if case .scale = $0 { true } else { false } }, "\(actions)")
        #expect(rollout.aborted)
    }
}
