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

    public static func evaluate(state: String, manager: Bool, nodes: [SwarmNode]?, gpuRequests: [String: [GPURequest]] = [:], endpoint: String,
        defaultRuntime: String? = nil) -> [CheckResult]
    {
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
        if !gpuRequests.isEmpty {
            checks += gpuChecks(gpuRequests, schedulable: schedulable, defaultRuntime: defaultRuntime)
        }
        return checks
    }

    /// GPUs a swarm can schedule: the compose GPU reservation becomes a reservation of the `NVIDIA-GPU` generic
    /// resource (`SwarmGPU`), so some schedulable node must advertise at least as many as a service needs, or
    /// nothing is created. On the node launch talks to, a GPU the swarm hands out reaches the container only through
    /// the NVIDIA runtime: advertised GPUs with another default runtime are a warning.
    static func gpuChecks(_ requests: [String: [GPURequest]], schedulable: [SwarmNode], defaultRuntime: String?) -> [CheckResult] {
        let most = schedulable.map { $0.genericResources[gpuResource] ?? 0 }.max() ?? 0
        let gpuNodes = schedulable.filter { ($0.genericResources[gpuResource] ?? 0) > 0 }
        let demands = requests.compactMapValues { SwarmGPU.demand($0, nodeMax: most) }.sorted { $0.key < $1.key }
        let foreign = requests.filter { SwarmGPU.unmappable($0.value) }.keys.sorted()
        let needed = demands.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        var checks: [CheckResult] = []
        let setup = "on each GPU node add \"node-generic-resources\": [\"\(gpuResource)=<GPU UUID>\", …] (UUIDs from `nvidia-smi -L`) to "
            + "/etc/docker/daemon.json, make nvidia the default-runtime, set swarm-resource = \"DOCKER_RESOURCE_GPU\" in "
            + "/etc/nvidia-container-runtime/config.toml, and restart dockerd"
        if !foreign.isEmpty {
            checks.append(CheckResult(id: "swarm.gpu", title: "GPUs on the swarm", status: .fail,
                evidence: "\(foreign.joined(separator: ", ")) request CDI devices that are not NVIDIA GPUs: a swarm schedules only \(gpuResource)",
                remediation: "run this environment with `--engine compose`, or request NVIDIA GPUs"))
        } else if let short = demands.first(where: { $0.value > most }) {
            checks.append(CheckResult(id: "swarm.gpu", title: "GPUs on the swarm", status: .fail,
                evidence: "\(short.key) needs \(GPUWords.count(short.value)) on one node; "
                    + (gpuNodes.isEmpty ? "no schedulable node advertises \(gpuResource)" : "the most any schedulable node advertises is \(most)")
                    + " (requests: \(needed))",
                remediation: gpuNodes.isEmpty ? setup : "lower the request, or add a node with more GPUs"))
        } else {
            checks.append(CheckResult(id: "swarm.gpu", title: "GPUs on the swarm", status: .ok,
                evidence: "\(gpuNodes.count) schedulable node\(gpuNodes.count == 1 ? "" : "s") advertise\(gpuNodes.count == 1 ? "s" : "") \(gpuResource) (up to \(most)); requests: \(needed)"))
            if let defaultRuntime, defaultRuntime != "nvidia" {
                checks.append(CheckResult(id: "swarm.gpu.runtime", title: "GPU runtime on this node", status: .warn,
                    evidence: "this engine's default runtime is \(defaultRuntime): a task placed here is given GPUs by count "
                        + "(DOCKER_RESOURCE_\(gpuResource)) but its container sees none",
                    remediation: "make nvidia the default-runtime in /etc/docker/daemon.json on GPU nodes"))
            }
        }
        return checks
    }

    /// Asks the engine and evaluates.
    public static func run(client: EngineClient, gpuRequests: [String: [GPURequest]]) async -> [CheckResult] {
        do {
            let swarm = try await client.swarmState()
            let nodes = swarm.state == "active" && swarm.manager ? try? await client.listNodes() : nil
            let runtime = gpuRequests.isEmpty ? nil : (try? await client.info())?.defaultRuntime
            return evaluate(state: swarm.state, manager: swarm.manager, nodes: nodes, gpuRequests: gpuRequests, endpoint: client.endpoint.description,
                defaultRuntime: runtime)
        } catch {
            return [CheckResult(id: "swarm.manager", title: "swarm manager", status: .fail,
                evidence: "the engine at \(client.endpoint) did not answer: \(error)", remediation: "start the engine, or point launch at a manager")]
        }
    }
}

/// A compose GPU reservation on a swarm. `docker stack deploy` refuses `deploy.resources.reservations.devices`; the
/// swarm's own form is a generic resource the nodes advertise, handed out by count (the task learns which ones from
/// `DOCKER_RESOURCE_NVIDIA-GPU`, which the NVIDIA runtime turns into devices).
public enum SwarmGPU {
    /// Each GPU service's compose device requests.
    public static func requests(in stack: ComposeStack) -> [String: [GPURequest]] {
        Dictionary(uniqueKeysWithValues: stack.services.filter { !$0.gpuRequests.isEmpty }.map { ($0.name, $0.gpuRequests) })
    }

    /// GPUs a service needs on one node, nil when it requests none: `count: all` is the most any schedulable node
    /// advertises (at least 1); named devices count one each (the swarm, not the file, picks which).
    public static func demand(_ requests: [GPURequest], nodeMax: Int) -> Int? {
        var total = 0
        var any = false
        for request in requests {
            switch request.selection {
            case .all: total += max(nodeMax, 1)
            case .first(let n): total += n
            case .named(let ids): total += GPURequest.splitIDs(ids).count
            case .notNVIDIA: continue
            }
            any = true
        }
        return any ? total : nil
    }

    /// A CDI request for something other than an NVIDIA GPU: the swarm cannot schedule it.
    public static func unmappable(_ requests: [GPURequest]) -> Bool {
        requests.contains { $0.selection == .notNVIDIA }
    }

    /// Named devices the swarm will not honour by name (for the convert phase's note).
    public static func named(_ requests: [GPURequest]) -> [String] {
        requests.flatMap { request -> [String] in
            if case .named(let ids) = request.selection { return ids }
            return []
        }
    }
}
