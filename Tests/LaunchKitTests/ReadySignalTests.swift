import Foundation
import Testing

@testable import LaunchKit

@Suite("Readiness labels: launch.ready_log and launch.ready_http")
struct ReadySignalTests {
    // MARK: The labels

    @Test func labelsParseIntoASignal() {
        #expect(ReadySignal(labels: ["launch.ready_log": "listening on port \\d+"]) == .log(pattern: "listening on port \\d+"))
        #expect(ReadySignal(labels: ["launch.ready_http": "8000/health"]) == .http(port: 8000, path: "/health"))
        #expect(ReadySignal(labels: ["launch.ready_http": ":8000/v1/models?x=1"]) == .http(port: 8000, path: "/v1/models?x=1"))
        #expect(ReadySignal(labels: ["launch.ready_http": "8080"]) == .http(port: 8080, path: "/"))
        #expect(ReadySignal(labels: ["launch.job": "true"]) == nil)
        // As `docker compose config` writes a label the engine gets as `ready$`.
        #expect(ReadySignal(labels: ["launch.ready_log": "ready$$"]) == .log(pattern: "ready$"))
        #expect(ReadySignal.http(port: 8000, path: "/health").description == "http :8000/health")
        #expect(ReadySignal.log(pattern: "ready").description == "log /ready/")
    }

    @Test(arguments: [
        "", "0/health", "65536/x", "http://x:80/", "80 /x", "80/a b", "80/'x'", "80/\"x\"", "80/a\\b", "8o/x", "123456/x", "80x",
    ])
    func aBadHTTPTargetIsRefused(text: String) {
        #expect(ReadySignal.httpTarget(text) == nil)
        #expect(ReadySignal.problems(service: "api", labels: ["launch.ready_http": text]).count == 1)
        #expect(ReadySignal(labels: ["launch.ready_http": text]) == nil)
    }

    @Test func aBadPatternIsRefusedAndBothAtOnceIsTooMany() {
        #expect(
            ReadySignal.problems(service: "db", labels: ["launch.ready_log": "ready ("]).first?.contains("not a regular expression") == true
        )
        #expect(ReadySignal.problems(service: "db", labels: ["launch.ready_log": ""]).first?.contains("is empty") == true)
        #expect(ReadySignal.problems(service: "db", labels: ["launch.ready_log": String(repeating: "a", count: 2000)]).count == 1)
        let both = ReadySignal.problems(service: "db", labels: ["launch.ready_log": "ready", "launch.ready_http": "80/"])
        #expect(both == ["`db` sets both launch.ready_log and launch.ready_http: set one"])
    }

    @Test func theModelReaderPointsAtTheLabelsLine() throws {
        let text = """
            services:
              db:
                image: postgres:16
                labels:
                  launch.ready_log: "ready ("
              api:
                image: x
                labels: ["launch.ready_http=eighty/health"]
            """
        do {
            _ = try ComposeModelReader.read(config: text)
            Issue.record("a bad readiness label was accepted")
        } catch {
            let problems = error.problems
            #expect(problems.contains { $0.location.line == 5 && $0.message.contains("launch.ready_log of `db`") })
            #expect(problems.contains { $0.location.line == 8 && $0.message.contains("launch.ready_http of `api`") })
        }
    }

    // MARK: The rule

    @Test func aSignalDecidesInsteadOfTheStabilityWindowOrTheHealthcheck() {
        let policy = Profile.HealthPolicy.defaults
        var service = ComposeService(name: "llm", image: "vllm/vllm-openai", labels: ["launch.ready_http": "8000/health"])
        var rule = ReadinessRule(service: service, policy: policy, isJob: false)
        #expect(rule.kind == .signal(.http(port: 8000, path: "/health")))
        #expect(rule.deadline == ReadinessRule.signalDeadline)
        #expect(rule.description == "http :8000/health")
        // A model load takes its own time: launch.timeout says how long.
        service.labels["launch.timeout"] = "15m"
        rule = ReadinessRule(service: service, policy: policy, isJob: false)
        #expect(rule.deadline == .seconds(900))
        // Beside a healthcheck the label decides; a slow check's longer deadline is kept.
        service.labels["launch.timeout"] = nil
        service.healthcheck = Healthcheck(
            test: ["CMD", "true"], interval: .seconds(30), timeout: .seconds(30), startPeriod: .seconds(300), retries: 3)
        rule = ReadinessRule(service: service, policy: policy, isJob: false)
        #expect(rule.signal == .http(port: 8000, path: "/health"))
        #expect(rule.deadline > ReadinessRule.signalDeadline)
        // A job is ready at exit 0; a swarm cannot watch signals.
        #expect(ReadinessRule(service: service, policy: policy, isJob: true).kind == .completes)
        #expect(ReadinessRule(service: service, policy: policy, isJob: false, signals: false).kind == .healthy)
    }

    @Test func serviceHealthyOnALabelledServiceIsAccepted() throws {
        var stack = ComposeStack(services: [
            ComposeService(name: "llm", image: "x", labels: ["launch.ready_log": "Application startup complete"]),
            ComposeService(name: "ui", image: "y", dependsOn: [Dependency(service: "llm", condition: .healthy)]),
        ])
        _ = try Planner.checkHealthyConditions(&stack, imageChecks: ["llm": .none, "ui": .none], file: "compose.yml")
        var unlabelled = stack
        unlabelled.services[0].labels = [:]
        #expect(throws: ConfigurationError.self) {
            _ = try Planner.checkHealthyConditions(&unlabelled, imageChecks: ["llm": .none, "ui": .none], file: "compose.yml")
        }
    }

    // MARK: The HTTP check, run by a real shell against stand-in tools

    /// Runs the check's argv with PATH holding only `tools` (tiny scripts), as the container's shell would.
    func runCheck(tools: [String: String]) async throws -> Int32 {
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("ready-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: bin) }
        for (name, body) in tools {
            let path = bin.appendingPathComponent(name).path
            try Data("#!/bin/sh\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        let argv = ReadySignal.httpCommand(port: 8000, path: "/health")
        // Through launch's own runner (a clean signal mask: the shell's `wait` needs SIGCHLD), bounded.
        let output = try await SubprocessRunner().run(
            Command(argv[0], Array(argv.dropFirst()), environment: ["PATH": bin.path], timeout: .seconds(20)))
        return output.status
    }

    @Test func theHTTPCheckNeedsExactly2xxFromCurl() async throws {
        #expect(try await runCheck(tools: ["curl": "printf 204"]) == 0)
        #expect(try await runCheck(tools: ["curl": "printf 302"]) == 1)
        #expect(try await runCheck(tools: ["curl": "printf 503"]) == 1)
        #expect(try await runCheck(tools: ["curl": "printf 000; exit 7"]) == 1)  // connection refused
        // The URL is an argument, never shell text.
        #expect(
            try await runCheck(tools: ["curl": #"for a; do last="$a"; done; [ "$last" = "http://127.0.0.1:8000/health" ] && printf 200"#])
                == 0)
    }

    @Test func theHTTPCheckFallsBackToWgetThenPython() async throws {
        // wget that answers after a while, with no `sleep` in PATH: nothing kills it early.
        #expect(try await runCheck(tools: ["wget": "i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done; exit 0"]) == 0)
        #expect(try await runCheck(tools: ["wget": "exit 0"]) == 0)
        #expect(try await runCheck(tools: ["wget": "exit 8"]) == 1)
        #expect(try await runCheck(tools: ["python3": "exit 0"]) == 0)
        #expect(try await runCheck(tools: ["python3": "exit 1"]) == 1)
        // None of them: 127, which the machine turns into a failure that says what the image lacks.
        #expect(try await runCheck(tools: [:]) == 127)
    }

    // MARK: Following a log

    @Test func theCurrentRunsLogBeginsHalfwayBetweenTheLastFinishAndThisStart() {
        // Never ran before: all of its log is this run's.
        #expect(EngineClient.currentRunSince(finishedAt: "0001-01-01T00:00:00Z", startedAt: "2026-12-01T10:00:00.5Z") == nil)
        let finished = EngineTime.nanoseconds("2026-12-01T10:00:00.100000001Z")
        #expect(finished.map { $0 % 1_000_000_000 } == 100_000_001)
        #expect(
            EngineClient.currentRunSince(finishedAt: "2026-12-01T10:00:00.100000001Z", startedAt: "2026-12-01T10:00:00.300000001Z")
                == finished.map { $0 + 100_000_000 })
        // A long pause: a second after the finish at most.
        #expect(
            EngineClient.currentRunSince(finishedAt: "2026-12-01T10:00:00.100000001Z", startedAt: "2026-12-01T10:05:00Z")
                == finished.map { $0 + 1_000_000_000 })
        // A start the engine reports before the finish (clock skew): just after the finish.
        #expect(
            EngineClient.currentRunSince(finishedAt: "2026-12-01T10:00:00.100000001Z", startedAt: "2026-12-01T09:00:00Z")
                == finished.map { $0 + 1 })
        #expect(EngineTime.nanoseconds("garbage") == nil)
        #expect(EngineTime.nanoseconds("2026-12-01T10:00:00.1234567891Z") == nil)
    }

    @Test func anExcerptIsOnePrintableLine() {
        #expect(LaunchStateMachine.excerpt("\u{1B}[32mready\u{1B}[0m\r") == "ready")
        #expect(LaunchStateMachine.excerpt("loading 50%\rloading 100%\u{200F}") == "loading 50% loading 100%")
        #expect(LaunchStateMachine.excerpt(String(repeating: "x", count: 300)).count == 120)
    }

    @Test func onlyACommandTheImageLacksMakesAProbeUnavailable() {
        #expect(
            EngineClient.cannotRun(
                #"OCI runtime exec failed: exec failed: unable to start container process: exec: "pg_isready": executable file not found in $PATH: unknown"#
            ))
        #expect(
            EngineClient.cannotRun(
                #"OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: "/usr/bin/pg_isready": stat /usr/bin/pg_isready: no such file or directory: unknown"#
            ))
        #expect(!EngineClient.cannotRun("Container abc is restarting, wait until the container is running"))
        #expect(!EngineClient.cannotRun("OCI runtime exec failed: context deadline exceeded"))
        #expect(
            !EngineClient.cannotRun(
                "OCI runtime exec failed: exec failed: nsenter: failed to open /proc/42/ns/ipc: no such file or directory: unknown"))
        #expect(
            EngineClient.cannotRun(
                #"OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: "/x": permission denied: unknown"#
            ))
    }

    @Test func theHistoryKnowsWhichContainerRunsALabelJudged() throws {
        func run(_ outcome: String, at seconds: Double, ready: [String]) throws -> RecordedRun {
            let services = ready.map {
                #"{"name":"\#($0)","class":"core","state":"ready","retries":0,"seconds_to_ready":1,"judged_runs":["c-\#($0)-\#(outcome)@t"]}"#
            }
            let json =
                #"{"environment":"dev","project":"p","outcome":"\#(outcome)","exit_code":0,"started_at":"\#(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds)))","seconds":10,"phases":[],"services":[\#(services.joined(separator: ","))]}"#
            let decoder = JSONOutput.decoder()
            return try decoder.decode(RecordedRun.self, from: Data(json.utf8))
        }
        let history = ReadinessHistory(runs: [
            try run("success", at: 2_000_000_000, ready: ["db"]), try run("failed", at: 2_000_001_000, ready: ["db", "api"]),
            try run("degraded", at: 1_999_000_000, ready: ["db", "api"]),
        ])
        // Only launches that ended with the service ready count: a failed one's judgement was undone.
        #expect(history.judgedRuns["db"] == ["c-db-success@t", "c-db-degraded@t"])
        #expect(history.judgedRuns["api"] == ["c-api-degraded@t"])
    }
}

@Suite("Readiness labels in the state machine: recorded engine sequences")
struct ReadySignalMachineTests {
    static let logLabel = ["db": ["launch.ready_log": "accepting connections"]]

    /// healthy-chain with db labelled, begun, and db's recorded start fed (its start sequence 1): db's container.
    static func dbStarted(_ replay: inout Replay, _ engine: String) throws -> String {
        replay.begin()
        let db = try #require(replay.service("db")?.containers.first?.id)
        replay.feed(
            .event(try #require(try Replay.events(engine, "healthy-chain").first { $0.actor.id == db && $0.action == "start" })), at: 0.05)
        return db
    }

    @Test(arguments: Replay.engines)
    func aMatchingLineMakesItReadyAndTheEnginesHealthyDoesNot(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel)
        let db = try Self.dbStarted(&replay, engine)
        let events = try Replay.events(engine, "healthy-chain")
        #expect(
            replay.actions.contains(
                .watchLog(service: "db", container: db, startSequence: 1, pattern: "accepting connections", after: .zero)))
        // No probe of its healthcheck: the label decides.
        #expect(!replay.actions.contains { if case .probe("db", _, _, _, _, _) = $0 { true } else { false } })
        if let healthy = events.first(where: { $0.actor.id == db && $0.healthStatus == "healthy" }) {
            replay.feed(.event(healthy), at: 0.5)
        }
        #expect(replay.service("db")?.state == .starting)
        #expect(replay.started == ["db"])
        replay.feed(
            .logMatched(service: "db", container: db, startSequence: 1, line: "LOG:  database system is accepting connections"), at: 0.6)
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.service("db")?.readiness == "log")
        #expect(replay.started == ["db", "api"])
        let update = replay.actions.compactMap { if case .progress(let u) = $0, u.service == "db", u.state == .ready { u } else { nil } }
            .first
        #expect(update?.detail == "logged: LOG:  database system is accepting connections")
    }

    @Test(arguments: Replay.engines)
    func aLineFromAnEarlierStartIsNotEvidence(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel)
        let db = try Self.dbStarted(&replay, engine)
        replay.feed(.logMatched(service: "db", container: db, startSequence: 0, line: "accepting connections"), at: 0.1)
        replay.feed(.logUnreadable(service: "db", container: db, startSequence: 0, message: "gone"), at: 0.1)
        #expect(replay.service("db")?.state == .starting)
    }

    @Test(arguments: Replay.engines)
    func aLogThatCannotBeReadFailsAtOnceAndSaysWhy(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel)
        let db = try Self.dbStarted(&replay, engine)
        replay.feed(
            .logUnreadable(service: "db", container: db, startSequence: 1, message: "configured logging driver does not support reading"),
            at: 0.1)
        let failure = try #require(replay.service("db")?.failure)
        #expect(failure.isDeterministic)
        #expect(failure.description.contains("configured logging driver does not support reading"))
        #expect(replay.machine.isFinished)
    }

    @Test(arguments: Replay.engines)
    func anAdoptedContainerIsJudgedByWhatItPrintedNotByItsHealth(engine: String) throws {
        // A relaunch finds db running and healthy; with a log label it is ready only once its log says so.
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel, containers: "final")
        replay.begin()
        let db = try #require(replay.service("db")?.containers.first?.id)
        #expect(replay.service("db")?.state == .starting)
        #expect(
            replay.actions.contains(
                .watchLog(service: "db", container: db, startSequence: 0, pattern: "accepting connections", after: .zero)))
        replay.feed(.logMatched(service: "db", container: db, startSequence: 0, line: "accepting connections"), at: 0.1)
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.service("db")?.readiness == "already running")
    }

    @Test(arguments: Replay.engines)
    func aWatchThatEndsIsResumedWithBackoffWhileThisStartRuns(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel)
        let db = try Self.dbStarted(&replay, engine)
        func watches() -> [Duration] {
            replay.actions.compactMap { if case .watchLog("db", _, 1, _, let after) = $0 { after } else { nil } }
        }
        for step in 1...3 { replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1), at: 0.1 * Double(step)) }
        #expect(watches() == [.zero, .milliseconds(200), .milliseconds(400), .milliseconds(800)])
        // Once it has died, nothing is followed any more; a stale end changes nothing.
        let die = try JSONDecoder().decode(
            EngineEvent.self,
            from: Data(
                #"{"Type":"container","Action":"die","Actor":{"ID":"\#(db)","Attributes":{"exitCode":"1"}},"time":1,"timeNano":9000000000000000000}"#
                    .utf8))
        replay.feed(.event(die), at: 0.5)
        replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1), at: 0.6)
        #expect(watches().count == 4)
    }

    @Test(arguments: Replay.engines)
    func aRunningContainerAnEarlierLaunchJudgedIsReadyAtOnce(engine: String) throws {
        // A relaunch finds exactly the run of db (container and start) an earlier launch judged: its ready line may
        // have rotated out of the log since, so it is not looked for again.
        let final = try #require(
            try Replay.finalState(engine, "healthy-chain").first { $0.config.labels["com.docker.compose.service"] == "db" })
        var history = ReadinessHistory.empty
        history.judgedRuns = ["db": ["\(final.id)@\(final.state.startedAt)"]]
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel, containers: "final", history: history)
        replay.begin()
        #expect(replay.service("db")?.state == .ready)
        #expect(replay.service("db")?.readiness == "already running")
        #expect(!replay.actions.contains { if case .watchLog = $0 { true } else { false } })
        // A later run of the same container (restarted since) is not the one judged.
        history.judgedRuns = ["db": ["\(final.id)@2000-01-01T00:00:00Z"]]
        var restarted = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel, containers: "final", history: history)
        restarted.begin()
        #expect(restarted.service("db")?.state == .starting)
        // One the history knows nothing about is looked for, and what readies it says nothing about a start's time.
        var unknown = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel, containers: "final")
        unknown.begin()
        let db = try #require(unknown.service("db")?.containers.first?.id)
        unknown.feed(.logMatched(service: "db", container: db, startSequence: 0, line: "accepting connections"), at: 0.1)
        #expect(unknown.service("db")?.readiness == "already running")
    }

    @Test(arguments: Replay.engines)
    func aLogThatKeepsFailingToBeReadFailsAfterEightTriesInARow(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain", labels: Self.logLabel)
        let db = try Self.dbStarted(&replay, engine)
        // A clean end (the container stopping) resets the count; errors in a row do not.
        for step in 1...7 {
            replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1, error: "HTTP 500: boom"), at: 0.1 * Double(step))
        }
        replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1), at: 0.8)
        for step in 1...7 {
            replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1, error: "HTTP 500: boom"), at: 1 + 0.1 * Double(step))
        }
        #expect(replay.service("db")?.state == .starting)
        replay.feed(.logWatchEnded(service: "db", container: db, startSequence: 1, error: "HTTP 500: boom"), at: 2)
        let failure = try #require(replay.service("db")?.failure)
        #expect(failure.key == "readiness-unavailable")
        #expect(failure.description.contains("8 times in a row") && failure.description.contains("HTTP 500: boom"))
    }

    @Test(arguments: Replay.engines)
    func nothingTheOldRunPrintedCountsOnceARestartIsAskedFor(engine: String) throws {
        // A retry restarts db; until its new start, a match or an end from the old run's follower changes nothing.
        var replay = try Replay(
            engine: engine, scenario: "healthy-chain", policy: Replay.policy(retries: 1, backoff: .milliseconds(100)), labels: Self.logLabel
        )
        let db = try Self.dbStarted(&replay, engine)
        let unhealthy = try JSONDecoder().decode(
            EngineEvent.self,
            from: Data(
                #"{"Type":"container","Action":"health_status: unhealthy","Actor":{"ID":"\#(db)","Attributes":{}},"time":1,"timeNano":9000000000000000000}"#
                    .utf8))
        replay.feed(.event(unhealthy), at: 0.2)
        replay.settle(limit: 0.5)  // the backoff fires: the restart is asked for
        #expect(replay.actions.contains { if case .restart("db", _) = $0 { true } else { false } })
        replay.feed(.logMatched(service: "db", container: db, startSequence: 1, line: "accepting connections"), at: 0.6)
        #expect(replay.service("db")?.state == .starting)
    }

    @Test(arguments: Replay.engines)
    func anHTTPSignalIsProbedEvenWhileTheEngineIsSlowToSpawn(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "die-exit-1", labels: ["app": ["launch.ready_http": "8080/health"]])
        replay.begin()
        let app = try #require(replay.service("app")?.containers.first?.id)
        let start = try #require(try Replay.events(engine, "die-exit-1").first { $0.action == "start" })
        replay.feed(.event(start), at: 0.05)
        let first = try #require(replay.actions.last { if case .probe = $0 { true } else { false } })
        guard case .probe(_, _, let sequence, let command, let timeout, _) = first else { return }
        #expect(command == ReadySignal.httpCommand(port: 8080, path: "/health"))
        #expect(timeout == ReadySignal.httpTimeout)
        // A 3 s exec spawn would make a healthcheck probe pointless next to the engine's own check; this check
        // is launch's alone, so the next one is still sent.
        let before = replay.actions.count
        replay.feed(
            .probed(service: "app", container: app, startSequence: sequence, outcome: .failed(exitCode: 1), spawnSeconds: 3), at: 0.3)
        #expect(replay.actions[before...].contains { if case .probe = $0 { true } else { false } })
        replay.feed(.probed(service: "app", container: app, startSequence: sequence, outcome: .passed, spawnSeconds: 0.05), at: 0.6)
        #expect(replay.service("app")?.state == .ready)
        #expect(replay.service("app")?.readiness == "http")
    }

    @Test(arguments: Replay.engines)
    func anHTTPCheckTheImageCannotRunFailsAtOnce(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "die-exit-1", labels: ["app": ["launch.ready_http": "8080/health"]])
        replay.begin()
        let app = try #require(replay.service("app")?.containers.first?.id)
        replay.feed(.event(try #require(try Replay.events(engine, "die-exit-1").first { $0.action == "start" })), at: 0.05)
        replay.feed(.probed(service: "app", container: app, startSequence: 1, outcome: .unavailable("exit 127")), at: 0.3)
        let failure = try #require(replay.service("app")?.failure)
        #expect(failure.key == "readiness-unavailable")
        #expect(failure.description.contains("curl, wget or python3"))
        #expect(replay.machine.isFinished)
    }
}
