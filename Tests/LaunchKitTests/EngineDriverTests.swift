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
        #expect(replay.service("db")?.containers.first?.lastEngineFault == "connection reset by peer")
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
