/// The resolved stack: what Compose will create, reduced to what launching needs.
public struct ComposeStack: Sendable, Hashable, Encodable {
    public var services: [ComposeService] {
        didSet { positions = Self.positions(services) }
    }
    /// Named volumes the stack declares (not bind mounts).
    public var volumes: [String]
    public var networks: [String]
    /// Where each service is in `services`: a lookup by name is constant time (a 10,000-service stack is looked up
    /// by name once per edge).
    private var positions: [String: Int]

    public init(services: [ComposeService], volumes: [String] = [], networks: [String] = []) {
        let sorted = services.sorted { $0.name < $1.name }
        self.services = sorted
        self.positions = Self.positions(sorted)
        self.volumes = volumes.sorted()
        self.networks = networks.sorted()
    }

    private static func positions(_ services: [ComposeService]) -> [String: Int] {
        Dictionary(services.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    enum CodingKeys: String, CodingKey { case services, volumes, networks }

    public var serviceNames: [String] { services.map(\.name) }

    public func service(_ name: String) -> ComposeService? { positions[name].map { services[$0] } }

    /// Every host port the stack publishes, with the service that wants it.
    public var publishedPorts: [(service: String, port: PublishedPort)] {
        services.flatMap { service in service.ports.map { (service.name, $0) } }
    }
}

public struct ComposeService: Sendable, Hashable, Encodable {
    public var name: String
    public var image: String?
    /// Built from a `build:` section rather than pulled.
    public var builds: Bool
    public var dependsOn: [Dependency]
    public var healthcheck: Healthcheck?
    /// `healthcheck: {disable: true}` (or `test: ["NONE"]`): no healthcheck, whatever its image declares.
    public var healthcheckDisabled = false
    public var ports: [PublishedPort]
    /// GPU device requests: `deploy.resources.reservations.devices` and CDI names under `devices:`.
    public var gpuRequests: [GPURequest]
    /// The command as Compose resolved it (a string is split on whitespace), for tensor-parallel flags.
    public var command: [String]
    /// `ipc:` (`host` shares the host's /dev/shm) and `shm_size:`; tensor parallelism needs one of them.
    public var ipc: String?
    public var shmSize: ByteSize?
    public var replicas: Int
    /// Named volumes this service mounts.
    public var volumes: [String]
    public var restartPolicy: String?
    public var labels: [String: String]
    /// `container_name:`: one fixed name, which no other container may hold.
    public var containerName: String? = nil
    /// `build:`'s context and Dockerfile, when the context is an absolute directory (as `docker compose config`
    /// writes it); nil for a remote context or the raw files' relative one.
    public var buildContext: BuildContext? = nil
    /// `pull_policy:` as written (`always`, `missing`, `never`, `build`, `daily`, …); nil when absent.
    public var pullPolicy: String? = nil
    /// `deploy.placement.constraints` (swarm only): `node.labels.gpu == true`, `node.role != manager`, …
    public var placementConstraints: [String] = []
    /// Device request drivers the engine has no built-in driver for (`driver: nvidia.com/gpu`, as LocalAI documents):
    /// the engine refuses the container at create.
    public var unknownDeviceDrivers: [String] = []

    /// GPUs this service asks for: -1 means all; nil when it asks for none. CDI names of other vendors do not count.
    public var gpuCount: Int? { GPURequest.count(of: gpuRequests) }

    /// The device ids it names (`0`, `GPU-…`, `0:1`), in order; empty when it asks by count.
    public var gpuDeviceIDs: [String] { GPURequest.deviceIDs(of: gpuRequests) }

    public var requestsGPUs: Bool { gpuCount != nil }

    /// Tensor parallelism across more than one GPU, or nil for a single-GPU (or CPU) service.
    public var tensorParallelism: TensorParallelism? {
        guard requestsGPUs else { return nil }
        let size = TensorParallelism.size(command: command)
        guard size >= 2 else { return nil }
        return TensorParallelism(service: name, size: size, ipc: ipc, shmSize: shmSize)
    }

    /// `labels: {launch.job: "true"}` marks a one-shot job that nothing waits on (a load test, a report).
    public var isDeclaredJob: Bool { Self.jobLabelValues[labels["launch.job"]?.lowercased() ?? ""] ?? false }

    /// Every value `launch.job` may take; `ComposeModelReader` refuses others with their line.
    static let jobLabelValues = ["true": true, "1": true, "yes": true, "on": true, "false": false, "0": false, "no": false, "off": false]

    public init(
        name: String, image: String? = nil, builds: Bool = false, dependsOn: [Dependency] = [],
        healthcheck: Healthcheck? = nil, ports: [PublishedPort] = [], gpuRequests: [GPURequest] = [], replicas: Int = 1,
        volumes: [String] = [], restartPolicy: String? = nil, labels: [String: String] = [:], command: [String] = [],
        ipc: String? = nil, shmSize: ByteSize? = nil
    ) {
        self.command = command
        self.ipc = ipc
        self.shmSize = shmSize
        self.labels = labels
        self.name = name
        self.image = image
        self.builds = builds
        self.dependsOn = dependsOn
        self.healthcheck = healthcheck
        self.ports = ports
        self.gpuRequests = gpuRequests
        self.replicas = replicas
        self.volumes = volumes
        self.restartPolicy = restartPolicy
    }
}

public struct Dependency: Sendable, Hashable, Encodable {
    public enum Condition: String, Sendable, Hashable, Encodable, CaseIterable {
        case started = "service_started"
        case healthy = "service_healthy"
        case completedSuccessfully = "service_completed_successfully"
    }

    public var service: String
    public var condition: Condition
    /// `required: false` dependencies may be missing or fail without blocking the dependent.
    public var required: Bool
    /// `restart: true`: when the dependency is restarted (`launch restart`), this service is restarted after it.
    public var restart: Bool

    public init(service: String, condition: Condition = .started, required: Bool = true, restart: Bool = false) {
        self.service = service
        self.condition = condition
        self.required = required
        self.restart = restart
    }
}

public struct Healthcheck: Sendable, Hashable, Encodable {
    public var test: [String]
    public var interval: Duration
    public var timeout: Duration
    public var startPeriod: Duration
    public var retries: Int

    /// An image's HEALTHCHECK as the engine stores it (nanoseconds; 0 or nil: the engine's default).
    public init(image check: ContainerDetails.Healthcheck) {
        func duration(_ nanoseconds: Int64?, _ fallback: Duration) -> Duration {
            guard let nanoseconds, nanoseconds > 0 else { return fallback }
            return .nanoseconds(min(nanoseconds, 7 * 24 * 3600 * 1_000_000_000))
        }
        self.init(
            test: check.test ?? [], interval: duration(check.interval, .seconds(30)), timeout: duration(check.timeout, .seconds(30)),
            startPeriod: duration(check.startPeriod, .zero), retries: (check.retries ?? 0) > 0 ? min(check.retries ?? 3, 10_000) : 3)
    }

    /// The engine's own defaults (daemon/health.go).
    public init(
        test: [String], interval: Duration = .seconds(30), timeout: Duration = .seconds(30),
        startPeriod: Duration = .zero, retries: Int = 3
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.retries = retries
    }

    /// The latest moment the engine could still report this service healthy, plus a margin for the
    /// engine's own scheduling: start_period + retries × (interval + timeout) + margin, at most a week.
    /// An image's healthcheck can hold any nanosecond count and retry count, so every term is clamped and
    /// the product saturates instead of trapping.
    public func deadline(margin: Duration = .seconds(2)) -> Duration {
        let limit = DurationText.maximum
        let attempt = interval.clamped(to: limit) + timeout.clamped(to: limit)
        let total = startPeriod.clamped(to: limit) + attempt.multiplied(by: max(retries, 1), limit: limit)
        return (total + margin.clamped(to: limit)).clamped(to: limit)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(test, forKey: .test)
        try container.encode(interval.seconds, forKey: .interval)
        try container.encode(timeout.seconds, forKey: .timeout)
        try container.encode(startPeriod.seconds, forKey: .startPeriod)
        try container.encode(retries, forKey: .retries)
    }
    enum CodingKeys: String, CodingKey { case test, interval, timeout, startPeriod = "start_period", retries }
}

public struct PublishedPort: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// Empty or `0.0.0.0` means every interface.
    public var hostIP: String
    public var published: Int
    public var target: Int
    public var proto: String

    public init(hostIP: String = "", published: Int, target: Int, proto: String = "tcp") {
        self.hostIP = hostIP
        self.published = published
        self.target = target
        self.proto = proto
    }

    public var description: String {
        (hostIP.isEmpty ? "" : "\(hostIP):") + "\(published)->\(target)/\(proto)"
    }
}
