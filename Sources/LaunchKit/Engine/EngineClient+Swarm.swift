import Foundation

/// A swarm service as the engine reports it. The spec is kept as the engine's own JSON bytes: an update must
/// send back every field, including those this model does not know, or the engine would reset them.
public struct SwarmService: Sendable, Hashable {
    public var id: String
    public var name: String
    public var version: UInt64
    public var labels: [String: String]
    public var mode: Mode
    public var spec: Data
    /// The swarm's account of the last rolling update: `updating`, `paused`, `completed`, `rollback_started`,
    /// `rollback_paused`, `rollback_completed` (nil: the spec was never updated, or the update changed no task).
    public var update: UpdateStatus?

    public struct UpdateStatus: Sendable, Hashable {
        public var state: String
        public var message: String?
        /// The engine's timestamp of the update's start: tells this update from an earlier one's leftover status.
        public var startedAt: String?

        public init(state: String, message: String? = nil, startedAt: String? = nil) {
            self.state = state
            self.message = message
            self.startedAt = startedAt
        }

        /// Whether this status is of a later update than `earlier` (the service's status before the run): an
        /// earlier update's leftover status has the same start; one without a start is taken as new.
        public func isNew(comparedTo earlier: UpdateStatus?) -> Bool {
            startedAt == nil || startedAt != earlier?.startedAt
        }
    }

    public enum Mode: Sendable, Hashable {
        case replicated(Int)
        case replicatedJob(totalCompletions: Int)
        case global
        case other
    }

    /// `GET /services` and `GET /services/{id}` answers; unknown modes are kept as `.other`.
    static func decode(_ object: [String: Any]) -> SwarmService? {
        guard let id = object["ID"] as? String, let spec = object["Spec"] as? [String: Any],
            let version = (object["Version"] as? [String: Any])?["Index"] as? NSNumber,
            let data = try? JSONSerialization.data(withJSONObject: spec)
        else { return nil }
        let modeObject = spec["Mode"] as? [String: Any] ?? [:]
        let mode: Mode =
            if let replicated = modeObject["Replicated"] as? [String: Any] {
                .replicated((replicated["Replicas"] as? NSNumber)?.intValue ?? 1)
            } else if let job = modeObject["ReplicatedJob"] as? [String: Any] {
                .replicatedJob(totalCompletions: (job["TotalCompletions"] as? NSNumber)?.intValue ?? 1)
            } else if modeObject["Global"] != nil {
                .global
            } else {
                .other
            }
        let update = (object["UpdateStatus"] as? [String: Any]).flatMap { status in
            (status["State"] as? String).map {
                UpdateStatus(state: $0, message: status["Message"] as? String, startedAt: status["StartedAt"] as? String)
            }
        }
        return SwarmService(
            id: id, name: spec["Name"] as? String ?? id, version: version.uint64Value,
            labels: spec["Labels"] as? [String: String] ?? [:], mode: mode, spec: data, update: update)
    }

    /// Whether two specs say the same thing (key order aside).
    public static func sameSpec(_ a: Data, _ b: Data) -> Bool {
        canonical(a) == canonical(b)
    }

    /// Whether two specs run the same tasks: the swarm replaces tasks (a rolling update) only when the task
    /// template or the published ports change; a new update policy or replica count replaces none. As the swarm
    /// decides it, a change of placement alone, or of pull options alone, replaces no running task either.
    public static func sameTasks(_ a: Data, _ b: Data) -> Bool {
        canonical(a, transform: taskShape) == canonical(b, transform: taskShape)
    }

    /// The part of a spec the swarm compares with its running tasks.
    static func taskShape(_ object: Any) -> Any {
        guard let spec = object as? [String: Any] else { return object }
        var template = spec["TaskTemplate"] as? [String: Any] ?? [:]
        template.removeValue(forKey: "Placement")
        if var container = template["ContainerSpec"] as? [String: Any] {
            container.removeValue(forKey: "PullOptions")
            template["ContainerSpec"] = container
        }
        return ["TaskTemplate": template, "EndpointSpec": spec["EndpointSpec"] ?? [String: Any]()]
    }

    static func canonical(_ data: Data, transform: (Any) -> Any = { $0 }) -> Data? {
        guard let object = try? JSONSerialization.jsonObject(with: data) else { return nil }
        return try? JSONSerialization.data(withJSONObject: transform(object), options: [.sortedKeys])
    }

    /// The compose service this swarm service was deployed from: its name without the stack's `<stack>_` prefix.
    public func composeName(in stack: String) -> String {
        name.hasPrefix(stack + "_") ? String(name.dropFirst(stack.count + 1)) : name
    }

    /// Replicas a replicated service runs (0 for a job or a global service: nothing to roll over by count).
    public var replicas: Int {
        if case .replicated(let count) = mode { count } else { 0 }
    }

    /// Its spec gives its containers a healthcheck (one that is not switched off with `NONE`).
    public var hasHealthcheck: Bool {
        let object = (try? JSONSerialization.jsonObject(with: spec)) as? [String: Any]
        let container = (object?["TaskTemplate"] as? [String: Any])?["ContainerSpec"] as? [String: Any]
        guard let test = (container?["Healthcheck"] as? [String: Any])?["Test"] as? [String], let first = test.first else { return false }
        return first != "NONE"
    }

    /// A job's tasks run once: an update does not roll them over, and going back would run the job again.
    public var isJob: Bool {
        if case .replicatedJob = mode { true } else { false }
    }

    /// It keeps tasks running that an update replaces one by one: a replicated service with replicas, or a global one.
    public var keepsTasksRunning: Bool {
        switch mode {
        case .replicated(let count): count > 0
        case .global: true
        case .replicatedJob, .other: false
        }
    }

    /// The spec with its replica count (or, for a job, its completions and concurrency) set to `count`;
    /// every other field untouched. A job's update also makes the engine run a new iteration.
    public static func scaled(_ spec: Data, to count: Int) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: spec) as? [String: Any] else {
            throw EngineError.decoding("service spec is not an object")
        }
        var mode = object["Mode"] as? [String: Any] ?? [:]
        if mode["ReplicatedJob"] != nil {
            mode["ReplicatedJob"] = ["TotalCompletions": count, "MaxConcurrent": count]
        } else {
            mode["Replicated"] = ["Replicas": count]
        }
        object["Mode"] = mode
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}

/// One task of a service: the engine's scheduling unit (one container on one node).
public struct SwarmTask: Sendable, Hashable, Decodable {
    public var id: String
    public var serviceID: String
    public var slot: Int?
    public var desiredState: String
    public var status: Status
    public var createdAt: String?
    /// The node the swarm placed it on (absent while it is not assigned yet).
    public var nodeID: String?

    public struct Status: Sendable, Hashable, Decodable {
        public var state: String
        public var message: String?
        public var err: String?
        public var containerStatus: ContainerStatus?
        enum CodingKeys: String, CodingKey {
            case state = "State", message = "Message", err = "Err", containerStatus = "ContainerStatus"
        }
    }

    public struct ContainerStatus: Sendable, Hashable, Decodable {
        public var containerID: String?
        public var exitCode: Int?
        enum CodingKeys: String, CodingKey { case containerID = "ContainerID", exitCode = "ExitCode" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", serviceID = "ServiceID", slot = "Slot", desiredState = "DesiredState", status = "Status",
            createdAt = "CreatedAt", nodeID = "NodeID"
    }
}

/// A swarm object launch may have to remove (network, config, secret), found by the stack label.
public struct SwarmObject: Sendable, Hashable, Decodable {
    public var id: String
    public var name: String
    enum CodingKeys: String, CodingKey { case id = "ID", spec = "Spec", name = "Name" }
    enum SpecKeys: String, CodingKey { case name = "Name" }
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        if let spec = try? container.nestedContainer(keyedBy: SpecKeys.self, forKey: .spec),
            let name = try? spec.decode(String.self, forKey: .name)
        {
            self.name = name
        } else {
            name = (try? container.decode(String.self, forKey: .name)) ?? id
        }
    }
}

extension EngineClient {
    /// The label `docker stack deploy` puts on everything it creates.
    public static let stackLabel = "com.docker.stack.namespace"

    /// `inactive`, `pending`, `active`, `error`, `locked`, and whether this node manages the swarm.
    /// This node's part in a swarm, and the engine's default runtime (the same `/info` answer).
    public func swarmState() async throws -> (state: String, manager: Bool, defaultRuntime: String?, nodeID: String?) {
        let response = try await perform("GET", "/info")
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let swarm = object?["Swarm"] as? [String: Any] ?? [:]
        return (
            swarm["LocalNodeState"] as? String ?? "inactive", swarm["ControlAvailable"] as? Bool ?? false,
            object?["DefaultRuntime"] as? String, (swarm["NodeID"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        )
    }

    /// Whether the registry `reference` names has it, as this engine asks it (`GET /distribution/{name}/json`, what
    /// `docker stack deploy --resolve-image` asks): true when it answers with the image, false when it refuses or
    /// cannot be reached (a node would fail the same pull), nil when no answer came within `limit`.
    public func registryHas(_ reference: String, limit: Duration = .seconds(5)) async -> Bool? {
        await within(limit) {
            guard let response = try? await self.perform("GET", "/distribution/\(Self.escape(reference))/json", accept: { _ in true })
            else {
                return false
            }
            return (200..<300).contains(response.status)
        } ?? nil
    }

    public func listServices(stack: String) async throws -> [SwarmService] {
        let response = try await perform("GET", "/services", Self.labelFilter(["\(Self.stackLabel)=\(stack)"]))
        let list = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]] ?? []
        return list.compactMap(SwarmService.decode).sorted { $0.name < $1.name }
    }

    public func inspectService(_ id: String) async throws -> SwarmService {
        let response = try await perform("GET", "/services/\(Self.escape(id))")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
            let service = SwarmService.decode(object)
        else { throw EngineError.decoding("service \(id)") }
        return service
    }

    /// Optimistic concurrency: `version` is the index the spec was read at; a stale one is refused by the engine.
    public func updateService(_ id: String, version: UInt64, spec: Data) async throws {
        try await perform("POST", "/services/\(Self.escape(id))/update", [("version", String(version))], body: Array(spec))
    }

    /// Back to the spec before the last update (`docker service rollback`): the swarm rolls the tasks back with
    /// the service's rollback config.
    public func rollBackService(_ id: String, version: UInt64, spec: Data) async throws {
        try await perform(
            "POST", "/services/\(Self.escape(id))/update", [("version", String(version)), ("rollback", "previous")], body: Array(spec))
    }

    public func removeService(_ id: String) async throws {
        try await perform("DELETE", "/services/\(Self.escape(id))", accept: Self.okOrGone)
    }

    /// Every task of the named services (ids or names), old ones included: the caller decides which count.
    public func listTasks(services: [String]) async throws -> [SwarmTask] {
        try await get("/tasks", Self.filters(["service": services]))
    }

    public func listSwarmNetworks(stack: String) async throws -> [SwarmObject] {
        try await listNetworks(labels: ["\(Self.stackLabel)=\(stack)"]).map { SwarmObject(id: $0.id, name: $0.name) }
    }

    public func listConfigs(stack: String) async throws -> [SwarmObject] {
        try await get("/configs", Self.labelFilter(["\(Self.stackLabel)=\(stack)"]))
    }

    public func removeConfig(_ id: String) async throws {
        try await perform("DELETE", "/configs/\(Self.escape(id))", accept: Self.okOrGone)
    }

    public func listSecrets(stack: String) async throws -> [SwarmObject] {
        try await get("/secrets", Self.labelFilter(["\(Self.stackLabel)=\(stack)"]))
    }

    public func removeSecret(_ id: String) async throws {
        try await perform("DELETE", "/secrets/\(Self.escape(id))", accept: Self.okOrGone)
    }
}
