import Foundation
import Synchronization

/// Node ids to hostnames for the tasks a launch watches: read once, and again only when a task names a node not
/// seen yet (a node that joined, or one whose id the first read did not have).
public final class SwarmNodeNames: Sendable {
    private let known = Mutex<[String: String]>([:])

    public init() {}

    public func resolve(_ ids: [String], client: EngineClient) async -> [String: String] {
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
        return "image \(image) is not on \(on) (\(found)): \(fix(image: image, node: node))"
    }

    /// The two ways to put an image on a node: through a registry, or copied over the node's Docker context (named
    /// after the node: also what lets launch check and diagnose there).
    static func fix(image: String, node: String?) -> String {
        "push it to a registry every node can pull from, or copy it there: `docker save \(image) | docker --context \(node ?? "<node>") load`"
    }
}

/// Which nodes went down or were drained during a launch (pure: node lists in, lines out).
struct SwarmNodeWatch: Sendable {
    /// Nodes are read at most this often.
    static let interval = 1.0
    private var lastRead: Double?
    private var known: [String: SwarmNode] = [:]
    /// By hostname: how and when each node was lost ("node twonode-b went down at 12.3s"), for a deadline that
    /// passes after it (which services it carried is the rollout's `Record.lostNodes`).
    private(set) var losses: [String: String] = [:]

    func due(at now: Double) -> Bool { lastRead.map { now - $0 >= Self.interval } ?? true }

    /// What changed since the last read: a line for each node that stopped being schedulable (down, or
    /// drained/paused), with the services whose tasks it carried, and for each that came back; and the hostnames lost.
    struct Change: Sendable, Equatable {
        var lines: [String] = []
        var lost: [String] = []
    }

    mutating func observe(_ nodes: [SwarmNode], at now: Double, carried: [String: [String]]) -> Change {
        defer {
            lastRead = now
            known = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
        guard lastRead != nil else { return Change() }  // the first read is the baseline
        var change = Change()
        for node in nodes {
            guard let before = known[node.id], before.schedulable != node.schedulable else { continue }
            let at = String(format: "%.1fs", now)
            if node.schedulable {
                change.lines.append("node \(node.hostname) is back (ready, active) at \(at)")
                continue
            }
            let how = node.state != "ready" ? "went \(node.state)" : "was set to \(node.availability)"
            let services = carried.filter { $0.value.contains(node.hostname) }.keys.sorted()
            let tasks = services.isEmpty ? "no task of this stack ran there" : "it carried tasks of \(services.joined(separator: ", "))"
            change.lost.append(node.hostname)
            change.lines.append(
                "node \(node.hostname) \(how) at \(at): \(tasks); the swarm places them on other nodes, and what was ready there waits again"
            )
            losses[node.hostname] = "node \(node.hostname) \(how) at \(at)"
        }
        return change
    }
}

/// The engines of the swarm's nodes that launch can reach: the one it talks to (its own node), and each other node
/// through a Docker context named after the node's hostname (`docker context create twonode-b --docker
/// host=ssh://…`). A context counts only when the engine behind it says it is that node: a context that names
/// another machine is never taken for it. Endpoints stay on the machine that has them, not in the profile.
public enum SwarmNodeEngines {
    /// How long a node's engine may take to say which node it is.
    static let limit: Duration = .seconds(3)

    /// Hostname → engine, for the ready and active nodes.
    public static func resolve(nodes: [SwarmNode], client: EngineClient) async -> [String: EngineClient] {
        let environment = client.session.environment, docker = client.session.dockerExecutable
        let ownID = await within(limit) { try? await client.swarmState().nodeID } ?? nil
        return await withTaskGroup(of: (String, EngineClient)?.self) { group in
            for node in nodes where node.schedulable {
                if node.id == ownID {
                    group.addTask { (node.hostname, client) }
                    continue
                }
                guard
                    let endpoint = try? EngineEndpoint.fromContext(
                        node.hostname, source: .contextFlag(node.hostname), environment: environment)
                else { continue }
                group.addTask {
                    let engine = EngineClient(endpoint: endpoint, docker: docker, environment: environment)
                    let id = await within(limit) { try? await engine.swarmState().nodeID } ?? nil
                    return id == node.id ? (node.hostname, engine) : nil
                }
            }
            var engines: [String: EngineClient] = [:]
            for await entry in group { if let (host, engine) = entry { engines[host] = engine } }
            return engines
        }
    }
}

extension SwarmNodeEngines {
    /// Container `id` as the engine that holds it says it: its node's engine where launch reaches it, else the one it
    /// talks to; each asked for `limit` at most (a node that just died must not hold a poll). The one place that
    /// decides which engine to ask about a task's container.
    static func inspect(_ id: String, node: String?, engines: [String: EngineClient], client: EngineClient) async -> (
        engine: EngineClient, details: ContainerDetails
    )? {
        var asked: [EngineClient] = []
        for engine in [node.flatMap { engines[$0] }, client].compactMap({ $0 })
        where !asked.contains(where: { $0.endpoint == engine.endpoint }) {
            asked.append(engine)
            if let details = await within(limit, { try? await engine.inspectContainer(id) }) ?? nil { return (engine, details) }
        }
        return nil
    }
}

extension SwarmImages {
    /// What the image's registry said: it has the image (a node pulls it at start), it does not or cannot be reached
    /// (a node's pull would fail the same way), or nothing within the limit.
    enum RegistryAnswer: Sendable, Hashable {
        case has, lacks, silent
        init(_ answer: Bool?) { self = answer.map { $0 ? .has : .lacks } ?? .silent }
    }

    /// One service's image and the nodes (hostnames) the swarm may place its tasks on.
    public struct Need: Sendable, Hashable {
        public var service: String
        public var image: String
        public var candidates: [String]
    }

    /// The nodes each service may run on: ready and active, meeting its placement constraints, with the GPUs it reserves.
    static func needs(in stack: ComposeStack, nodes: [SwarmNode]) -> [Need] {
        let schedulable = nodes.filter(\.schedulable)
        let requests = SwarmGPU.requests(in: stack)
        let most = SwarmChecks.mostGPUs(on: nodes)
        return stack.services.compactMap { service in
            guard let image = service.image, !image.isEmpty else { return nil }
            let rules = service.placementConstraints.compactMap(PlacementConstraint.init)
            let gpus = requests[service.name].flatMap { SwarmGPU.demand($0, nodeMax: most) } ?? 0
            let candidates = schedulable.filter { node in
                rules.allSatisfy { $0.matches(node) } && (node.genericResources[SwarmChecks.gpuResource] ?? 0) >= gpus
            }
            return Need(service: service.name, image: image, candidates: candidates.map(\.hostname).sorted())
        }
    }

    /// Pure: the `swarm.images` check. `present`: the images each reachable node has (hostname → images); a node not
    /// in it is one launch cannot reach. `registry`: whether the image's registry has it (nil: no answer). A service
    /// whose every node lacks its image, and whose registry does not have it, fails before anything is deployed; one
    /// that may land on a node without it is a warning (the swarm may choose a node that has it).
    static func check(_ needs: [Need], present: [String: Set<String>], registry: [String: RegistryAnswer]) -> CheckResult {
        var failures: [String] = [], warnings: [String] = [], copies: [String] = []
        for need in needs {
            let lacking = need.candidates.filter { present[$0].map { !$0.contains(need.image) } ?? false }
            let answer = registry[need.image] ?? .silent
            guard !lacking.isEmpty, answer != .has else { continue }
            let having = need.candidates.filter { present[$0]?.contains(need.image) == true }
            let unknown = need.candidates.filter { present[$0] == nil }
            let elsewhere = present.filter { $0.value.contains(need.image) }.keys.sorted()
            let on = lacking.map { "node \($0)" }.joined(separator: ", ")
            let found = elsewhere.isEmpty ? "on no node launch can reach" : "on " + elsewhere.joined(separator: ", ")
            let pull = answer == .silent ? "its registry did not answer" : "no registry has it"
            if having.isEmpty && unknown.isEmpty && answer == .lacks {
                failures.append(
                    "\(need.service): image \(need.image) is not on \(on), the only node\(lacking.count == 1 ? "" : "s") that may run it (it is \(found); \(pull))"
                )
            } else {
                warnings.append(
                    "\(need.service): the swarm may place it on \(on), which lack\(lacking.count == 1 ? "s" : "") image \(need.image) (it is \(found); \(pull))"
                )
            }
            copies.append(fix(image: need.image, node: lacking[0]))
        }
        let checked = present.keys.sorted().joined(separator: ", ")
        if let copy = copies.first {
            return CheckResult(
                id: "swarm.images", title: "images on the nodes", status: failures.isEmpty ? .warn : .fail,
                evidence: (failures + warnings).joined(separator: "; "),
                remediation: copy)
        }
        return CheckResult(
            id: "swarm.images", title: "images on the nodes", status: .ok,
            evidence: "every service's image is on the nodes that may run it (checked on \(checked.isEmpty ? "no node" : checked))")
    }

    /// Asks each reachable node for the images of the services that may run there, and the registry for those some
    /// node lacks; then `check`.
    static func run(stack: ComposeStack, nodes: [SwarmNode], engines: [String: EngineClient], client: EngineClient) async -> CheckResult {
        let needs = needs(in: stack, nodes: nodes)
        var wanted: [String: Set<String>] = [:]
        for need in needs { for host in need.candidates where engines[host] != nil { wanted[host, default: []].insert(need.image) } }
        var present = await images(wanted, engines: engines)
        let lacking = Set(
            needs.filter { need in need.candidates.contains { present[$0].map { !$0.contains(need.image) } ?? false } }.map(\.image))
        guard !lacking.isEmpty else { return check(needs, present: present, registry: [:]) }
        // Where a missing image is, on the reachable nodes that were not asked for it: what the fix copies from.
        var elsewhere: [String: Set<String>] = [:]
        for host in engines.keys { elsewhere[host] = lacking.subtracting(wanted[host] ?? []) }
        for (host, has) in await images(elsewhere.filter { !$0.value.isEmpty }, engines: engines) {
            present[host, default: []].formUnion(has)
        }
        var registry: [String: RegistryAnswer] = [:]
        for image in lacking.sorted() { registry[image] = RegistryAnswer(await client.registryHas(image)) }
        return check(needs, present: present, registry: registry)
    }

    /// Which of `wanted` (hostname → images) each node's engine has, asked of the nodes at once, each bounded.
    static func images(_ wanted: [String: Set<String>], engines: [String: EngineClient]) async -> [String: Set<String>] {
        await withTaskGroup(of: (String, Set<String>)?.self) { group in
            for (host, images) in wanted {
                guard let engine = engines[host] else { continue }
                group.addTask {
                    var has: Set<String> = []
                    for image in images {
                        // No answer in time: the node is not known to lack it; it is left out (unknown), not empty.
                        guard let answer = await within(SwarmNodeEngines.limit, { try? await engine.imageExists(image) }), let answer
                        else { return nil }
                        if answer { has.insert(image) }
                    }
                    return (host, has)
                }
            }
            var present: [String: Set<String>] = [:]
            for await case (let host, let has)? in group { present[host] = has }
            return present
        }
    }
}
