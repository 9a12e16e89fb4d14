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
    /// `docker node update --label-add`: what `node.labels.<key>` constraints match.
    public var labels: [String: String] = [:]
    /// The engine's own labels (daemon.json `labels`): `engine.labels.<key>`.
    public var engineLabels: [String: String] = [:]
    public var os: String = ""
    public var architecture: String = ""

    enum CodingKeys: String, CodingKey { case id = "ID", description = "Description", spec = "Spec", status = "Status" }
    struct Description: Decodable {
        var hostname: String?
        var resources: Resources?
        var platform: Platform?
        var engine: Engine?
        enum CodingKeys: String, CodingKey { case hostname = "Hostname", resources = "Resources", platform = "Platform", engine = "Engine" }
    }
    struct Platform: Decodable {
        var os: String?
        var architecture: String?
        enum CodingKeys: String, CodingKey { case os = "OS", architecture = "Architecture" }
    }
    struct Engine: Decodable {
        var labels: [String: String]?
        enum CodingKeys: String, CodingKey { case labels = "Labels" }
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
        var labels: [String: String]?
        enum CodingKeys: String, CodingKey { case role = "Role", availability = "Availability", labels = "Labels" }
    }
    struct Status: Decodable {
        var state: String?
        enum CodingKeys: String, CodingKey { case state = "State" }
    }

    public init(
        id: String, hostname: String, role: String, availability: String, state: String, genericResources: [String: Int] = [:],
        labels: [String: String] = [:], engineLabels: [String: String] = [:], os: String = "linux", architecture: String = "x86_64"
    ) {
        self.labels = labels
        self.engineLabels = engineLabels
        self.os = os
        self.architecture = architecture
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
        labels = spec?.labels ?? [:]
        engineLabels = description?.engine?.labels ?? [:]
        os = description?.platform?.os ?? ""
        architecture = description?.platform?.architecture ?? ""
        var resources: [String: Int] = [:]
        for generic in description?.resources?.genericResources ?? [] {
            if let discrete = generic.discrete {
                let (sum, overflow) = resources[discrete.kind, default: 0].addingReportingOverflow(max(discrete.value, 0))
                resources[discrete.kind] = overflow ? .max : sum
            }
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

    public static func evaluate(
        state: String, manager: Bool, nodes: [SwarmNode]?, gpuRequests: [String: [GPURequest]] = [:], endpoint: String,
        defaultRuntime: String? = nil, constraints: [String: [String]] = [:]
    ) -> [CheckResult] {
        var checks: [CheckResult] = []
        guard state == "active", manager else {
            checks.append(
                CheckResult(
                    id: "swarm.manager", title: "swarm manager", status: .fail,
                    evidence: "the engine at \(endpoint) is \(state == "active" ? "a worker, not a manager" : "not in a swarm (\(state))")",
                    remediation: state == "active"
                        ? "point launch at a manager with --host or --context"
                        : "run `docker swarm init` on this engine, or point launch at a manager"))
            return checks
        }
        checks.append(CheckResult(id: "swarm.manager", title: "swarm manager", status: .ok, evidence: "\(endpoint) manages the swarm"))
        let nodes = nodes ?? []
        let schedulable = nodes.filter(\.schedulable)
        let managers = nodes.filter { $0.role == "manager" }.count
        let unavailable = nodes.filter { !$0.schedulable }.map { "\($0.hostname) (\($0.state), \($0.availability))" }
        checks.append(
            CheckResult(
                id: "swarm.nodes", title: "swarm nodes", status: schedulable.isEmpty ? .fail : (unavailable.isEmpty ? .ok : .warn),
                evidence:
                    "\(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(managers) manager\(managers == 1 ? "" : "s")), \(schedulable.count) ready and active"
                    + (unavailable.isEmpty ? "" : "; not taking tasks: \(unavailable.joined(separator: ", "))"),
                remediation: schedulable.isEmpty ? "make a node available: `docker node update --availability active <node>`" : nil))
        if !gpuRequests.isEmpty {
            checks += gpuChecks(gpuRequests, schedulable: schedulable, defaultRuntime: defaultRuntime)
        }
        if constraints.values.contains(where: { !$0.isEmpty }) {
            checks.append(placementCheck(constraints, schedulable: schedulable))
        }
        return checks
    }

    /// Each service's placement constraints, for the services that have any.
    public static func constraints(in stack: ComposeStack) -> [String: [String]] {
        Dictionary(
            uniqueKeysWithValues: stack.services.filter { !$0.placementConstraints.isEmpty }.map { ($0.name, $0.placementConstraints) })
    }

    /// Every service's `deploy.placement.constraints` must be met by some schedulable node, or its tasks would wait
    /// `pending` forever ("no suitable node"): said before anything is created, with what the nodes do have.
    static func placementCheck(_ constraints: [String: [String]], schedulable: [SwarmNode]) -> CheckResult {
        var problems: [String] = []
        var unchecked: [String] = []
        for (service, list) in constraints.sorted(by: { $0.key < $1.key }) where !list.isEmpty {
            let parsed = list.map { (text: $0, constraint: PlacementConstraint($0)) }
            if let bad = parsed.first(where: { $0.constraint == nil }) {
                problems.append("\(service): `\(bad.text)` is not a constraint (want `<attribute> == <value>` or `!=`)")
                continue
            }
            let rules = parsed.compactMap(\.constraint)
            unchecked += rules.filter { !$0.isKnown }.map { "\(service): \($0)" }
            if !schedulable.contains(where: { node in rules.allSatisfy { $0.matches(node) } }) {
                let unmet = rules.filter { rule in !schedulable.contains(where: rule.matches) }.map(\.description)
                problems.append(
                    "\(service): no schedulable node meets "
                        + (unmet.isEmpty ? list.joined(separator: " and ") + " together" : unmet.joined(separator: " and ")))
            }
        }
        let nodes = schedulable.map { node in
            node.hostname + " ("
                + (["role=\(node.role)"] + node.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: ", ")
                + ")"
        }
        guard !problems.isEmpty else {
            return CheckResult(
                id: "swarm.placement", title: "placement constraints", status: .ok,
                evidence: "every service's constraints are met by a schedulable node"
                    + (unchecked.isEmpty ? "" : " (left to the swarm: \(unchecked.joined(separator: ", ")))"))
        }
        return CheckResult(
            id: "swarm.placement", title: "placement constraints", status: .fail,
            evidence: problems.joined(separator: "; ") + "; nodes: " + (nodes.isEmpty ? "none schedulable" : nodes.joined(separator: "; ")),
            remediation: "label a node (`docker node update --label-add <key>=<value> <node>`) or change the constraint")
    }

    /// GPUs a swarm can schedule: the compose GPU reservation becomes a reservation of the `NVIDIA-GPU` generic
    /// resource (`SwarmGPU`), so some schedulable node must advertise at least as many as a service needs, or
    /// nothing is created. On the node launch talks to, a GPU the swarm hands out reaches the container only through
    /// the NVIDIA runtime: advertised GPUs with another default runtime are a warning.
    static func gpuChecks(_ requests: [String: [GPURequest]], schedulable: [SwarmNode], defaultRuntime: String?) -> [CheckResult] {
        let most = mostGPUs(on: schedulable)
        let gpuNodes = schedulable.filter { ($0.genericResources[gpuResource] ?? 0) > 0 }
        let demands = requests.compactMapValues { SwarmGPU.demand($0, nodeMax: most) }.sorted { $0.key < $1.key }
        let foreign = requests.filter { SwarmGPU.unmappable($0.value) }.keys.sorted()
        let needed = demands.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        var checks: [CheckResult] = []
        let setup =
            "on each GPU node add \"node-generic-resources\": [\"\(gpuResource)=<GPU UUID>\", …] (UUIDs from `nvidia-smi -L`) to "
            + "/etc/docker/daemon.json, make nvidia the default-runtime, set swarm-resource = \"DOCKER_RESOURCE_GPU\" in "
            + "/etc/nvidia-container-runtime/config.toml, and restart dockerd"
        if !foreign.isEmpty {
            checks.append(
                CheckResult(
                    id: "swarm.gpu", title: "GPUs on the swarm", status: .fail,
                    evidence:
                        "\(foreign.joined(separator: ", ")) request CDI devices that are not NVIDIA GPUs: a swarm schedules only \(gpuResource)",
                    remediation: "run this environment with `--engine compose`, or request NVIDIA GPUs"))
        } else if let short = demands.first(where: { $0.value > most }) {
            checks.append(
                CheckResult(
                    id: "swarm.gpu", title: "GPUs on the swarm", status: .fail,
                    evidence: "\(short.key) needs \(GPUWords.count(short.value)) on one node; "
                        + (gpuNodes.isEmpty
                            ? "no schedulable node advertises \(gpuResource)" : "the most any schedulable node advertises is \(most)")
                        + " (requests: \(needed))",
                    remediation: gpuNodes.isEmpty ? setup : "lower the request, or add a node with more GPUs"))
        } else {
            checks.append(
                CheckResult(
                    id: "swarm.gpu", title: "GPUs on the swarm", status: .ok,
                    evidence:
                        "\(gpuNodes.count) schedulable node\(gpuNodes.count == 1 ? "" : "s") advertise\(gpuNodes.count == 1 ? "s" : "") \(gpuResource) (up to \(most)); requests: \(needed)"
                ))
            if let defaultRuntime, defaultRuntime != "nvidia" {
                checks.append(
                    CheckResult(
                        id: "swarm.gpu.runtime", title: "GPU runtime on this node", status: .warn,
                        evidence: "this engine's default runtime is \(defaultRuntime): a task placed here is given GPUs by count "
                            + "(DOCKER_RESOURCE_\(gpuResource)) but its container sees none",
                        remediation: "make nvidia the default-runtime in /etc/docker/daemon.json on GPU nodes"))
            }
        }
        return checks
    }

    /// The GPU overlay the swarm's nodes call for (`OverlayDecision.decide(_:swarmNodes:)`): a profile that requires
    /// a GPU fails here when no node has one, as it fails the GPU checks on a single machine.
    public static func overlay(_ decision: OverlayDecision) -> CheckResult {
        if let failure = decision.failure {
            return CheckResult(
                id: "swarm.overlay", title: "GPU overlay", status: .fail, evidence: failure,
                remediation:
                    "advertise the GPUs of a node (`node-generic-resources` in its daemon.json, see swarm.gpu), or run this environment with `--engine compose` on a GPU machine"
            )
        }
        return CheckResult(
            id: "swarm.overlay", title: "GPU overlay", status: decision.warning == nil ? .ok : .warn,
            evidence: "\(decision.choice.rawValue): \(decision.reason)" + (decision.warning.map { "; \($0)" } ?? ""))
    }

    /// The most GPUs one schedulable node advertises: what `count: all` means on this swarm.
    static func mostGPUs(on nodes: [SwarmNode]) -> Int {
        nodes.filter(\.schedulable).map { $0.genericResources[gpuResource] ?? 0 }.max() ?? 0
    }

    /// Asks the engine and evaluates what `stack` needs of it (GPUs, placement constraints, images on the nodes
    /// launch can reach). `nodes`: the swarm's nodes as the caller already read them (so its overlay and these checks
    /// judge the same swarm); nil: read here. `engines`: the reachable nodes' engines (`SwarmNodeEngines`); nil:
    /// resolved here from the environment's Docker contexts.
    /// Every word passes `redact` (an image name can carry an interpolated value).
    public static func run(
        client: EngineClient, stack: ComposeStack, nodes known: [SwarmNode]? = nil, engines reachable: [String: EngineClient]? = nil,
        redact: Redactor = Redactor(values: [])
    ) async -> [CheckResult] {
        await evaluated(client: client, stack: stack, nodes: known, engines: reachable).map { $0.redacted(by: redact) }
    }

    static func evaluated(
        client: EngineClient, stack: ComposeStack, nodes known: [SwarmNode]?, engines reachable: [String: EngineClient]?
    ) async -> [CheckResult] {
        let gpuRequests = SwarmGPU.requests(in: stack)
        do {
            let swarm = try await client.swarmState()
            var nodes: [SwarmNode]?
            if swarm.state == "active" && swarm.manager {
                nodes = known
                if nodes == nil { nodes = try? await client.listNodes() }
            }
            var checks = evaluate(
                state: swarm.state, manager: swarm.manager, nodes: nodes, gpuRequests: gpuRequests, endpoint: client.endpoint.description,
                defaultRuntime: gpuRequests.isEmpty ? nil : swarm.defaultRuntime, constraints: constraints(in: stack))
            if let nodes, !checks.contains(where: { $0.status == .fail }) {
                var engines = reachable
                if engines == nil { engines = await SwarmNodeEngines.resolve(nodes: nodes, client: client) }
                checks.append(await SwarmImages.run(stack: stack, nodes: nodes, engines: engines ?? [:], client: client))
            }
            return checks
        } catch {
            return [
                CheckResult(
                    id: "swarm.manager", title: "swarm manager", status: .fail,
                    evidence: "the engine at \(client.endpoint) did not answer: \(error)",
                    remediation: "start the engine, or point launch at a manager")
            ]
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

    /// GPUs a service needs on one node, nil when it requests none: counted as for a single machine
    /// (`GPURequest.count(of:)`), with `all` the most any schedulable node advertises (at least 1); named devices
    /// count one each (the swarm, not the file, picks which).
    public static func demand(_ requests: [GPURequest], nodeMax: Int) -> Int? {
        GPURequest.count(of: requests).map { $0 < 0 ? max(nodeMax, 1) : $0 }
    }

    /// A CDI request for something other than an NVIDIA GPU: the swarm cannot schedule it.
    public static func unmappable(_ requests: [GPURequest]) -> Bool {
        requests.contains { $0.selection == .notNVIDIA }
    }

    /// Named devices the swarm will not honour by name (for the convert phase's note).
    public static func named(_ requests: [GPURequest]) -> [String] { GPURequest.deviceIDs(of: requests) }
}

/// One swarm placement constraint: `node.id`, `node.hostname`, `node.role`, `node.platform.os`, `node.platform.arch`,
/// `node.labels.<key>` or `engine.labels.<key>`, `==` or `!=`, a value. As the swarm matches them: attribute names and
/// values compare case-insensitively (label keys as written), and a label a node lacks never equals anything (so `!=`
/// holds). An attribute launch does not evaluate (`node.ip`, a newer one) is reported, never held against a node.
public struct PlacementConstraint: Sendable, Hashable, CustomStringConvertible {
    public var attribute: String
    public var equal: Bool
    public var value: String

    public init?(_ text: String) {
        // The swarm looks for `==` before `!=`.
        let equal = text.contains("==")
        let parts = text.components(separatedBy: equal ? "==" : "!=")
        guard parts.count == 2 else { return nil }
        let attribute = parts[0].trimmingCharacters(in: .whitespaces), value = parts[1].trimmingCharacters(in: .whitespaces)
        guard !attribute.isEmpty, !value.isEmpty, !attribute.contains(" ") else { return nil }
        self.attribute = attribute
        self.equal = equal
        self.value = value
    }

    public var description: String { "\(attribute) \(equal ? "==" : "!=") \(value)" }

    static let labelPrefixes = ["node.labels.", "engine.labels."]
    static let attributes = ["node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch"]

    /// launch can evaluate it from what `GET /nodes` says.
    public var isKnown: Bool {
        let lower = attribute.lowercased()
        return Self.attributes.contains(lower) || Self.labelPrefixes.contains { lower.hasPrefix($0) && lower.count > $0.count }
    }

    func actual(_ node: SwarmNode) -> String? {
        let lower = attribute.lowercased()
        switch lower {
        case "node.id": return node.id
        case "node.hostname": return node.hostname
        case "node.role": return node.role
        case "node.platform.os": return node.os
        case "node.platform.arch": return node.architecture
        default:
            if lower.hasPrefix("node.labels.") { return node.labels[String(attribute.dropFirst("node.labels.".count))] }
            return node.engineLabels[String(attribute.dropFirst("engine.labels.".count))]
        }
    }

    /// An attribute launch does not know matches every node (the swarm decides).
    public func matches(_ node: SwarmNode) -> Bool {
        guard isKnown else { return true }
        let same = actual(node).map { $0.caseInsensitiveCompare(value) == .orderedSame } ?? false
        return equal ? same : !same
    }
}
