import Foundation

/// One swarm node as `GET /nodes` reports it: enough to say whether anything can be scheduled.
public struct SwarmNode: Sendable, Hashable, Decodable {
    public var id: String
    public var hostname: String
    public var role: String
    public var availability: String
    public var state: String
    /// Generic resources the node advertises (`node-generic-resources` in daemon.json): kind → count.
    public var genericResources: [String: Int]

    enum CodingKeys: String, CodingKey { case id = "ID", description = "Description", spec = "Spec", status = "Status" }
    struct Description: Decodable {
        var hostname: String?
        var resources: Resources?
        enum CodingKeys: String, CodingKey { case hostname = "Hostname", resources = "Resources" }
    }
    struct Resources: Decodable {
        var genericResources: [Generic]?
        enum CodingKeys: String, CodingKey { case genericResources = "GenericResources" }
    }
    struct Generic: Decodable {
        var discrete: Discrete?
        var named: Named?
        enum CodingKeys: String, CodingKey { case discrete = "DiscreteResourceSpec", named = "NamedResourceSpec" }
    }
    struct Discrete: Decodable {
        var kind: String
        var value: Int
        enum CodingKeys: String, CodingKey { case kind = "Kind", value = "Value" }
    }
    struct Named: Decodable {
        var kind: String
        enum CodingKeys: String, CodingKey { case kind = "Kind" }
    }
    struct Spec: Decodable {
        var role: String?
        var availability: String?
        enum CodingKeys: String, CodingKey { case role = "Role", availability = "Availability" }
    }
    struct Status: Decodable {
        var state: String?
        enum CodingKeys: String, CodingKey { case state = "State" }
    }

    public init(id: String, hostname: String, role: String, availability: String, state: String, genericResources: [String: Int] = [:]) {
        self.id = id
        self.hostname = hostname
        self.role = role
        self.availability = availability
        self.state = state
        self.genericResources = genericResources
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        let description = try container.decodeIfPresent(Description.self, forKey: .description)
        let spec = try container.decodeIfPresent(Spec.self, forKey: .spec)
        hostname = description?.hostname ?? id
        role = spec?.role ?? "worker"
        availability = spec?.availability ?? "active"
        state = try container.decodeIfPresent(Status.self, forKey: .status)?.state ?? "unknown"
        var resources: [String: Int] = [:]
        for generic in description?.resources?.genericResources ?? [] {
            if let discrete = generic.discrete { resources[discrete.kind, default: 0] += discrete.value }
            if let named = generic.named { resources[named.kind, default: 0] += 1 }
        }
        genericResources = resources
    }

    /// The swarm may place new tasks here.
    public var schedulable: Bool { state == "ready" && availability == "active" }
}

extension EngineClient {
    public func listNodes() async throws -> [SwarmNode] { try await get("/nodes") }
}

/// `launch doctor --engine swarm` and the first phase of a swarm launch: a manager to talk to, nodes that can take
/// tasks, and GPUs the swarm can schedule. Pure: the engine's answers in, checks out.
public enum SwarmChecks {
    /// The generic resource kind GPU nodes advertise (`node-generic-resources: ["NVIDIA-GPU=GPU-…"]`).
    public static let gpuResource = "NVIDIA-GPU"

    public static func evaluate(state: String, manager: Bool, nodes: [SwarmNode]?, gpuServices: [String], endpoint: String) -> [CheckResult] {
        var checks: [CheckResult] = []
        guard state == "active", manager else {
            checks.append(CheckResult(
                id: "swarm.manager", title: "swarm manager", status: .fail,
                evidence: "the engine at \(endpoint) is \(state == "active" ? "a worker, not a manager" : "not in a swarm (\(state))")",
                remediation: state == "active" ? "point launch at a manager with --host or --context" : "run `docker swarm init` on this engine, or point launch at a manager"))
            return checks
        }
        checks.append(CheckResult(id: "swarm.manager", title: "swarm manager", status: .ok, evidence: "\(endpoint) manages the swarm"))
        let nodes = nodes ?? []
        let schedulable = nodes.filter(\.schedulable)
        let managers = nodes.filter { $0.role == "manager" }.count
        let unavailable = nodes.filter { !$0.schedulable }.map { "\($0.hostname) (\($0.state), \($0.availability))" }
        checks.append(CheckResult(
            id: "swarm.nodes", title: "swarm nodes", status: schedulable.isEmpty ? .fail : (unavailable.isEmpty ? .ok : .warn),
            evidence: "\(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(managers) manager\(managers == 1 ? "" : "s")), \(schedulable.count) ready and active"
                + (unavailable.isEmpty ? "" : "; not taking tasks: \(unavailable.joined(separator: ", "))"),
            remediation: schedulable.isEmpty ? "make a node available: `docker node update --availability active <node>`" : nil))
        if !gpuServices.isEmpty {
            let gpuNodes = schedulable.filter { ($0.genericResources[gpuResource] ?? 0) > 0 }
            // launch does not yet turn a compose GPU reservation into a generic-resource reservation, and
            // `docker stack deploy` rejects the compose form: say so before anything is created.
            checks.append(CheckResult(
                id: "swarm.gpu", title: "GPUs on the swarm", status: .fail,
                evidence: "\(gpuServices.joined(separator: ", ")) request GPUs; \(gpuNodes.count) schedulable node\(gpuNodes.count == 1 ? "" : "s") advertise \(gpuResource)"
                    + "; launch does not yet map GPU requests to swarm generic resources",
                remediation: "run GPU environments with `--engine compose` for now"))
        }
        return checks
    }

    /// Asks the engine and evaluates.
    public static func run(client: EngineClient, gpuServices: [String]) async -> [CheckResult] {
        do {
            let swarm = try await client.swarmState()
            let nodes = swarm.state == "active" && swarm.manager ? try? await client.listNodes() : nil
            return evaluate(state: swarm.state, manager: swarm.manager, nodes: nodes, gpuServices: gpuServices, endpoint: client.endpoint.description)
        } catch {
            return [CheckResult(id: "swarm.manager", title: "swarm manager", status: .fail,
                evidence: "the engine at \(client.endpoint) did not answer: \(error)", remediation: "start the engine, or point launch at a manager")]
        }
    }
}
