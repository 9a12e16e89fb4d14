import Foundation
import LaunchKit
import Testing

/// `--engine swarm` across two real nodes (`.ci/two-node-swarm.sh up`: node A manages, node B works, each its own
/// dockerd in its own network namespace). Runs when `LAUNCH_E2E_NODE_B` names node B's engine and `DOCKER_HOST` is
/// node A, as CI sets them; every test deploys its own stack and removes it.
enum TwoNode {
    /// Node B's engine (`LAUNCH_E2E_NODE_B`); nil where no two-node swarm is set up.
    static let nodeB = ProcessInfo.processInfo.environment["LAUNCH_E2E_NODE_B"].flatMap { $0.isEmpty ? nil : $0 }
}

/// Nested in the single-node suite so that its `.serialized` holds across both: a test here kills node B, which no
/// other swarm test may meet half-way.
extension SwarmEndToEndTests {
    @Suite("launch on a real two-node swarm", .tags(.docker), .serialized, .enabled(if: E2E.enabled && TwoNode.nodeB != nil))
    struct TwoNodeSwarmEndToEndTests {
        static let hostA = "twonode-a", hostB = "twonode-b"

        static func pinned(_ service: String, to node: String, image: String = Busybox.image, command: String) -> String {
            """
              \(service):
                image: \(image)
                command: ["sh", "-c", "\(command)"]
                deploy: {placement: {constraints: ["node.hostname == \(node)"]}}
            """
        }

        /// A service on each node: ready, and `status` names the node of every task (text and JSON).
        @Test func statusNamesTheNodeOfEveryTask() async throws {
            try await SwarmEndToEndTests.withStack { project in
                let stack =
                    "services:\n" + Self.pinned("left", to: Self.hostA, command: "trap 'exit 0' TERM; sleep 3600 & wait") + "\n"
                    + Self.pinned("right", to: Self.hostB, command: "trap 'exit 0' TERM; sleep 3600 & wait")
                try project.writeProfile(extra: "health: {stability: 1s}", stack: stack)
                let launched = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup", "--json"])
                #expect(launched.status == 0, "\(launched.all)")
                // The run's own record says where each ran too (the report, its page, --json).
                let result = SwarmEndToEndTests.json(launched.stdout)
                #expect(SwarmEndToEndTests.service(result, "right")?["nodes"] as? [String] == [Self.hostB], "\(launched.stdout)")
                let status = try await project.launch(["status", "demo", "--engine", "swarm", "--json"])
                let services = try #require(
                    (SwarmEndToEndTests.json(status.stdout)["environments"] as? [[String: Any]])?.first?["services"] as? [[String: Any]],
                    "\(status.all)")
                #expect(services.first { $0["name"] as? String == "left" }?["nodes"] as? [String] == [Self.hostA], "\(status.stdout)")
                #expect(services.first { $0["name"] as? String == "right" }?["nodes"] as? [String] == [Self.hostB], "\(status.stdout)")
                let text = try await project.launch(["status", "demo", "--engine", "swarm"])
                #expect(text.stdout.contains("on \(Self.hostB)"), "\(text.stdout)")
                _ = try await project.launch(["down", "demo", "--engine", "swarm"])
            }
        }

        /// The acceptance-shaped stack (a database with a healthcheck on node B, a migration job, an app of two
        /// replicas spread over both nodes), launched as a new user would: ready in dependency order, with tasks on both
        /// nodes, and the run's record says where each ran.
        @Test func theAcceptanceShapedStackIsReadyWithTasksOnBothNodes() async throws {
            try await SwarmEndToEndTests.withStack { project in
                let stack =
                    SwarmEndToEndTests.stack
                    .replacingOccurrences(
                        of: "retries: 3}\n  migrate:",
                        with: "retries: 3}\n    deploy: {placement: {constraints: [\"node.hostname == \(Self.hostB)\"]}}\n  migrate:")
                    + "\n    deploy: {replicas: 2, placement: {preferences: [{spread: node.hostname}]}}\n"
                try project.writeProfile(extra: "health: {stability: 1s}", stack: stack)
                let launched = try await project.launch(["demo", "--engine", "swarm", "--json", "--no-cleanup"])
                #expect(launched.status == 0, "\(launched.all)")
                let result = SwarmEndToEndTests.json(launched.stdout)
                #expect(SwarmEndToEndTests.service(result, "db")?["nodes"] as? [String] == [Self.hostB], "\(launched.stdout)")
                #expect(SwarmEndToEndTests.service(result, "app")?["nodes"] as? [String] == [Self.hostA, Self.hostB], "\(launched.stdout)")
                let migrated = try #require(SwarmEndToEndTests.service(result, "migrate")?["ready_at"] as? Double)
                let appStarted = try #require(SwarmEndToEndTests.service(result, "app")?["started_at"] as? Double)
                #expect(appStarted >= migrated)
                _ = try await project.launch(["down", "demo", "--engine", "swarm"])
            }
        }

        /// An image only node A has, for a service pinned to node B: the launch fails within seconds naming node B, the
        /// image and how to put it there, and nothing of the stack is left.
        @Test func anImageOnlyOnNodeAForAServicePinnedToNodeBFailsNamingBoth() async throws {
            try await SwarmEndToEndTests.withStack { project in
                try await Self.withImageOnlyOnNodeA(project) { image in try await Self.launchPinnedToB(project, image: image) }
            }
        }

        /// An image tag only node A has (busybox, tagged for this test), untagged by name afterwards whatever happens:
        /// the project's own image cleanup removes by id, and this id is busybox's.
        static func withImageOnlyOnNodeA(_ project: TestProject, _ body: (String) async throws -> Void) async throws {
            let image = "\(project.name)-only-a:1"
            let tagged = try await E2E.docker(["tag", Busybox.image, image])
            try #require(tagged.succeeded, "\(tagged.stderr)")
            do {
                try await body(image)
            } catch {
                _ = try? await E2E.docker(["rmi", image])
                throw error
            }
            _ = try? await E2E.docker(["rmi", image])
        }

        static func launchPinnedToB(_ project: TestProject, image: String) async throws {
            try project.writeProfile(
                extra: "health: {stability: 1s}",
                stack: "services:\n" + Self.pinned("app", to: Self.hostB, image: image, command: "sleep 3600"))
            let clock = ContinuousClock(), began = clock.now
            let launched = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup"])
            let took = began.duration(to: clock.now)
            #expect(launched.status == 1, "\(launched.all)")
            #expect(took < .seconds(60), "took \(took)")
            #expect(launched.stderr.contains("image \(image) is not on node \(Self.hostB)"), "\(launched.all)")
            #expect(launched.stderr.contains("docker save \(image)"), "\(launched.all)")
            let left = try await E2E.docker(["service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=\(project.name)"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left: \(left.stdout)")
        }

        /// A core task failing on node B: diagnosed with its own log line (read through the swarm) and its node, and
        /// removed with the rest of the stack.
        @Test func aCoreTaskFailingOnNodeBIsDiagnosedWithItsLogLineAndNode() async throws {
            try await SwarmEndToEndTests.withStack { project in
                try project.writeProfile(
                    extra: "health: {stability: 2s}",
                    stack: "services:\n" + Self.pinned("app", to: Self.hostB, command: "echo boom-on-b; exit 3"))
                let launched = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup"])
                #expect(launched.status == 1, "\(launched.all)")
                #expect(launched.stderr.contains("boom-on-b"), "the task's own log line: \(launched.all)")
                #expect(launched.stderr.contains("on node \(Self.hostB)"), "\(launched.all)")
                let left = try await E2E.docker(["service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=\(project.name)"])
                #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left: \(left.stdout)")
            }
        }

        /// A Docker context named after node B (`docker context create twonode-b`), in a config folder of its own:
        /// the environment that makes node B's engine reachable to launch. The folder is removed afterwards.
        static func withNodeBContext<T>(_ body: ([String: String]) async throws -> T) async throws -> T {
            let nodeB = try #require(TwoNode.nodeB)
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-contexts-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: config) }
            let created = try await E2E.runner.run(
                Command("docker", ["context", "create", hostB, "--docker", "host=\(nodeB)"], environment: ["DOCKER_CONFIG": config]))
            try #require(created.succeeded, "\(created.stderr)")
            return try await body(["DOCKER_CONFIG": config])
        }

        /// Images before deploying: with node B reachable (a context named after it), an image only node A has, for a
        /// service pinned to node B, is refused before anything is deployed (exit 2), naming node B, where the image
        /// is and the fix; nothing of the stack exists.
        @Test func anImageNodeBLacksIsRefusedBeforeDeployingWhenNodeBIsReachable() async throws {
            try await SwarmEndToEndTests.withStack { project in
                try await Self.withImageOnlyOnNodeA(project) { image in try await Self.refusedBeforeDeploying(project, image: image) }
            }
        }

        static func refusedBeforeDeploying(_ project: TestProject, image: String) async throws {
            try project.writeProfile(
                extra: "health: {stability: 1s}",
                stack: "services:\n" + Self.pinned("app", to: Self.hostB, image: image, command: "sleep 3600"))
            let result = try await Self.withNodeBContext { environment in
                try await project.launch(["demo", "--engine", "swarm", "--no-cleanup"], environment: environment)
            }
            #expect(result.status == 2, "\(result.all)")
            #expect(
                result.stderr.contains("swarm.images: app: image \(image) is not on node \(Self.hostB), the only node that may run it"),
                "\(result.all)")
            #expect(result.stderr.contains("it is on \(Self.hostA)"), "\(result.all)")
            #expect(result.stderr.contains("docker save \(image) | docker --context \(Self.hostB) load"), "\(result.all)")
            #expect(!result.all.contains("docker stack deploy"), "nothing deployed: \(result.all)")
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await SwarmEndToEndTests.names(["service", "ls", "-q", "--filter", label]) == [])
            #expect(try await SwarmEndToEndTests.names(["network", "ls", "-q", "--filter", label]) == [])
        }

        /// Probe output from node B's engine: a healthcheck failing on node B is diagnosed with the probe's own words,
        /// read through node B's context, as one machine says it.
        @Test func aHealthcheckFailingOnNodeBIsDiagnosedWithItsProbeOutputThroughNodeBsContext() async throws {
            try await SwarmEndToEndTests.withStack { project in
                let stack = """
                    services:
                      app:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD-SHELL", "echo upstream-on-b-refused; exit 1"], interval: 500ms, timeout: 5s, retries: 2}
                        deploy: {placement: {constraints: ["node.hostname == \(Self.hostB)"]}}
                    """
                try project.writeProfile(extra: "health: {stability: 1s, retries: 0}", stack: stack)
                let result = try await Self.withNodeBContext { environment in
                    try await project.launch(["demo", "--engine", "swarm", "--json", "--no-cleanup"], environment: environment)
                }
                #expect(result.status == 1, "\(result.all)")
                let app = try #require(SwarmEndToEndTests.service(SwarmEndToEndTests.json(result.stdout), "app"), "\(result.all)")
                let failure = try #require(app["failure"] as? [String: Any], "\(app)")
                #expect(failure["reason"] as? String == "unhealthy: its healthcheck failed", "\(failure)")
                #expect((failure["probes"] as? [String])?.contains { $0.contains("exit 1: upstream-on-b-refused") } == true, "\(failure)")
            }
        }

        /// Node B killed mid-launch (its dockerd, SIGKILL) after `app` was ready with a task there: the loss is said when
        /// the swarm sees it, `app` waits again until the swarm has placed that task on node A and it is ready there, and
        /// the launch succeeds. Node B is repaired afterwards (`two-node-swarm.sh up`), whatever happened.
        @Test func aNodeKilledMidLaunchIsSaidAndTheLaunchSucceedsOnTheOtherNode() async throws {
            let root = ProcessInfo.processInfo.environment["TWO_NODE_ROOT"] ?? "/tmp/two-node-swarm/run"
            let pidText = try #require(
                try? String(contentsOfFile: root + "/b/dockerd.pid", encoding: .utf8), "node B's dockerd.pid under \(root)")
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            try await SwarmEndToEndTests.withStack { project in
                // anchor keeps the launch going (healthy after 45 s) while node B is lost and app moves.
                let stack = """
                    services:
                      anchor:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 45; touch /tmp/ok; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ok"], interval: 1s, start_period: 120s}
                        deploy: {placement: {constraints: ["node.hostname == \(Self.hostA)"]}}
                      app:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        deploy: {replicas: 2, placement: {preferences: [{spread: node.hostname}]}}
                    """
                try project.writeProfile(extra: "health: {stability: 2s, timeout: 100s}", stack: stack)
                let launch = try WatchedLaunch(project, ["demo", "--engine", "swarm", "--no-cleanup"])
                let appReady = await E2E.eventually(within: .seconds(60)) { launch.all.contains("on \(Self.hostA), \(Self.hostB)") }
                #expect(appReady, "app ready on both nodes: \(launch.all)")
                #expect(kill(pid, SIGKILL) == 0, "kill node B's dockerd (\(pid))")
                let status = await launch.exit(within: .seconds(150))
                if status == nil { launch.process.terminate() }
                #expect(status == 0, "\(launch.all)")
                #expect(launch.all.contains("node \(Self.hostB) went down at"), "\(launch.all)")
                #expect(launch.all.contains("it carried tasks of app"), "\(launch.all)")
                #expect(
                    launch.all.contains("on \(Self.hostA) (placed again after node \(Self.hostB) was lost)"),
                    "app ready again on node A: \(launch.all)")
                await Self.repairNodeB()
            }
        }

        /// `two-node-swarm.sh up` (restarts a killed node and waits for it to rejoin); its output goes to a file, never a
        /// pipe this process reads (the daemons it starts would hold the pipe open), and it is bounded.
        static func repairNodeB() async {
            let script = E2E.packageRoot + "/.ci/two-node-swarm.sh"
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("two-node-repair.log").path
            _ = try? await E2E.runner.run(Command("bash", ["-c", "timeout 120 bash '\(script)' up >'\(log)' 2>&1 </dev/null"]))
            _ = await E2E.eventually(within: .seconds(60)) {
                let nodes = try? await E2E.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"])
                return nodes?.stdout.contains("\(hostB) Ready") == true
            }
        }
    }
}
