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
            let launched = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup"])
            #expect(launched.status == 0, "\(launched.all)")
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

    /// An image only node A has, for a service pinned to node B: the launch fails within seconds naming node B, the
    /// image and how to put it there, and nothing of the stack is left.
    @Test func anImageOnlyOnNodeAForAServicePinnedToNodeBFailsNamingBoth() async throws {
        try await SwarmEndToEndTests.withStack { project in
            let image = "\(project.name)-only-a:1"
            let tagged = try await E2E.docker(["tag", Busybox.image, image])
            try #require(tagged.succeeded, "\(tagged.stderr)")
            // Untagged by name, whatever happens: the project's own image cleanup removes by id, and this id is busybox's.
            do {
                try await Self.launchPinnedToB(project, image: image)
            } catch {
                _ = try? await E2E.docker(["rmi", image])
                throw error
            }
            _ = try? await E2E.docker(["rmi", image])
        }
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
}
