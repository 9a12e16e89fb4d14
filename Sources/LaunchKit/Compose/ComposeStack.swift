/// The resolved stack: what Compose will create, reduced to what launching needs.
public struct ComposeStack: Sendable, Hashable, Encodable {
    public var services: [ComposeService]
    /// Named volumes the stack declares (not bind mounts).
    public var volumes: [String]
    public var networks: [String]

    public init(services: [ComposeService], volumes: [String] = [], networks: [String] = []) {
        self.services = services.sorted { $0.name < $1.name }
        self.volumes = volumes.sorted()
        self.networks = networks.sorted()
    }

    public var serviceNames: [String] { services.map(\.name) }

    public func service(_ name: String) -> ComposeService? { services.first { $0.name == name } }

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
    public var ports: [PublishedPort]
    /// GPUs reserved through `deploy.resources.reservations.devices`; -1 means all.
    public var gpuCount: Int?
    public var replicas: Int
    /// Named volumes this service mounts.
    public var volumes: [String]
    public var restartPolicy: String?
    public var labels: [String: String]

    /// `labels: {launch.job: "true"}` marks a one-shot job that nothing waits on (a load test, a report).
    public var isDeclaredJob: Bool { Self.jobLabelValues[labels["launch.job"]?.lowercased() ?? ""] ?? false }

    /// Every value `launch.job` may take; `ComposeModelReader` refuses others with their line.
    static let jobLabelValues = ["true": true, "1": true, "yes": true, "on": true, "false": false, "0": false, "no": false, "off": false]

    public init(
        name: String, image: String? = nil, builds: Bool = false, dependsOn: [Dependency] = [],
        healthcheck: Healthcheck? = nil, ports: [PublishedPort] = [], gpuCount: Int? = nil, replicas: Int = 1,
        volumes: [String] = [], restartPolicy: String? = nil, labels: [String: String] = [:]
    ) {
        self.labels = labels
        self.name = name
        self.image = image
        self.builds = builds
        self.dependsOn = dependsOn
        self.healthcheck = healthcheck
        self.ports = ports
        self.gpuCount = gpuCount
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

    public init(service: String, condition: Condition = .started, required: Bool = true) {
        self.service = service
        self.condition = condition
        self.required = required
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
