import Foundation
import Testing

@testable import LaunchKit

/// A lost engine as its own verdict: the liveness rule, the launch machine ending on it, what a start refusal means,
/// and the unwinding after a loss that never claims what it did not see happen.
@Suite("Engine loss")
struct EngineLossTests {
    @Test func silenceIsALossOnlyOnceItHasLastedTheGraceWithNothingAnsweredBetween() {
        var liveness = EngineLiveness()
        #expect(liveness.silent("refused", at: 10) == nil)
        #expect(liveness.silent("refused", at: 12) == nil)
        liveness.answered()  // a blip: counting starts again
        #expect(liveness.silent("refused", at: 13) == nil)
        #expect(liveness.silent("refused", at: 16) == nil)
        #expect(liveness.silent("refused", at: 17) == 4)
        // One slow answer alone is never a loss, however long it took (an ssh dial).
        var slow = EngineLiveness()
        #expect(slow.silent("no answer", at: 6, waited: 6) == nil)
        // A frozen engine: the ping that timed out was sent when it went; its wait counts.
        var frozen = EngineLiveness()
        #expect(frozen.silent("no answer", at: 2, waited: 2) == nil)
        #expect(frozen.silent("no answer", at: 5, waited: 2) == 5)
        #expect(frozen.lastSilence == "no answer")
    }

    @Test(arguments: Replay.engines)
    func theMachineEndsOnALostEngineWithoutJudgingAnyService(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        replay.play(Array(try Replay.events(engine, "healthy-chain").prefix(1)))  // db started
        for second in 1...3 { replay.feed(.engineSilent("connection refused", waited: 0), at: Double(second)) }
        replay.feed(.engineAnswered, at: 3.5)
        #expect(!replay.machine.isFinished, "an answer in between starts the count again")
        for second in 4...8 { replay.feed(.engineSilent("connection refused", waited: 0), at: Double(second)) }
        #expect(replay.machine.isFinished)
        #expect(replay.machine.engineLost?.seconds == 4)
        #expect(replay.machine.engineLost?.lastError == "connection refused")
        #expect(!replay.machine.coreFailed)
        #expect(replay.machine.services.allSatisfy { $0.failure == nil }, "no service is failed by its engine going away")
    }

    @Test func aStartRefusalIsConfigurationOnlyWhenItsWordsSaySo() {
        #expect(
            StartRefusal(
                .http(
                    status: 500,
                    message: "driver failed programming external connectivity: Bind for 0.0.0.0:80 failed: port is already allocated"))
                == .rejected("driver failed programming external connectivity: Bind for 0.0.0.0:80 failed: port is already allocated"))
        #expect(
            StartRefusal(.http(status: 500, message: "OCI runtime create failed: exec: \"nope\": executable file not found in $PATH"))
                == .rejected("OCI runtime create failed: exec: \"nope\": executable file not found in $PATH"))
        #expect(
            StartRefusal(.http(status: 500, message: "context deadline exceeded"))
                == .engineFault("engine error 500: context deadline exceeded"))
        #expect(StartRefusal(.http(status: 503, message: "")) == .engineFault("engine error 503: "))
        #expect(
            StartRefusal(.http(status: 409, message: "container is marked for removal")) == .rejected("container is marked for removal"))
        #expect(StartRefusal(.connectionRefused("/x.sock")) == .noAnswer("the Docker daemon is not answering on /x.sock"))
        #expect(
            StartRefusal(.io(ECONNRESET, "connection closed before the response"))
                == .noAnswer("connection closed before the response (errno \(ECONNRESET))"))
    }

    @Test func anEngineFaultOnStartIsRetriedAndClassedAsTheEngines() throws {
        var replay = try Replay(engine: "docker-20.10", scenario: "healthy-chain", policy: Replay.policy(retries: 1))
        replay.begin()
        replay.feed(.startFailed(service: "db", .engineFault("engine error 500: context deadline exceeded")), at: 0.1)
        #expect(replay.service("db")?.state == .retrying)
        #expect(FailureKind.engineFault("x").classification == "engine")
        #expect(!FailureKind.engineFault("x").isDeterministic)
    }

    static func undo(_ engine: LoudEngine) -> LaunchUndo {
        var undo = LaunchUndo()
        undo.push(
            .removeCreated(
                Rollback(client: engine, project: "shop"),
                before: ProjectSnapshot(containers: [], runningContainers: [], networks: [], volumes: []),
                levels: [["db"]]))
        return undo
    }

    @Test func afterALossNothingIsTriedAgainstAnEngineThatStillDoesNotAnswer() async throws {
        let engine = LoudEngine()
        engine.ping = { throw EngineError.connectionRefused("/loud-fake.sock") }
        let output = CapturedOutput()
        let undone = await Self.undo(engine).unwindAfterLoss(report: ProgressReporter(console: output.console()))
        #expect(undone == nil)
        #expect(engine.calls == ["ping"], "no listing, no removal: nothing is claimed")
        #expect(!output.stdout.contains("rollback") && !output.stderr.contains("rollback"))
    }

    @Test func afterALossAnEngineThatAnswersAgainIsRolledBackAndSaidSo() async throws {
        let engine = LoudEngine()
        engine.ping = { true }
        engine.listContainers = { _, _ in [try EngineDocuments.container("db-new", service: "db", project: "shop", created: 1)] }
        engine.removeContainer = { _, _ in }
        engine.listNetworks = { _ in [try EngineDocuments.network("net-new", "shop_default")] }
        engine.removeNetwork = { _ in }
        engine.listVolumes = { _ in [] }
        let output = CapturedOutput()
        let undone = try #require(await Self.undo(engine).unwindAfterLoss(report: ProgressReporter(console: output.console())))
        #expect(undone.removedContainers.count == 1)
        #expect(undone.removedNetworks == ["shop_default"])
        #expect(undone.errors.isEmpty)
        #expect(output.stdout.contains("==> rollback") || output.stderr.contains("==> rollback"))
    }

    @Test func anEngineThatFreezesDuringTheRemovalIsGivenUpOnAndNothingIsClaimed() async throws {
        let engine = LoudEngine()
        engine.ping = { true }
        engine.listContainers = { _, _ in
            Thread.sleep(forTimeInterval: 2)
            return []
        }
        engine.listNetworks = { _ in [] }
        engine.listVolumes = { _ in [] }
        let output = CapturedOutput()
        let undone = await Self.undo(engine).unwindAfterLoss(report: ProgressReporter(console: output.console()), limit: .milliseconds(200))
        #expect(undone == nil)
    }

    @Test func theSummaryNeverSaysRolledBackOverARollbackWithErrors() {
        var rollback = RollbackReport()
        #expect(LaunchSummary.rollbackWords(rollback) == "; rolled back")
        rollback.errors = ["network shop_default: connection refused"]
        #expect(!LaunchSummary.rollbackWords(rollback).contains("rolled back"))
        var failure = CreateFailure(evidence: [], command: "docker compose up --no-start")
        failure.undoErrors = 2
        #expect(!failure.summary.contains("rolled back"))
    }

    @Test func theLostEngineFailureSaysWhatMayBeLeftAndHowToRemoveIt() {
        let silence = EngineSilence(endpoint: "unix:///x.sock", phase: "start", seconds: 4.2, lastError: "connection refused")
        let lost = EngineLost(silence: silence, environment: "dev", rolledBack: false, leftovers: ["containers shop-db-1"])
        #expect(lost.exitCode.rawValue == 6)
        #expect(
            lost.summary.contains("unix:///x.sock") && lost.summary.contains("during start") && !lost.summary.contains("was rolled back"))
        #expect(lost.evidence.contains("may still exist: containers shop-db-1"))
        #expect(lost.hint?.contains("`launch down dev`") == true)
        let nothing = EngineLost(silence: silence, environment: "dev", rolledBack: false, leftovers: [])
        #expect(nothing.summary.contains("nothing of the stack had been created"))
    }

    static func twoRunning(_ engine: LoudEngine) throws {
        let containers = [
            try EngineDocuments.container("a", service: "a", project: "shop"),
            try EngineDocuments.container("b", service: "b", project: "shop"),
        ]
        engine.listContainers = { _, _ in containers }
        engine.stopContainer = { _ in }
        engine.listVolumes = { _ in [] }
        engine.listNetworks = { _ in [] }
    }

    @Test func aTeardownTheEngineStopsAnsweringSaysWhatItRemovedAndWhatIsStillThere() async throws {
        let engine = LoudEngine()
        try Self.twoRunning(engine)
        engine.removeContainer = { id, _ in if id == "b" { throw EngineError.connectionRefused("/loud-fake.sock") } }
        let stopped = try await #require(throws: TeardownStopped.self) {
            try await Teardown(client: engine, project: "shop").run(levels: [["b"], ["a"]])
        }
        #expect(stopped.exitCode == .engineLost)
        #expect(stopped.report.removedContainers.count == 1)
        #expect(stopped.evidence.contains("still there: containers shop-b-1"), "\(stopped.evidence)")
        #expect(stopped.evidence.contains("still there: the project's networks"))
        #expect(stopped.summary.contains("/loud-fake.sock") && stopped.summary.contains("stopped answering"))
    }

    @Test func anInterruptedTeardownStopsAtItsNextStepAndClaimsNothingMore() async throws {
        let engine = LoudEngine()
        try Self.twoRunning(engine)
        let task = Task { () async throws -> Teardown.Report in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await Teardown(client: engine, project: "shop").run(levels: [])
        }
        let stopped = try await #require(throws: TeardownStopped.self) { try await task.value }
        #expect(stopped.exitCode == .interrupted)
        #expect(stopped.report.removedContainers.isEmpty)
        #expect(!engine.calls.contains { $0.hasPrefix("remove") || $0.hasPrefix("stop") }, "\(engine.calls)")
        #expect(stopped.evidence.first?.hasPrefix("still there: containers") == true, "\(stopped.evidence)")
    }
}
