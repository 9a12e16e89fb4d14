import Foundation
import Testing
import Yams

@testable import LaunchKit

/// Swarm decisions on task sequences recorded from a real single-node swarm (Docker 20.10,
/// `Fixtures/swarm-tasks/rec.py` over `stack.yml`): each file is the list of distinct polls of one service.
@Suite struct SwarmRolloutTests {
    struct Poll: Decodable {
        var at: Double
        var tasks: [Task]
        struct Task: Decodable {
            var id: String
            var desiredState: String
            var state: String
            var error: String?
            var exitCode: Int?
            var health: String?
        }
        var observations: [SwarmRollout.TaskObservation] {
            tasks.map {
                .init(id: $0.id, desiredState: $0.desiredState, state: $0.state, error: $0.error, exitCode: $0.exitCode, health: $0.health)
            }
        }
    }

    static func polls(_ name: String) throws -> [Poll] {
        try JSONDecoder().decode([Poll].self, from: Data(Fixture.text("swarm-tasks/\(name).json").utf8))
    }

    /// `dependencies`: waited for until ready (`service_healthy`); `requires`: as written, conditions and all.
    static func service(
        _ name: String, job: Bool = false, healthcheck: Bool = false, dependencies: [String] = [],
        requires: [Dependency] = [], serviceClass: ServiceClass = .core, stability: Duration = .seconds(2)
    ) -> SwarmRollout.Service {
        let kind: ReadinessRule.Kind = job ? .completes : (healthcheck ? .healthy : .stable(stability))
        return .init(
            name: name, serviceClass: serviceClass, replicas: 1, isJob: job, hasHealthcheck: healthcheck,
            readiness: .init(kind: kind, deadline: .seconds(60)),
            dependencies: dependencies.map { Dependency(service: $0, condition: .healthy) } + requires)
    }

    /// Feeds one recorded service's polls (at their recorded times) until the service settles.
    static func replay(_ rollout: inout SwarmRollout, _ name: String, fixture: String, offset: Double = 0) throws -> [SwarmRollout.Action] {
        var actions: [SwarmRollout.Action] = []
        for poll in try polls(fixture) where !(rollout.records[name]?.state.isTerminal ?? true) {
            actions += rollout.handle(.observed(name, poll.observations), now: offset + poll.at)
        }
        return actions
    }

    @Test func scalesInDependencyOrderAsDependenciesBecomeReady() throws {
        var rollout = SwarmRollout(services: [
            Self.service("db", healthcheck: true),
            Self.service("migrate", job: true, dependencies: ["db"]),
            Self.service("app", dependencies: ["migrate"]),
        ])
        #expect(rollout.handle(.begin, now: 0) == [.changed("db", .starting), .scale("db", count: 1)])
        _ = rollout.handle(.scaled("db"), now: 0)
        #expect(rollout.polling == ["db"])
        let afterDB = try Self.replay(&rollout, "db", fixture: "db")
        // Only the poll that saw the task healthy decides: `starting` and `preparing` polls change nothing.
        #expect(afterDB == [.changed("db", .ready), .changed("migrate", .starting), .scale("migrate", count: 1)])
        #expect(rollout.records["db"]?.readiness == "healthcheck")
        _ = rollout.handle(.scaled("migrate"), now: 5)
        let afterJob = try Self.replay(&rollout, "migrate", fixture: "migrate", offset: 5)
        #expect(afterJob == [.changed("migrate", .ready), .changed("app", .starting), .scale("app", count: 1)])
        #expect(rollout.records["migrate"]?.readiness == "exit 0")
        _ = rollout.handle(.scaled("app"), now: 10)
        let running = SwarmRollout.TaskObservation(id: "t1", desiredState: "running", state: "running", exitCode: 0)
        #expect(rollout.handle(.observed("app", [running]), now: 11) == [])
        // Ready only after the stability window without a replaced task.
        #expect(rollout.handle(.observed("app", [running]), now: 13.5) == [.changed("app", .ready), .finish])
        #expect(rollout.settled)
    }

    @Test func aCrashThatLooksRunningIsNotReadyAndFailsOnTheReplacedTask() throws {
        var rollout = SwarmRollout(services: [Self.service("crash"), Self.service("app", dependencies: ["crash"])])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("crash"), now: 0)
        let actions = try Self.replay(&rollout, "crash", fixture: "crash")
        #expect(actions == [.changed("crash", .failed), .changed("app", .blocked(by: "crash")), .finish])
        #expect(rollout.records["crash"]?.failure == "task: non-zero exit (3)")
        #expect(rollout.aborted)
    }

    @Test func anOptionalFailureBlocksOnlyItsDependents() {
        var rollout = SwarmRollout(services: [
            Self.service("db"), Self.service("extra", serviceClass: .optional),
            Self.service("ui", dependencies: ["extra"], serviceClass: .optional),
        ])
        _ = rollout.handle(.begin, now: 0)
        let failed = SwarmRollout.TaskObservation(
            id: "t", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        let actions = rollout.handle(.observed("extra", [failed]), now: 1)
        #expect(actions == [.changed("extra", .failed), .changed("ui", .blocked(by: "extra"))])
        #expect(!rollout.aborted)
        #expect(rollout.polling == [])  // db was not yet acknowledged as scaled
    }

    @Test func aFailedTaskIsJudgedWithItsNode() {
        var rollout = SwarmRollout(services: [Self.service("app")])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("app"), now: 0)
        let failed = SwarmRollout.TaskObservation(
            id: "t1234567890abcdef", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (3)", exitCode: 3,
            node: "twonode-b")
        _ = rollout.handle(.observed("app", [failed]), now: 1)
        #expect(rollout.records["app"]?.failure == "task: non-zero exit (3) (on node twonode-b)")
        #expect(rollout.records["app"]?.taskErrors == ["task t1234567890a on node twonode-b: task: non-zero exit (3) (exit 3)"])
    }

    @Test func aTaskTheSwarmStoppedAsUnhealthyIsUnhealthyOnAnyNode() {
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true)])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("api"), now: 0)
        let stopped = SwarmRollout.TaskObservation(
            id: "t1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (137): dockerexec: unhealthy container",
            exitCode: 0, node: "twonode-b")
        _ = rollout.handle(.observed("api", [stopped]), now: 1)
        #expect(rollout.records["api"]?.failureKind == .unhealthy)
        let refused = SwarmRollout.TaskObservation(
            id: "t2", desiredState: "shutdown", state: "rejected", error: "No such image: x", exitCode: 0)
        var other = SwarmRollout(services: [Self.service("app")])
        _ = other.handle(.begin, now: 0)
        _ = other.handle(.scaled("app"), now: 0)
        _ = other.handle(.observed("app", [refused]), now: 1)
        #expect(other.records["app"]?.failureKind == .startRejected("No such image: x"), "never exited with code 0")
    }

    @Test func aMissingImageIsSaidWithItsNodeWhereItIsAndTheFix() {
        let error = "No such image: shop/only-a:1"
        #expect(SwarmImages.missingImage(in: error) == "shop/only-a:1")
        #expect(SwarmImages.missingImage(in: "task: non-zero exit (1)") == nil)
        let words = SwarmImages.words(image: "shop/only-a:1", node: "twonode-b", presentOn: "unix:///a.sock")
        #expect(words.hasPrefix("image shop/only-a:1 is not on node twonode-b (it is on the engine launch talks to, unix:///a.sock)"))
        #expect(words.contains("`docker save shop/only-a:1 | docker --context twonode-b load`"))
        #expect(SwarmStatus.nodeList(["a", "b", "b"]) == "a, b ×2")
    }

    /// Images before deploying: each service's candidate nodes (schedulable, its constraints, its GPUs), what the
    /// reachable ones have and what the registry says decide it before anything exists.
    @Test func anImageNoNodeThatMayRunTheServiceHasFailsBeforeDeployingAndOneSomeLackIsAWarning() {
        func node(_ id: String, gpus: Int = 0, state: String = "ready") -> SwarmNode {
            SwarmNode(
                id: id, hostname: "twonode-\(id)", role: id == "a" ? "manager" : "worker", availability: "active", state: state,
                genericResources: gpus > 0 ? [SwarmChecks.gpuResource: gpus] : [:])
        }
        var pinned = ComposeService(name: "app", image: "shop/only-a:1")
        pinned.placementConstraints = ["node.hostname == twonode-b"]
        let gpu = ComposeService(name: "llm", image: "vllm:1", gpuRequests: [GPURequest(count: .exactly(1))])
        let free = ComposeService(name: "web", image: "shop/only-a:1")
        let stack = ComposeStack(services: [pinned, gpu, free])
        let needs = SwarmImages.needs(in: stack, nodes: [node("a"), node("b", gpus: 2), node("c", state: "down")])
        #expect(needs.map(\.candidates) == [["twonode-b"], ["twonode-b"], ["twonode-a", "twonode-b"]], "down nodes never")

        let present: [String: Set<String>] = ["twonode-a": ["shop/only-a:1"], "twonode-b": ["vllm:1"]]
        let refused = SwarmImages.check(needs, present: present, registry: ["shop/only-a:1": .lacks])
        #expect(refused.status == .fail)
        #expect(
            refused.evidence.hasPrefix(
                "app: image shop/only-a:1 is not on node twonode-b, the only node that may run it (it is on twonode-a; no registry has it)"),
            "\(refused.evidence)")
        #expect(refused.evidence.contains("web: the swarm may place it on node twonode-b, which lacks image shop/only-a:1"))
        #expect(refused.remediation?.contains("`docker save shop/only-a:1 | docker --context twonode-b load`") == true)
        // A registry that has it: the node pulls it at start. One that does not answer: a warning, never a refusal.
        #expect(SwarmImages.check(needs, present: present, registry: ["shop/only-a:1": .has]).status == .ok)
        #expect(SwarmImages.check(needs, present: present, registry: ["shop/only-a:1": .silent]).status == .warn)
        // A node launch cannot reach is the swarm's to judge (its rejection is explained when it happens).
        #expect(SwarmImages.check(needs, present: ["twonode-a": ["shop/only-a:1"]], registry: [:]).status == .ok)
        let fine = SwarmImages.check(
            needs, present: ["twonode-a": ["shop/only-a:1"], "twonode-b": ["shop/only-a:1", "vllm:1"]], registry: [:])
        #expect(fine.status == .ok)
        #expect(fine.evidence == "every service's image is on the nodes that may run it (checked on twonode-a, twonode-b)")
    }

    @Test func aNodeLostOrDrainedDuringALaunchIsSaidWithWhatItCarried() {
        func node(_ id: String, state: String = "ready", availability: String = "active") -> SwarmNode {
            SwarmNode(id: id, hostname: "twonode-\(id)", role: id == "a" ? "manager" : "worker", availability: availability, state: state)
        }
        var watch = SwarmNodeWatch()
        #expect(watch.due(at: 0))
        #expect(watch.observe([node("a"), node("b")], at: 0, carried: [:]) == .init(), "the first read is the baseline")
        #expect(!watch.due(at: 0.5))
        let change = watch.observe([node("a"), node("b", state: "down")], at: 12.3, carried: ["api": ["twonode-b"], "db": ["twonode-a"]])
        #expect(change.lost == ["twonode-b"])
        #expect(
            change.lines == [
                "node twonode-b went down at 12.3s: it carried tasks of api; the swarm places them on other nodes, and what was ready there waits again"
            ])
        #expect(watch.losses == ["twonode-b": "node twonode-b went down at 12.3s"], "only the node lost")
        #expect(watch.observe([node("a"), node("b")], at: 20, carried: [:]).lines == ["node twonode-b is back (ready, active) at 20.0s"])
        let drained = watch.observe([node("a", availability: "drain"), node("b")], at: 21, carried: [:])
        #expect(drained.lines.first?.contains("was set to drain") == true)
        #expect(drained.lost == ["twonode-a"])
    }

    /// Recorded on the two-node swarm: `app` (2 replicas, spread) ready on both nodes, node B's dockerd killed. Until
    /// the swarm marks B down its task there still says running; then app waits again, the replaced task is not
    /// counted where it was, and app is ready once the new task on A has been stable: on twonode-a only.
    @Test func aServiceReadyOnANodeThatIsLostWaitsAgainUntilItsTaskIsPlacedElsewhere() {
        var app = Self.service("app", stability: .seconds(5))
        app.replicas = 2
        var rollout = SwarmRollout(services: [app, Self.service("anchor", healthcheck: true)])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("app"), now: 0)
        func task(_ id: String, _ node: String, desired: String = "running", _ state: String = "running") -> SwarmRollout.TaskObservation {
            .init(id: id, desiredState: desired, state: state, exitCode: 0, node: node)
        }
        _ = rollout.handle(.observed("app", [task("a1", "twonode-a"), task("b1", "twonode-b")]), now: 1)
        #expect(
            rollout.handle(.observed("app", [task("a1", "twonode-a"), task("b1", "twonode-b")]), now: 6.5) == [.changed("app", .ready)])
        #expect(rollout.handle(.nodeLost("twonode-a-not-this"), now: 13) == [])
        #expect(rollout.handle(.nodeLost("twonode-b"), now: 13.4) == [.changed("app", .starting)])
        #expect(rollout.polling.contains("app"))
        let moving = [task("a1", "twonode-a"), task("b1", "twonode-b", desired: "shutdown"), task("a2", "twonode-a", "assigned")]
        #expect(rollout.handle(.observed("app", moving), now: 14) == [])
        #expect(rollout.records["app"]?.nodes == ["twonode-a"], "the replaced task is not where app runs")
        let moved = [task("a1", "twonode-a"), task("b1", "twonode-b", desired: "shutdown"), task("a2", "twonode-a")]
        #expect(rollout.handle(.observed("app", moved), now: 20) == [])
        #expect(rollout.handle(.observed("app", moved), now: 25.5) == [.changed("app", .ready)])
        #expect(rollout.records["app"]?.lostNodes == ["twonode-b"])
        // A service with no task on the lost node, or one still starting, is not moved back.
        #expect(rollout.records["anchor"]?.state == .starting)
    }

    @Test func anOptionalDependencyThatFailedDoesNotBlockItsDependentAsOnOneMachine() {
        let optional = Dependency(service: "extra", condition: .healthy, required: false)
        var rollout = SwarmRollout(services: [
            Self.service("extra", serviceClass: .optional), Self.service("ui", requires: [optional], serviceClass: .optional),
        ])
        _ = rollout.handle(.begin, now: 0)
        let failed = SwarmRollout.TaskObservation(
            id: "t", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        let actions = rollout.handle(.observed("extra", [failed]), now: 1)
        #expect(actions == [.changed("extra", .failed), .changed("ui", .starting), .scale("ui", count: 1)])
        // The compose machine takes the same decision through the same gate.
        let gate = DependencyGate.status(of: [optional]) { _ in DependencyGate.Dependee(state: .failed, started: true) }
        #expect(gate == .satisfied)
    }

    @Test func serviceStartedHoldsOnceATaskHasAContainer() {
        var rollout = SwarmRollout(services: [
            Self.service("db", healthcheck: true), Self.service("api", requires: [Dependency(service: "db", condition: .started)]),
        ])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("db"), now: 0)
        let pending = SwarmRollout.TaskObservation(id: "t", desiredState: "running", state: "preparing")
        #expect(rollout.handle(.observed("db", [pending]), now: 0.5) == [])
        let starting = SwarmRollout.TaskObservation(id: "t", desiredState: "running", state: "running", exitCode: 0, health: "starting")
        #expect(rollout.handle(.observed("db", [starting]), now: 1) == [.changed("api", .starting), .scale("api", count: 1)])
    }

    @Test func twoFailedCoreServicesNameTheSameCulpritOnEveryRun() {
        let failed = SwarmRollout.TaskObservation(
            id: "t", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        for order in [["a", "b"], ["b", "a"]] {
            var blockedBy: Set<String> = []
            for _ in 0..<20 {
                var rollout = SwarmRollout(services: [
                    Self.service("a"), Self.service("b"), Self.service("app", dependencies: ["a", "b"]),
                    Self.service("web", dependencies: ["app"]),
                ])
                _ = rollout.handle(.begin, now: 0)
                var actions: [SwarmRollout.Action] = []
                for name in order { actions += rollout.handle(.observed(name, [failed]), now: 1) }
                for case .changed(_, .blocked(let by)) in actions { blockedBy.insert(by) }
            }
            // The failure that ended the run, every time: the culprit follows the events, never a Dictionary's order.
            #expect(blockedBy == [order[0]])
        }
    }

    @Test func anUnhealthyContainerFailsTheService() {
        var rollout = SwarmRollout(services: [Self.service("sick", healthcheck: true)])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("sick"), now: 0)
        let starting = SwarmRollout.TaskObservation(id: "t", desiredState: "running", state: "starting", exitCode: 0, health: "starting")
        #expect(rollout.handle(.observed("sick", [starting]), now: 1) == [])
        var unhealthy = starting
        unhealthy.health = "unhealthy"
        #expect(rollout.handle(.observed("sick", [unhealthy]), now: 2) == [.changed("sick", .failed), .finish])
    }

    @Test func theDeadlineCountsFromTheContainerNotFromTheScaleUp() throws {
        var rollout = SwarmRollout(services: [Self.service("sick", healthcheck: true)])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("sick"), now: 100)
        // The recorded `sick` task never became healthy. Its first poll is `preparing` (no container yet), then
        // `starting`: the 60 s deadline counts from the first poll with a container.
        let polls = try Self.polls("sick")
        let preparing = try #require(polls.first)
        let last = try #require(polls.last)
        #expect(preparing.tasks.first?.state == "preparing")
        #expect(rollout.handle(.observed("sick", preparing.observations), now: 130) == [])
        #expect(rollout.handle(.observed("sick", last.observations), now: 140) == [])
        #expect(rollout.handle(.observed("sick", last.observations), now: 199) == [])
        #expect(rollout.handle(.observed("sick", last.observations), now: 201) == [.changed("sick", .failed), .finish])
        #expect(rollout.records["sick"]?.failure?.hasPrefix("not ready within") == true)
    }

    @Test func aTaskThatNeverGetsAContainerFailsAtTheSchedulingDeadline() throws {
        var rollout = SwarmRollout(services: [Self.service("db")])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("db"), now: 0)
        let pending = SwarmRollout.TaskObservation(id: "t", desiredState: "running", state: "pending")
        #expect(rollout.handle(.observed("db", [pending]), now: 59) == [])
        #expect(rollout.handle(.observed("db", [pending]), now: 61) == [.changed("db", .failed), .finish])
        #expect(rollout.records["db"]?.failure == "no task got a container within 1m (tasks: pending)")
    }

    @Test func aRefusedScaleUpFailsTheService() {
        var rollout = SwarmRollout(services: [Self.service("db")])
        _ = rollout.handle(.begin, now: 0)
        #expect(rollout.handle(.scaleFailed("db", "update out of sequence"), now: 0) == [.changed("db", .failed), .finish])
    }

    @Test func anUpdateJudgesEveryServiceAtOnceAndScalesNothing() {
        var rollout = SwarmRollout(
            services: [
                Self.service("db", healthcheck: true),
                Self.service("app", dependencies: ["db"]),
            ], mode: .update)
        // Both already run: nothing is scaled, both are under way from the start.
        #expect(rollout.handle(.begin, now: 0) == [.changed("db", .starting), .changed("app", .starting)])
        #expect(rollout.polling == ["db", "app"])
        let healthy = SwarmRollout.TaskObservation(id: "old", desiredState: "running", state: "running", exitCode: 0, health: "healthy")
        #expect(rollout.handle(.observed("db", [healthy]), now: 0.3) == [.changed("db", .ready)])
        let running = SwarmRollout.TaskObservation(id: "old2", desiredState: "running", state: "running", exitCode: 0)
        #expect(rollout.handle(.observed("app", [running]), now: 0.3) == [])
        #expect(rollout.handle(.observed("app", [running]), now: 2.4) == [.changed("app", .ready), .finish])
    }

    @Test func aRollingServiceIsReadyOnlyAfterTheSwarmCompletesItsUpdate() {
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true).rolling()], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        // The old task is still healthy while the new one starts: that says nothing about the new spec.
        let old = SwarmRollout.TaskObservation(id: "old", desiredState: "running", state: "running", exitCode: 0, health: "healthy")
        let new = SwarmRollout.TaskObservation(id: "new", desiredState: "running", state: "starting", health: "starting")
        #expect(rollout.handle(.update("api", nil), now: 0.2) == [])
        #expect(rollout.handle(.observed("api", [old, new]), now: 0.2) == [])
        #expect(rollout.handle(.update("api", .init(state: "updating", message: "update in progress")), now: 1) == [])
        #expect(rollout.handle(.observed("api", [old, new]), now: 1) == [])
        let replaced = SwarmRollout.TaskObservation(id: "old", desiredState: "shutdown", state: "running", exitCode: 0, health: "healthy")
        let newHealthy = SwarmRollout.TaskObservation(id: "new", desiredState: "running", state: "running", exitCode: 0, health: "healthy")
        #expect(rollout.handle(.update("api", .init(state: "completed", message: "update completed")), now: 4) == [])
        #expect(rollout.handle(.observed("api", [replaced, newHealthy]), now: 4) == [.changed("api", .ready), .finish])
        #expect(rollout.records["api"]?.readiness == "healthcheck")
    }

    /// A recorded update (`Fixtures/swarm-tasks/rec-update.py`): the service's update status and its tasks, as the
    /// driver feeds them (tasks from before the deploy only while they are meant to run).
    struct UpdatePoll: Decodable {
        var at: Double
        var update: Status?
        var tasks: [Poll.Task]
        struct Status: Decodable { var state: String; var message: String? }
    }

    static func replayUpdate(_ rollout: inout SwarmRollout, _ name: String, fixture: String) throws -> [SwarmRollout.Action] {
        let polls = try JSONDecoder().decode([UpdatePoll].self, from: Data(Fixture.text("swarm-tasks/\(fixture).json").utf8))
        var actions: [SwarmRollout.Action] = []
        for poll in polls where !(rollout.records[name]?.state.isTerminal ?? true) {
            actions += rollout.handle(.update(name, poll.update.map { .init(state: $0.state, message: $0.message) }), now: poll.at)
            if rollout.records[name]?.state.isTerminal ?? true { break }
            actions += rollout.handle(.observed(name, Poll(at: poll.at, tasks: poll.tasks).observations), now: poll.at)
        }
        return actions
    }

    @Test func aRecordedUpdateIsReadyWhenTheSwarmCompletesItNotWhenTheNewTaskIsFirstHealthy() throws {
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true).rolling()], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        // At 2.07 s the new task is running and healthy, but the swarm still watches it (monitor window).
        #expect(try Self.replayUpdate(&rollout, "api", fixture: "update-completed") == [.changed("api", .ready), .finish])
        #expect(rollout.records["api"]?.readyAt == 4.2)
    }

    @Test func aRecordedRolledBackUpdateFailsOnTheSwarmsVerdict() throws {
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true).rolling()], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        // The old task stays healthy throughout (start-first): it never makes the new spec ready.
        #expect(try Self.replayUpdate(&rollout, "api", fixture: "update-rolled-back") == [.changed("api", .failed), .finish])
        #expect(rollout.records["api"]?.update?.state == "rollback_started")
        #expect(
            rollout.records["api"]?.failure?.contains("update rolled back due to failure or early termination of task fatmbe2hgph5") == true
        )
    }

    @Test func aRolledBackUpdateFailsACoreServiceWithTheSwarmsMessage() {
        var rollout = SwarmRollout(
            services: [
                Self.service("db", healthcheck: true),
                Self.service("api", healthcheck: true, dependencies: ["db"]).rolling(),
            ], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        let message = "update rolled back due to failure or early termination of task 3kx2"
        #expect(
            rollout.handle(.update("api", .init(state: "rollback_started", message: message)), now: 6)
                == [.changed("api", .failed), .finish])
        #expect(rollout.records["api"]?.failure == "its rolling update failed (\(message)): the swarm rolled it back to the previous spec")
        #expect(rollout.aborted)
        // A paused update (failure_action: pause in the compose file) is a failure too: launch rolls it back.
        var paused = SwarmRollout(services: [Self.service("api", serviceClass: .optional).rolling()], mode: .update)
        _ = paused.handle(.begin, now: 0)
        #expect(
            paused.handle(.update("api", .init(state: "paused", message: "update paused")), now: 3) == [.changed("api", .failed), .finish])
        #expect(paused.records["api"]?.failure?.hasSuffix("the swarm paused it half-way") == true)
        #expect(!paused.aborted)
    }

    @Test func aRollingServiceTheSwarmNeverUpdatesIsJudgedOnItsTasksAfterTheGrace() {
        // The spec differed, but not in a way the swarm replaces tasks for: no update status ever comes.
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true).rolling()], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        let healthy = SwarmRollout.TaskObservation(id: "t", desiredState: "running", state: "running", exitCode: 0, health: "healthy")
        #expect(rollout.handle(.update("api", nil), now: 1) == [])
        #expect(rollout.handle(.observed("api", [healthy]), now: 1) == [])
        #expect(rollout.handle(.observed("api", [healthy]), now: 15.5) == [.changed("api", .ready), .finish])
    }

    @Test func aRollingUpdateThatNeverFinishesFailsAtItsDeadline() {
        var rollout = SwarmRollout(services: [Self.service("api", healthcheck: true).rolling()], mode: .update)
        _ = rollout.handle(.begin, now: 0)
        // One replica: the readiness deadline (60 s) plus 30 s for the monitor window.
        #expect(rollout.handle(.update("api", .init(state: "updating")), now: 89) == [])
        #expect(rollout.handle(.observed("api", []), now: 89) == [])
        #expect(rollout.handle(.observed("api", []), now: 91) == [.changed("api", .failed), .finish])
        #expect(rollout.records["api"]?.failure == "its rolling update did not finish within 1m30s (update updating)")
    }
}

@Suite struct SwarmStackFileTests {
    @Test func holdsEveryServiceAndMakesAwaitedServicesJobs() throws {
        let resolved = """
            name: demo
            services:
              app:
                depends_on:
                  migrate: {condition: service_completed_successfully, required: true}
                image: local/busybox:latest
              migrate:
                image: local/busybox:latest
                deploy: {resources: {limits: {memory: 64M}}}
            networks:
              default:
                name: demo_default
            """
        let tree = try SwarmStackFile.heldTree(resolvedYAML: resolved, jobs: ["migrate"])
        #expect(try SwarmStackFile.held(resolvedYAML: resolved, jobs: ["migrate"]).contains("replicated-job"))
        #expect(tree["name"] == nil)
        let services = try #require(tree["services"] as? [String: [String: Any]])
        #expect(services["app"]?["depends_on"] as? [String] == ["migrate"])
        #expect((services["app"]?["deploy"] as? [String: Any])?["replicas"] as? Int == 0)
        let job = try #require(services["migrate"]?["deploy"] as? [String: Any])
        #expect(job["mode"] as? String == "replicated-job")
        #expect(job["replicas"] as? Int == 0)
        #expect((job["restart_policy"] as? [String: Any])?["condition"] as? String == "none")
        #expect(job["resources"] != nil)  // what the file says is kept
        #expect((tree["networks"] as? [String: [String: Any]])?["default"]?["name"] == nil)
        // health.retries and health.backoff: a failed job is run again that often; every task waits the backoff.
        let retried = try SwarmStackFile.heldTree(
            resolvedYAML: resolved, jobs: ["migrate"], retry: .init(attempts: 2, delay: .milliseconds(1500)))
        let retriedServices = try #require(retried["services"] as? [String: [String: Any]])
        let jobPolicy = (retriedServices["migrate"]?["deploy"] as? [String: Any])?["restart_policy"] as? [String: Any]
        #expect(jobPolicy?["condition"] as? String == "on-failure")
        #expect(jobPolicy?["max_attempts"] as? Int == 2)
        #expect(jobPolicy?["delay"] as? String == "1500ms")
        let appPolicy = (retriedServices["app"]?["deploy"] as? [String: Any])?["restart_policy"] as? [String: Any]
        #expect(appPolicy?["delay"] as? String == "1500ms")
        #expect(appPolicy?["max_attempts"] == nil, "a limit would outlive the launch")
        #expect(appPolicy?["condition"] == nil)
    }

    @Test func anUpdateFileRollsOverStartFirstAndRollsBackUnlessTheFileSaysOtherwise() throws {
        let resolved = """
            name: demo
            services:
              api:
                image: local/busybox:latest
                deploy: {replicas: 2}
              web:
                image: local/busybox:latest
                deploy: {update_config: {order: stop-first, failure_action: pause, parallelism: 2}}
              migrate:
                image: local/busybox:latest
            """
        let tree = try SwarmStackFile.updatingTree(
            resolvedYAML: resolved, jobs: ["migrate"], monitors: ["api": .seconds(3), "web": .milliseconds(200)])
        let services = try #require(tree["services"] as? [String: [String: Any]])
        let api = try #require(services["api"]?["deploy"] as? [String: Any])
        #expect(api["replicas"] as? Int == 2)  // nothing held back: the stack runs
        #expect(api["update_config"] as? [String: String] == ["order": "start-first", "failure_action": "rollback", "monitor": "3000ms"])
        #expect(api["rollback_config"] as? [String: String] == ["order": "start-first"])
        let web = try #require(services["web"]?["deploy"] as? [String: Any])
        let update = try #require(web["update_config"] as? [String: Any])
        #expect(
            update["order"] as? String == "stop-first" && update["failure_action"] as? String == "pause"
                && update["parallelism"] as? Int == 2)
        #expect(update["monitor"] as? String == "1000ms")  // at least a second
        let job = try #require(services["migrate"]?["deploy"] as? [String: Any])
        #expect(job["mode"] as? String == "replicated-job" && job["replicas"] == nil && job["update_config"] == nil)
        // An update's first deploy leaves out what waits for its jobs (a deploy without --prune leaves it running).
        let first = try SwarmStackFile.updating(resolvedYAML: resolved, jobs: ["migrate"], monitors: [:], leaving: ["web"])
        let firstServices = try #require((try Yams.load(yaml: first) as? [String: Any])?["services"] as? [String: Any])
        #expect(firstServices.keys.sorted() == ["api", "migrate"])
    }

    @Test func specsCompareByContentNotKeyOrder() {
        #expect(SwarmService.sameSpec(Data(#"{"a":1,"b":{"c":[1,2]}}"#.utf8), Data(#"{"b":{"c":[1,2]},"a":1}"#.utf8)))
        #expect(!SwarmService.sameSpec(Data(#"{"a":1}"#.utf8), Data(#"{"a":2}"#.utf8)))
    }

    @Test func aGPUReservationBecomesTheGenericResourceStackFilesAccept() throws {
        let resolved = """
            services:
              vllm:
                image: vllm/vllm-openai:v0.6.3
                deploy:
                  resources:
                    limits: {memory: 64G}
                    reservations:
                      memory: 32G
                      devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]
              web:
                image: local/busybox:latest
            """
        for tree in [
            try SwarmStackFile.heldTree(resolvedYAML: resolved, jobs: [], gpus: ["vllm": 2]),
            try SwarmStackFile.updatingTree(resolvedYAML: resolved, jobs: [], monitors: [:], gpus: ["vllm": 2]),
        ] {
            let services = try #require(tree["services"] as? [String: [String: Any]])
            let resources = try #require((services["vllm"]?["deploy"] as? [String: Any])?["resources"] as? [String: Any])
            let reservations = try #require(resources["reservations"] as? [String: Any])
            #expect(reservations["devices"] == nil)
            #expect(reservations["memory"] as? String == "32G" && resources["limits"] != nil)
            let generic = try #require(reservations["generic_resources"] as? [[String: [String: Any]]])
            #expect(generic.first?["discrete_resource_spec"]?["kind"] as? String == "NVIDIA-GPU")
            #expect(generic.first?["discrete_resource_spec"]?["value"] as? Int == 2)
            #expect((services["web"]?["deploy"] as? [String: Any])?["resources"] == nil)
        }
        // An update cannot start a GPU service's replacement beside it (the old task holds the GPUs): stop first.
        let update = try SwarmStackFile.updatingTree(resolvedYAML: resolved, jobs: [], monitors: [:], gpus: ["vllm": 2])
        let deploys = try #require(update["services"] as? [String: [String: Any]])
        #expect(((deploys["vllm"]?["deploy"] as? [String: Any])?["update_config"] as? [String: Any])?["order"] as? String == "stop-first")
        #expect(((deploys["vllm"]?["deploy"] as? [String: Any])?["rollback_config"] as? [String: Any])?["order"] as? String == "stop-first")
        #expect(((deploys["web"]?["deploy"] as? [String: Any])?["update_config"] as? [String: Any])?["order"] as? String == "start-first")
    }

    @Test func cdiGPUsUnderDevicesBecomeTheGenericResourceToo() throws {
        let resolved = """
            services:
              llm:
                image: local/busybox:latest
                devices: ["nvidia.com/gpu=all", "/dev/fuse"]
            """
        let tree = try SwarmStackFile.heldTree(resolvedYAML: resolved, jobs: [], gpus: ["llm": 4])
        let llm = try #require((tree["services"] as? [String: [String: Any]])?["llm"])
        #expect(llm["devices"] as? [String] == ["/dev/fuse"])
        let reservations = ((llm["deploy"] as? [String: Any])?["resources"] as? [String: Any])?["reservations"] as? [String: Any]
        #expect((reservations?["generic_resources"] as? [[String: [String: Any]]])?.first?["discrete_resource_spec"]?["value"] as? Int == 4)
    }

    @Test func scalingChangesOnlyTheMode() throws {
        let spec = Data(#"{"Name":"s_db","Labels":{"a":"b"},"Mode":{"Replicated":{"Replicas":0}},"TaskTemplate":{"X":1}}"#.utf8)
        let scaled = try #require(try JSONSerialization.jsonObject(with: SwarmService.scaled(spec, to: 2)) as? [String: Any])
        #expect((scaled["Mode"] as? [String: Any])?["Replicated"] as? [String: Int] == ["Replicas": 2])
        #expect(scaled["TaskTemplate"] as? [String: Int] == ["X": 1])
        let job = Data(#"{"Mode":{"ReplicatedJob":{"MaxConcurrent":0,"TotalCompletions":0}}}"#.utf8)
        let run = try #require(try JSONSerialization.jsonObject(with: SwarmService.scaled(job, to: 1)) as? [String: Any])
        #expect((run["Mode"] as? [String: Any])?["ReplicatedJob"] as? [String: Int] == ["MaxConcurrent": 1, "TotalCompletions": 1])
    }

    @Test func stackDeployArguments() {
        let docker = Docker()
        #expect(
            docker.stackDeploy(stack: "demo", files: ["/p/.launch/swarm/demo.yml"]).arguments
                == ["stack", "deploy", "--resolve-image", "never", "--compose-file", "/p/.launch/swarm/demo.yml", "demo"])
        #expect(
            docker.serviceLogs(service: "demo_db", follow: false, tail: 5, since: nil).arguments == [
                "service", "logs", "--no-task-ids", "--no-trunc", "--tail", "5", "demo_db",
            ])
    }
}

@Suite struct SwarmChecksTests {
    static func nodes() throws -> [SwarmNode] {
        try JSONDecoder().decode([SwarmNode].self, from: Data(Fixture.text("swarm-tasks/nodes.json").utf8))
    }

    @Test func aSingleNodeSwarmRecordedFromTheEngineCanTakeTasks() throws {
        let nodes = try Self.nodes()
        #expect(nodes.count == 1)
        #expect(nodes.first?.schedulable == true)
        #expect(nodes.first?.role == "manager")
        let checks = SwarmChecks.evaluate(state: "active", manager: true, nodes: nodes, endpoint: "unix:///var/run/docker.sock")
        #expect(checks.map(\.id) == ["swarm.manager", "swarm.nodes"])
        #expect(checks.allSatisfy { $0.status == .ok })
        #expect(checks.last?.evidence.hasPrefix("1 node (1 manager), 1 ready and active") == true)
    }

    @Test func noSwarmOrAWorkerFailsWithTheNextStep() {
        let none = SwarmChecks.evaluate(state: "inactive", manager: false, nodes: nil, endpoint: "e")
        #expect(none.map(\.status) == [.fail])
        #expect(none.first?.remediation?.contains("docker swarm init") == true)
        let worker = SwarmChecks.evaluate(state: "active", manager: false, nodes: nil, endpoint: "e")
        #expect(worker.first?.evidence.contains("a worker") == true)
    }

    @Test func drainedNodesWarnAndNoSchedulableNodeFails() {
        let drained = SwarmNode(id: "b", hostname: "gpu-box", role: "worker", availability: "drain", state: "ready")
        let up = SwarmNode(id: "a", hostname: "main", role: "manager", availability: "active", state: "ready")
        let some = SwarmChecks.evaluate(state: "active", manager: true, nodes: [up, drained], endpoint: "e")
        #expect(some.last?.status == .warn)
        #expect(some.last?.evidence.contains("gpu-box (ready, drain)") == true)
        let none = SwarmChecks.evaluate(state: "active", manager: true, nodes: [drained], endpoint: "e")
        #expect(none.last?.status == .fail)
    }

    @Test func theGPUOverlayFollowsTheMostGPUsOneSchedulableNodeAdvertises() {
        let settings = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: "cpu.yml")
        func node(_ name: String, gpus: Int, availability: String = "active") -> SwarmNode {
            SwarmNode(
                id: name, hostname: name, role: "worker", availability: availability, state: "ready",
                genericResources: gpus > 0 ? [SwarmChecks.gpuResource: gpus] : [:])
        }
        let manager = node("manager", gpus: 0)
        let dual = OverlayDecision.decide(settings, swarmNodes: [manager, node("gpu-a", gpus: 1), node("gpu-b", gpus: 2)])
        #expect(dual.file == "dual.yml")
        #expect(dual.reason == "2 GPUs on swarm node gpu-b (NVIDIA-GPU): dual-GPU overlay")
        // Two one-GPU nodes are not a dual-GPU node: one task gets GPUs from one node.
        #expect(
            OverlayDecision.decide(settings, swarmNodes: [node("gpu-a", gpus: 1), node("gpu-c", gpus: 1)]).reason
                == "1 GPU on swarm nodes gpu-a, gpu-c (NVIDIA-GPU): single-GPU fallback")
        // A drained GPU node schedules nothing.
        let cpu = OverlayDecision.decide(settings, swarmNodes: [manager, node("gpu-b", gpus: 2, availability: "drain")])
        #expect(cpu.file == "cpu.yml" && cpu.reason == "no schedulable swarm node advertises NVIDIA-GPU: CPU fallback overlay")
        var required = settings
        required.mode = .required
        let refused = OverlayDecision.decide(required, swarmNodes: [manager])
        #expect(
            refused.failure
                == "this profile requires a GPU (gpu.mode: required, never the CPU fallback): no schedulable swarm node advertises NVIDIA-GPU"
        )
        #expect(SwarmChecks.overlay(refused).status == .fail && SwarmChecks.overlay(dual).status == .ok)
        #expect(OverlayDecision.decide(required, swarmNodes: nil).failure?.hasSuffix("the swarm's nodes could not be read") == true)
    }

    @Test func placementConstraintsMatchAsTheSwarmMatchesThem() throws {
        let gpuBox = SwarmNode(
            id: "n1", hostname: "gpu-box", role: "worker", availability: "active", state: "ready",
            labels: ["gpu": "true", "zone": "A"], engineLabels: ["storage": "ssd"])
        let manager = SwarmNode(id: "n2", hostname: "main", role: "manager", availability: "active", state: "ready")
        let rule = { (text: String) in try #require(PlacementConstraint(text)) }
        #expect(try rule("node.labels.gpu == TRUE").matches(gpuBox))  // values compare case-insensitively
        #expect(try !rule("node.labels.gpu == true").matches(manager))
        #expect(try rule("node.labels.gpu != true").matches(manager))  // a missing label is never equal
        #expect(try rule("node.role==manager").matches(manager) && rule("node.hostname != main").matches(gpuBox))
        #expect(try rule("engine.labels.storage == ssd").matches(gpuBox))
        #expect(try rule("node.platform.os == linux").matches(manager) && rule("node.platform.arch == x86_64").matches(manager))
        #expect(try rule("Node.Labels.gpu == true").matches(gpuBox))  // attribute names too
        #expect(PlacementConstraint("node.labels.gpu") == nil && PlacementConstraint("node.role ==") == nil)
        // What launch cannot evaluate is left to the swarm, never held against a node.
        let ip = try rule("node.ip == 10.0.0.0/24")
        #expect(!ip.isKnown && ip.matches(manager))
    }

    @Test func unmetConstraintsFailBeforeAnythingIsScheduledNamingWhatTheNodesHave() {
        let manager = SwarmNode(id: "n2", hostname: "main", role: "manager", availability: "active", state: "ready", labels: ["zone": "A"])
        let checks = SwarmChecks.evaluate(
            state: "active", manager: true, nodes: [manager], endpoint: "e",
            constraints: ["llm": ["node.labels.gpu == true", "node.role == manager"], "web": ["node.role == manager"], "bad": ["gpu"]])
        let check = checks.first { $0.id == "swarm.placement" }
        #expect(check?.status == .fail)
        #expect(
            check?.evidence == "bad: `gpu` is not a constraint (want `<attribute> == <value>` or `!=`); "
                + "llm: no schedulable node meets node.labels.gpu == true; nodes: main (role=manager, zone=A)")
        #expect(check?.remediation?.contains("docker node update --label-add") == true)
        let fine = SwarmChecks.evaluate(
            state: "active", manager: true, nodes: [manager], endpoint: "e",
            constraints: ["web": ["node.role == manager", "node.ip != 10.9.9.9"]])
        #expect(fine.first { $0.id == "swarm.placement" }?.status == .ok)
        #expect(fine.first { $0.id == "swarm.placement" }?.evidence.hasSuffix("(left to the swarm: web: node.ip != 10.9.9.9)") == true)
    }

    static let twoGPUs = [GPURequest(count: .exactly(2))]

    @Test func gpuRequestsBecomeCountsOfTheGenericResource() {
        #expect(SwarmGPU.demand(Self.twoGPUs, nodeMax: 8) == 2)
        #expect(SwarmGPU.demand([GPURequest(count: .all)], nodeMax: 8) == 8)
        #expect(SwarmGPU.demand([GPURequest(count: .all)], nodeMax: 0) == 1)
        // `all` beside other requests is still all, as on one machine (`ComposeService.gpuCount`), not all plus more.
        #expect(SwarmGPU.demand([GPURequest(count: .all), GPURequest(count: .exactly(2))], nodeMax: 4) == 4)
        #expect(SwarmGPU.demand([GPURequest(deviceIDs: ["0,1"])], nodeMax: 8) == 2)
        #expect(SwarmGPU.demand([GPURequest(driver: .cdi, deviceIDs: ["nvidia.com/gpu=all"])], nodeMax: 4) == 4)
        let fpga = [GPURequest(driver: .cdi, deviceIDs: ["vendor.com/fpga=0"])]
        #expect(SwarmGPU.demand(fpga, nodeMax: 4) == nil && SwarmGPU.unmappable(fpga))
        #expect(SwarmGPU.named([GPURequest(deviceIDs: ["0,1"])]) == ["0,1"] && SwarmGPU.named(Self.twoGPUs).isEmpty)
    }

    @Test func gpuServicesNeedANodeAdvertisingEnoughGPUsBeforeAnythingIsScheduled() {
        let plain = SwarmNode(id: "a", hostname: "main", role: "manager", availability: "active", state: "ready")
        let none = SwarmChecks.evaluate(state: "active", manager: true, nodes: [plain], gpuRequests: ["vllm": Self.twoGPUs], endpoint: "e")
        let missing = none.first { $0.id == "swarm.gpu" }
        #expect(missing?.status == .fail)
        #expect(missing?.evidence == "vllm needs 2 GPUs on one node; no schedulable node advertises NVIDIA-GPU (requests: vllm 2)")
        #expect(missing?.remediation?.contains("node-generic-resources") == true)

        let small = SwarmNode(
            id: "g", hostname: "gpu-box", role: "worker", availability: "active", state: "ready", genericResources: ["NVIDIA-GPU": 2])
        let short = SwarmChecks.evaluate(
            state: "active", manager: true, nodes: [plain, small], gpuRequests: ["vllm": [GPURequest(count: .exactly(4))]], endpoint: "e")
        #expect(short.first { $0.id == "swarm.gpu" }?.evidence.contains("the most any schedulable node advertises is 2") == true)

        let fits = SwarmChecks.evaluate(
            state: "active", manager: true, nodes: [plain, small], gpuRequests: ["vllm": Self.twoGPUs], endpoint: "e",
            defaultRuntime: "runc")
        #expect(fits.first { $0.id == "swarm.gpu" }?.status == .ok)
        #expect(fits.first { $0.id == "swarm.gpu" }?.evidence == "1 schedulable node advertises NVIDIA-GPU (up to 2); requests: vllm 2")
        #expect(fits.first { $0.id == "swarm.gpu.runtime" }?.status == .warn)
        let nvidia = SwarmChecks.evaluate(
            state: "active", manager: true, nodes: [small], gpuRequests: ["vllm": Self.twoGPUs], endpoint: "e",
            defaultRuntime: "nvidia")
        #expect(nvidia.allSatisfy { $0.status == .ok })
    }
}

extension SwarmRollout.Service {
    func rolling() -> Self {
        var service = self
        service.isRolling = true
        return service
    }
}

/// The restore of a failed update, as a machine fed by polls.
@Suite("Swarm restore: the previous version running again")
struct SwarmRestoreWatchTests {
    static func service(_ id: String, version: String, replicas: Int = 1, update: String? = nil, message: String? = nil) -> SwarmService? {
        var object: [String: Any] = [
            "ID": id, "Version": ["Index": 7],
            "Spec": [
                "Name": "shop_\(id)", "Mode": ["Replicated": ["Replicas": replicas]],
                "TaskTemplate": ["ContainerSpec": ["Image": "local/busybox:latest", "Env": ["VERSION=\(version)"]]],
            ] as [String: Any],
        ]
        if let update { object["UpdateStatus"] = ["State": update, "Message": message ?? ""] }
        return SwarmService.decode(object)
    }

    @Test func aServiceWhoseTasksWentBackIsRestoredOnlyOnceTheSwarmCompletedItsRollbackAndEveryReplicaRuns() throws {
        let old = try #require(Self.service("api", version: "1", replicas: 2))
        var watch = SwarmRestoreWatch(restoring: [old], respawning: ["api"])
        // The spec is back but the swarm is still rolling the tasks: not yet.
        watch.observe(["api": .init(current: Self.service("api", version: "1", replicas: 2, update: "rollback_started"), running: 2)])
        #expect(!watch.finished)
        watch.observe(["api": .init(current: Self.service("api", version: "1", replicas: 2, update: "rollback_completed"), running: 1)])
        #expect(!watch.finished, "one replica of two is not back")
        watch.observe(["api": .init(current: Self.service("api", version: "1", replicas: 2, update: "rollback_completed"), running: 2)])
        #expect(watch.finished)
        #expect(watch.restored == ["shop_api"])
        #expect(watch.errors(after: .seconds(180)).isEmpty)
    }

    @Test func aChangeThatReplacedNoTaskIsBackWhenTheSpecIsThePreviousOne() throws {
        let old = try #require(Self.service("db", version: "1", replicas: 1))
        var watch = SwarmRestoreWatch(restoring: [old], respawning: [])
        watch.observe(["db": .init(current: Self.service("db", version: "2"), running: 1)])
        #expect(!watch.finished)
        watch.observe(["db": .init(current: Self.service("db", version: "1"), running: 1)])
        #expect(watch.restored == ["shop_db"])
    }

    @Test func aPausedRollbackFailsAtOnceAndOneThatNeverSettlesSaysWhatTheLastPollFound() throws {
        let paused = try #require(Self.service("api", version: "1"))
        let slow = try #require(Self.service("web", version: "1", replicas: 3))
        var watch = SwarmRestoreWatch(restoring: [paused, slow], respawning: ["api", "web"])
        watch.observe([
            "api": .init(current: Self.service("api", version: "2", update: "rollback_paused", message: "task failed"), running: 0),
            "web": .init(current: Self.service("web", version: "1", replicas: 3, update: "rollback_completed"), running: 2),
        ])
        #expect(watch.waiting.map(\.name) == ["shop_web"])
        // No answer at all on the last poll: the report says so, with the replicas it could not count.
        watch.observe([:])
        let errors = watch.errors(after: .seconds(180))
        #expect(errors.count == 2)
        #expect(errors[0].contains("shop_api: the swarm paused its rollback (task failed)"))
        #expect(errors[1].contains("shop_web: not back on its previous version after"))
        #expect(errors[1].contains("update unknown, 0 of 3 replicas running"))
    }
}

extension SwarmRolloutTests {
    /// health.retries on a swarm, as on one machine: a task that failed in a way a retry can help is replaced by the
    /// swarm while attempts are left (the service waits for the new task with a new deadline); a failure no retry
    /// changes (exit 127) fails at once; the last attempt's failure fails it.
    @Test func aFailedTaskIsRetriedWhileHealthRetriesAllowAndWhenARetryCanHelp() {
        var api = SwarmRolloutTests.service("api", stability: .seconds(1))
        api.retries = 2
        func task(_ id: String, desired: String = "running", _ state: String, exit: Int? = nil) -> SwarmRollout.TaskObservation {
            .init(id: id, desiredState: desired, state: state, error: exit.map { "task: non-zero exit (\($0))" }, exitCode: exit ?? 0)
        }
        var rollout = SwarmRollout(services: [api])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("api"), now: 0)
        let first = task("t1", desired: "shutdown", "failed", exit: 3)
        #expect(rollout.handle(.observed("api", [first]), now: 1) == [.changed("api", .retrying)])
        #expect(rollout.retryLine("api") == "task: non-zero exit (3); retry 1/2: the swarm replaces the task")
        #expect(rollout.polling == ["api"])
        #expect(rollout.handle(.observed("api", [first]), now: 2) == [], "the same failed task says nothing new")
        #expect(rollout.handle(.observed("api", [first, task("t2", "running")]), now: 6) == [.changed("api", .starting)])
        #expect(rollout.handle(.observed("api", [first, task("t2", "running")]), now: 7.5) == [.changed("api", .ready), .finish])
        #expect(rollout.records["api"]?.retries == 1)
        #expect(rollout.records["api"]?.failure == nil, "ready: the earlier attempt's failure is not its verdict")

        var exhausted = SwarmRollout(services: [api])
        _ = exhausted.handle(.begin, now: 0)
        _ = exhausted.handle(.scaled("api"), now: 0)
        let failures = (1...3).map { task("t\($0)", desired: "shutdown", "failed", exit: 3) }
        _ = exhausted.handle(.observed("api", [failures[0]]), now: 1)
        _ = exhausted.handle(.observed("api", Array(failures.prefix(2))), now: 7)
        #expect(exhausted.records["api"]?.state == .retrying)
        #expect(exhausted.handle(.observed("api", failures), now: 13) == [.changed("api", .failed), .finish])
        #expect(exhausted.records["api"]?.failedTasks == ["t3"], "the last attempt's task: its log is the evidence")

        var deterministic = SwarmRollout(services: [api])
        _ = deterministic.handle(.begin, now: 0)
        _ = deterministic.handle(.scaled("api"), now: 0)
        #expect(
            deterministic.handle(.observed("api", [task("t1", desired: "shutdown", "failed", exit: 127)]), now: 1) == [
                .changed("api", .failed), .finish,
            ])
    }

    /// A core failure while another service waits for its replacement task: that one gets no next attempt and ends
    /// failed with its last reason, as on one machine.
    @Test func aServiceWaitingToRetryEndsFailedWhenACoreServiceFails() {
        var api = SwarmRolloutTests.service("api")
        api.retries = 1
        var rollout = SwarmRollout(services: [api, SwarmRolloutTests.service("db")])
        _ = rollout.handle(.begin, now: 0)
        let crash = SwarmRollout.TaskObservation(
            id: "a1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        #expect(rollout.handle(.observed("api", [crash]), now: 1) == [.changed("api", .retrying)])
        let dead = SwarmRollout.TaskObservation(
            id: "d1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (127)", exitCode: 127)
        #expect(rollout.handle(.observed("db", [dead]), now: 2) == [.changed("db", .failed), .changed("api", .failed), .finish])
        #expect(rollout.records["api"]?.failure == "task: non-zero exit (1)")
    }
}

extension SwarmRolloutTests {
    /// An update with a job: what depends on the job (directly or through another service) keeps its running version
    /// until the job completed, then a second deploy rolls it over; a job that fails leaves it as it runs (blocked).
    @Test func anUpdateRunsItsJobsBeforeWhatDependsOnThem() {
        let services = [
            SwarmRolloutTests.service("db"), SwarmRolloutTests.service("migrate", job: true, dependencies: ["db"]),
            SwarmRolloutTests.service("app", dependencies: ["migrate"]), SwarmRolloutTests.service("web", dependencies: ["app"]),
        ]
        #expect(
            SwarmRollout.dependOnJobs(["db": [], "migrate": ["db"], "app": ["migrate"], "web": ["app"]], jobs: ["migrate"]) == [
                "app", "web",
            ])
        var rollout = SwarmRollout(services: services, mode: .update)
        #expect(rollout.heldForJobs == ["app", "web"])
        #expect(rollout.handle(.begin, now: 0) == [.changed("db", .starting), .changed("migrate", .starting)])
        let done = SwarmRollout.TaskObservation(id: "m1", desiredState: "complete", state: "complete", exitCode: 0)
        #expect(rollout.handle(.observed("migrate", [done]), now: 3) == [.changed("migrate", .ready), .deployHeld(["app", "web"])])
        #expect(rollout.handle(.heldDeployed(rolling: ["app"]), now: 3.1) == [.changed("app", .starting), .changed("web", .starting)])
        #expect(rollout.services.first { $0.name == "app" }?.isRolling == true)
        #expect(rollout.services.first { $0.name == "web" }?.isRolling == false)
        #expect(rollout.records["app"]?.scaledAt == 3.1)

        var failing = SwarmRollout(services: services, mode: .update)
        _ = failing.handle(.begin, now: 0)
        let crashed = SwarmRollout.TaskObservation(
            id: "m1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (127)", exitCode: 127)
        let actions = failing.handle(.observed("migrate", [crashed]), now: 1)
        #expect(actions.contains(.changed("app", .blocked(by: "migrate"))), "\(actions)")
        #expect(!actions.contains { if case .deployHeld = $0 { true } else { false } }, "\(actions)")
        #expect(failing.aborted)

        // A job nothing held needs may fail (optional) without holding back what needs another job.
        var seed = SwarmRolloutTests.service("seed", job: true, serviceClass: .optional)
        seed.dependencies = []
        var mixed = SwarmRollout(services: services + [seed], mode: .update)
        _ = mixed.handle(.begin, now: 0)
        let seedFailed = SwarmRollout.TaskObservation(
            id: "s1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (127)", exitCode: 127)
        _ = mixed.handle(.observed("seed", [seedFailed]), now: 1)
        #expect(mixed.handle(.observed("migrate", [done]), now: 3).contains(.deployHeld(["app", "web"])))

        var refused = SwarmRollout(services: services, mode: .update)
        _ = refused.handle(.begin, now: 0)
        _ = refused.handle(.observed("migrate", [done]), now: 3)
        #expect(refused.handle(.heldDeployFailed("network not found"), now: 3.1).contains(.changed("app", .failed)))
        #expect(refused.records["app"]?.failure == "the engine refused to deploy it once the jobs completed: network not found")
    }
}

extension SwarmRolloutTests {
    /// What the swarm will do when a task fails, from the compose file's own policy and the profile: the rollout waits
    /// for no replacement the swarm will not make.
    @Test func theComposeFilesRestartPolicyBoundsTheRetriesALaunchWaitsFor() throws {
        let resolved = """
            services:
              plain: {image: x}
              never: {image: x, deploy: {restart_policy: {condition: none}}}
              once: {image: x, deploy: {restart_policy: {max_attempts: 1, delay: 10s}}}
              unlimited: {image: x, deploy: {restart_policy: {max_attempts: 0}}}
            """
        let plans = try SwarmStackFile.retries(stackFile: resolved, retry: .init(attempts: 2, delay: .seconds(5)))
        #expect(plans["plain"] == .init(attempts: 2, delay: .seconds(5)))
        #expect(plans["never"]?.attempts == 0)
        #expect(plans["once"] == .init(attempts: 1, delay: .seconds(10)))
        #expect(plans["unlimited"]?.attempts == 2, "0 is the swarm's no limit")
        // Read from the file launch writes: a job it completes with on-failure and max_attempts, the delay in ms.
        let retry = SwarmStackFile.Retry(attempts: 2, delay: .milliseconds(1500))
        let written = try SwarmStackFile.held(
            resolvedYAML: "services: {migrate: {image: x}, app: {image: x}}", jobs: ["migrate"], retry: retry)
        let derived = try SwarmStackFile.retries(stackFile: written, retry: retry)
        #expect(derived["migrate"] == retry && derived["app"] == retry, "\(derived)")
        let none = try SwarmStackFile.held(
            resolvedYAML: "services: {migrate: {image: x}}", jobs: ["migrate"], retry: .init(attempts: 0, delay: .seconds(5)))
        #expect(try SwarmStackFile.retries(stackFile: none, retry: retry)["migrate"]?.attempts == 0)
    }

    /// A retry's replacement waits out the restart delay (desired `ready`) before it may run: the service waits for it
    /// that long on top of the scheduling deadline, and its deadline counts from the new task's container.
    @Test func aRetryWaitsForTheRestartDelayAndCountsItsDeadlineFromTheNewTask() {
        var api = SwarmRolloutTests.service("api")
        api.retries = 1
        api.retryDelay = .seconds(90)
        var rollout = SwarmRollout(services: [api])
        _ = rollout.handle(.begin, now: 0)
        _ = rollout.handle(.scaled("api"), now: 0)
        let crash = SwarmRollout.TaskObservation(
            id: "a1", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", exitCode: 1)
        #expect(rollout.handle(.observed("api", [crash]), now: 1) == [.changed("api", .retrying)])
        let waiting = SwarmRollout.TaskObservation(id: "a2", desiredState: "ready", state: "ready")
        #expect(rollout.handle(.observed("api", [crash]), now: 100) == [], "60 s + the 90 s delay")
        #expect(rollout.records["api"]?.containerStartedAt == nil, "the failed task's container is not the new one's")
        #expect(rollout.handle(.observed("api", [crash, waiting]), now: 120) == [.changed("api", .starting)])
    }
}
