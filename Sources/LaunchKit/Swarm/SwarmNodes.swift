import Foundation
import Synchronization

/// Node ids to hostnames for the tasks a launch watches: read once, and again only when a task names a node not
/// seen yet (a node that joined, or one whose id the first read did not have).
final class SwarmNodeNames: Sendable {
    private let known = Mutex<[String: String]>([:])

    func resolve(_ ids: [String], client: EngineClient) async -> [String: String] {
        let missing = known.withLock { names in ids.contains { names[$0] == nil } }
        if missing, let nodes = try? await client.listNodes() {
            known.withLock { names in for node in nodes { names[node.id] = node.hostname } }
        }
        return known.withLock { $0 }
    }
}

/// A task the swarm could not start because its node lacks the image: which image, which node, where the image is,
/// and the two ways to put it there.
enum SwarmImages {
    /// The image a task error says its node does not have (`No such image: local/app:1`), if that is what it says.
    static func missingImage(in message: String) -> String? {
        guard let range = message.range(of: "No such image: ") else { return nil }
        let rest = message[range.upperBound...]
        let image = rest.prefix { !$0.isWhitespace && $0 != "," && $0 != ")" }
        return image.isEmpty ? nil : String(image)
    }

    /// The task's error with the node, where the image is (the engine launch talks to, when it has it) and the fix.
    static func explain(_ message: String, image: String, node: String?, client: EngineClient) async -> String {
        let here = (try? await client.imageExists(image)) == true
        return words(image: image, node: node, presentOn: here ? client.endpoint.description : nil)
    }

    /// Pure: the explanation, given where the image was found.
    static func words(image: String, node: String?, presentOn: String?) -> String {
        let on = node.map { "node \($0)" } ?? "the node the swarm chose"
        let found = presentOn.map { "it is on the engine launch talks to, \($0)" } ?? "launch found it on no engine it can reach"
        return
            "image \(image) is not on \(on) (\(found)): push it to a registry every node can pull from, or copy it there: `docker save \(image) | docker -H <\(node ?? "node")'s engine> load`"
    }
}

/// Which nodes went down or were drained during a launch (pure: node lists in, lines out).
struct SwarmNodeWatch: Sendable {
    /// Nodes are read at most this often.
    static let interval = 1.0
    private var lastRead: Double?
    private var known: [String: SwarmNode] = [:]
    /// By service: the loss of a node that carried its tasks, for a deadline that passes after it
    /// ("node twonode-b went down at 12.3s").
    private(set) var lost: [String: String] = [:]

    func due(at now: Double) -> Bool { lastRead.map { now - $0 >= Self.interval } ?? true }

    /// Lines for nodes that stopped being schedulable since the last read (down, or drained/paused), each with the
    /// services whose tasks it carried; and for nodes that came back.
    mutating func observe(_ nodes: [SwarmNode], at now: Double, carried: [String: [String]]) -> [String] {
        defer {
            lastRead = now
            known = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
        guard lastRead != nil else { return [] }  // the first read is the baseline
        var lines: [String] = []
        for node in nodes {
            guard let before = known[node.id], before.schedulable != node.schedulable else { continue }
            let at = String(format: "%.1fs", now)
            if node.schedulable {
                lines.append("node \(node.hostname) is back (ready, active) at \(at)")
                continue
            }
            let how = node.state != "ready" ? "went \(node.state)" : "was set to \(node.availability)"
            let services = carried.filter { $0.value.contains(node.hostname) }.keys.sorted()
            let tasks = services.isEmpty ? "no task of this stack ran there" : "it carried tasks of \(services.joined(separator: ", "))"
            lines.append(
                "node \(node.hostname) \(how) at \(at): \(tasks); the swarm reschedules them on the other nodes, each service within its own deadline"
            )
            for service in services where lost[service] == nil { lost[service] = "node \(node.hostname) \(how) at \(at)" }
        }
        return lines
    }
}
