import Foundation
import Testing

@testable import LaunchKit

/// One failure, recorded on one engine and on a swarm, read by each engine's machine: the same verdict, the same
/// class, the same next step. The proof that compose and swarm share one vocabulary.
@Suite("One vocabulary for both engines")
struct CrossEngineVerdictTests {
    /// The swarm's view of the `unhealthy` scenario: a task whose container turned unhealthy while running.
    static func swarmVerdict(_ observations: [[SwarmRollout.TaskObservation]], healthcheck: Bool) -> SwarmRollout.Record? {
        var rollout = SwarmRollout(services: [SwarmRolloutTests.service("app", healthcheck: healthcheck)])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("app"), now: 0)
        for (index, tasks) in observations.enumerated() where rollout.records["app"]?.state == .starting {
            _ = rollout.handle(.observed("app", tasks), now: Double(index + 1))
        }
        return rollout.records["app"]
    }

    /// The next step each engine's diagnosis gives, built as each engine builds it.
    static func next(_ failure: FailureKind, swarm: Bool) -> String {
        Diagnostics(
            client: LoudEngine(), redact: .none, environment: "dev", project: swarm ? "shop_app" : "shop",
            swarmService: swarm ? "shop_app" : nil
        )
        .nextStep(service: "app", failure: failure, hasProbes: true, hasLogs: true)
    }

    @Test(arguments: Replay.engines)
    func anUnhealthyServiceReadsTheSameOnOneMachineAndOnASwarm(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "unhealthy")
        replay.begin()
        replay.play(try Replay.events(engine, "unhealthy"))
        let compose = try #require(replay.service("app")?.failure)

        let running = SwarmRollout.TaskObservation(
            id: "t1", desiredState: "running", state: "running", exitCode: 0, health: "starting", containerID: "c1")
        var unhealthy = running
        unhealthy.health = "unhealthy"
        let swarm = try #require(Self.swarmVerdict([[running], [unhealthy]], healthcheck: true))
        #expect(swarm.state == .failed)
        #expect(swarm.failureKind == compose)
        #expect(swarm.failedContainers == ["c1"])
        #expect(swarm.failureKind?.classification == compose.classification)
        #expect(Self.next(try #require(swarm.failureKind), swarm: true) == Self.next(compose, swarm: false))
    }

    @Test(arguments: Replay.engines)
    func aServiceThatExitsReadsTheSameOnOneMachineAndOnASwarm(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "die-exit-1", policy: Replay.policy(stability: .seconds(3)))
        replay.begin()
        replay.play(try Replay.events(engine, "die-exit-1"))
        let compose = try #require(replay.service("app")?.failure)
        #expect(compose == .exited(code: 1))

        // The swarm's words for the same exit (as crash.json recorded them for exit 3).
        let failed = SwarmRollout.TaskObservation(
            id: "t1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1, containerID: "c1")
        let swarm = try #require(Self.swarmVerdict([[failed]], healthcheck: false))
        #expect(swarm.failureKind == compose)
        #expect(swarm.failureKind?.key == compose.key)
        #expect(swarm.failureKind?.classification == compose.classification)
        // The same advice, each in its engine's own commands: never a Compose project a swarm does not have.
        let onSwarm = Self.next(try #require(swarm.failureKind), swarm: true), onOne = Self.next(compose, swarm: false)
        #expect(onSwarm.contains("docker service ps --no-trunc shop_app") && !onSwarm.contains("docker compose"), "\(onSwarm)")
        #expect(onOne.contains("docker compose --project-name shop up app"), "\(onOne)")
        #expect(onSwarm.hasPrefix("read the log above") && onOne.hasPrefix("read the log above"))
    }

    @Test func theRecordedSwarmCrashIsAnExitWithItsCode() throws {
        var rollout = SwarmRollout(services: [SwarmRolloutTests.service("crash")])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("crash"), now: 0)
        _ = try SwarmRolloutTests.replay(&rollout, "crash", fixture: "crash")
        #expect(rollout.records["crash"]?.failureKind == .exited(code: 3))
        #expect(rollout.records["crash"]?.failureKind?.classification == "transient")
    }
}
