import Foundation

// Models decode only the fields the launcher needs; the engine's PascalCase keys are
// mapped explicitly because key strategies would also rewrite label dictionary keys.
// Collections the engine may send as `null` (Labels, Volumes, BuildCache...) decode as empty.

extension KeyedDecodingContainer {
    func decode<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

public struct EngineVersion: Decodable, Sendable, Equatable {
    public let version: String
    public let apiVersion: String
    /// The oldest API version the engine accepts from clients (absent from very old engines).
    public let minAPIVersion: String?
    public let os: String
    public let arch: String
    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", os = "Os", arch = "Arch"
    }
}

public struct EngineInfo: Decodable, Sendable, Equatable {
    public let dockerRootDir: String
    /// Names of the configured runtimes (the engine's `Runtimes` keys), sorted.
    public let runtimes: [String]
    public let defaultRuntime: String
    public let ncpu: Int
    public let memTotal: Int64
    public let serverVersion: String
    /// Where the engine reads CDI specs (API 1.44+ with CDI enabled; on by default since Docker 28.2);
    /// nil when the engine does not say, empty when CDI is off.
    public let cdiSpecDirs: [String]?
    /// Devices the engine discovered (API 1.50+, Docker 28.2): `nvidia.com/gpu=0` from source `cdi`.
    public let discoveredDevices: [DiscoveredDevice]?
    /// The engine's clock when it answered (RFC 3339), for judging its other times against; "" when absent.
    public var systemTime = ""

    public struct DiscoveredDevice: Decodable, Sendable, Equatable {
        public let source: String
        public let id: String
        enum CodingKeys: String, CodingKey { case source = "Source", id = "ID" }
    }

    enum CodingKeys: String, CodingKey {
        case dockerRootDir = "DockerRootDir", runtimes = "Runtimes", defaultRuntime = "DefaultRuntime"
        case ncpu = "NCPU", memTotal = "MemTotal", serverVersion = "ServerVersion"
        case cdiSpecDirs = "CDISpecDirs", discoveredDevices = "DiscoveredDevices", systemTime = "SystemTime"
    }
    private struct Ignored: Decodable {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dockerRootDir = try c.decode(.dockerRootDir, or: "")
        runtimes = try c.decode(.runtimes, or: [String: Ignored]()).keys.sorted()
        defaultRuntime = try c.decode(.defaultRuntime, or: "")
        ncpu = try c.decode(.ncpu, or: 0)
        memTotal = try c.decode(.memTotal, or: 0)
        serverVersion = try c.decode(.serverVersion, or: "")
        cdiSpecDirs = try? c.decodeIfPresent([String].self, forKey: .cdiSpecDirs)
        discoveredDevices = try? c.decodeIfPresent([DiscoveredDevice].self, forKey: .discoveredDevices)
        systemTime = try c.decode(.systemTime, or: "")
    }
}

public struct ContainerSummary: Decodable, Sendable, Equatable {
    public struct Port: Decodable, Sendable, Equatable {
        public let ip: String?
        public let privatePort: Int
        public let publicPort: Int?
        public let type: String
        enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }
    }
    public let id: String
    /// As the engine reports them: with a leading "/".
    public let names: [String]
    public let image: String
    /// The image the container runs, as an id (`sha256:…`): what a last-good record pins.
    public let imageID: String
    public let state: String
    public let status: String
    public let labels: [String: String]
    public let created: Int64
    public let ports: [Port]
    /// Names of the volumes mounted (named and anonymous), for `down --volumes`.
    public let volumeNames: [String]

    struct Mount: Decodable {
        let type: String?
        let name: String?
        enum CodingKeys: String, CodingKey { case type = "Type", name = "Name" }
    }

    /// First name without the leading "/".
    public var name: String { names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? "" }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", state = "State", status = "Status"
        case labels = "Labels", created = "Created", ports = "Ports", mounts = "Mounts"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decode(.names, or: [])
        image = try c.decode(.image, or: "")
        imageID = try c.decode(.imageID, or: "")
        state = try c.decode(.state, or: "")
        status = try c.decode(.status, or: "")
        labels = try c.decode(.labels, or: [:])
        created = try c.decode(.created, or: 0)
        ports = try c.decode(.ports, or: [])
        volumeNames = try c.decode(.mounts, or: [Mount]()).compactMap { $0.type == "volume" ? $0.name : nil }
    }
}

public struct ContainerDetails: Decodable, Sendable, Equatable {
    public struct Healthcheck: Decodable, Sendable, Equatable {
        public let test: [String]?
        /// Durations in nanoseconds; nil means "engine default".
        public let interval: Int64?
        public let timeout: Int64?
        public let startPeriod: Int64?
        /// How often the engine itself checks during the start period (API 1.44+; an older engine neither stores
        /// nor honours it).
        public let startInterval: Int64?
        public let retries: Int?
        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod", startInterval = "StartInterval"
            case retries = "Retries"
        }
    }
    public struct Config: Decodable, Sendable, Equatable {
        public let labels: [String: String]
        public let healthcheck: Healthcheck?
        /// Decides whether logs are multiplexed (false) or raw (true).
        public let tty: Bool
        enum CodingKeys: String, CodingKey { case labels = "Labels", healthcheck = "Healthcheck", tty = "Tty" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            labels = try c.decode(.labels, or: [:])
            healthcheck = try c.decodeIfPresent(Healthcheck.self, forKey: .healthcheck)
            tty = try c.decode(.tty, or: false)
        }
    }
    public struct HealthLog: Decodable, Sendable, Equatable {
        public let start: String
        public let end: String
        public let exitCode: Int
        public let output: String
        enum CodingKeys: String, CodingKey { case start = "Start", end = "End", exitCode = "ExitCode", output = "Output" }
    }
    public struct Health: Decodable, Sendable, Equatable {
        /// "starting", "healthy" or "unhealthy".
        public let status: String
        public let failingStreak: Int
        public let log: [HealthLog]
        enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak", log = "Log" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try c.decode(.status, or: "")
            failingStreak = try c.decode(.failingStreak, or: 0)
            log = try c.decode(.log, or: [])
        }
    }
    public struct State: Decodable, Sendable, Equatable {
        public let status: String
        public let running: Bool
        public let restarting: Bool
        public let oomKilled: Bool
        public let dead: Bool
        public let exitCode: Int
        public let error: String
        public let startedAt: String
        public let finishedAt: String
        public let health: Health?
        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", restarting = "Restarting", oomKilled = "OOMKilled", dead = "Dead"
            case exitCode = "ExitCode", error = "Error", startedAt = "StartedAt", finishedAt = "FinishedAt", health = "Health"
        }
    }
    public struct RestartPolicy: Decodable, Sendable, Equatable {
        public let name: String
        /// `on-failure:N`: the engine gives up after N restarts (0: never gives up).
        public var maximumRetryCount: Int? = nil
        enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
    }
    public struct HostConfig: Decodable, Sendable, Equatable {
        public let restartPolicy: RestartPolicy?
        /// Bytes; 0 or absent: no limit.
        public var memory: Int64? = nil
        /// `cpus: 0.5` is NanoCpus 500000000; older tools set CpuQuota/CpuPeriod instead.
        public var nanoCpus: Int64? = nil
        public var cpuQuota: Int64? = nil
        public var cpuPeriod: Int64? = nil
        enum CodingKeys: String, CodingKey {
            case restartPolicy = "RestartPolicy", memory = "Memory", nanoCpus = "NanoCpus", cpuQuota = "CpuQuota", cpuPeriod = "CpuPeriod"
        }

        /// The memory limit in bytes, nil when unlimited.
        public var memoryLimit: Int64? { memory.flatMap { $0 > 0 ? $0 : nil } }

        /// The CPU limit in CPUs, nil when unlimited.
        public var cpuLimit: Double? {
            if let nano = nanoCpus, nano > 0 { return Double(nano) / 1e9 }
            if let quota = cpuQuota, quota > 0 { return Double(quota) / Double(cpuPeriod.flatMap { $0 > 0 ? $0 : nil } ?? 100_000) }
            return nil
        }
    }

    public let id: String
    /// Without the leading "/".
    public let name: String
    public let created: String
    public let restartCount: Int
    public let config: Config
    public let state: State
    public let hostConfig: HostConfig

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", created = "Created", restartCount = "RestartCount"
        case config = "Config", state = "State", hostConfig = "HostConfig"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        let raw = try c.decode(.name, or: "")
        name = raw.hasPrefix("/") ? String(raw.dropFirst()) : raw
        created = try c.decode(.created, or: "")
        restartCount = try c.decode(.restartCount, or: 0)
        config = try c.decode(Config.self, forKey: .config)
        state = try c.decode(State.self, forKey: .state)
        hostConfig = try c.decode(HostConfig.self, forKey: .hostConfig)
    }
}

public struct NetworkSummary: Decodable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let labels: [String: String]
    enum CodingKeys: String, CodingKey { case id = "Id", name = "Name", labels = "Labels" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(.name, or: "")
        labels = try c.decode(.labels, or: [:])
    }
}

public struct VolumeSummary: Decodable, Sendable, Equatable {
    public let name: String
    public let labels: [String: String]
    public let createdAt: String
    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels", createdAt = "CreatedAt" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        labels = try c.decode(.labels, or: [:])
        createdAt = try c.decode(.createdAt, or: "")
    }
}

/// `GET /volumes` wraps the list, and sends `"Volumes": null` when there are none.
struct VolumeList: Decodable {
    let volumes: [VolumeSummary]
    enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
    init(from decoder: any Decoder) throws {
        volumes = try decoder.container(keyedBy: CodingKeys.self).decode(.volumes, or: [])
    }
}

/// Raw `GET /system/df`; sizes are bytes, -1 where the engine did not compute them.
public struct SystemDataUsage: Decodable, Sendable, Equatable {
    public struct Image: Decodable, Sendable, Equatable {
        public let size: Int64
        public let sharedSize: Int64
        public let containers: Int
        /// Cleanup names what it would remove: dangling images have no tag (or only `<none>:<none>`).
        public let id: String?
        public let repoTags: [String]?
        public let labels: [String: String]?
        enum CodingKeys: String, CodingKey {
            case size = "Size", sharedSize = "SharedSize", containers = "Containers", id = "Id", repoTags = "RepoTags"
            case labels = "Labels"
        }
    }
    public struct Container: Decodable, Sendable, Equatable {
        public let sizeRw: Int64?
        public let state: String
        public let id: String?
        public let names: [String]?
        public let labels: [String: String]?
        enum CodingKeys: String, CodingKey {
            case sizeRw = "SizeRw", state = "State", id = "Id", names = "Names", labels = "Labels"
        }
    }
    public struct UsageData: Decodable, Sendable, Equatable {
        public let size: Int64
        public let refCount: Int
        enum CodingKeys: String, CodingKey { case size = "Size", refCount = "RefCount" }
    }
    public struct Volume: Decodable, Sendable, Equatable {
        public let name: String
        public let usageData: UsageData?
        enum CodingKeys: String, CodingKey { case name = "Name", usageData = "UsageData" }
    }
    public struct BuildCache: Decodable, Sendable, Equatable {
        public let size: Int64
        public let inUse: Bool
        public let shared: Bool?
        enum CodingKeys: String, CodingKey { case size = "Size", inUse = "InUse", shared = "Shared" }
    }
    public let layersSize: Int64
    public let images: [Image]
    public let containers: [Container]
    public let volumes: [Volume]
    public let buildCache: [BuildCache]

    enum CodingKeys: String, CodingKey {
        case layersSize = "LayersSize", images = "Images", containers = "Containers", volumes = "Volumes", buildCache = "BuildCache"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layersSize = try c.decode(.layersSize, or: 0)
        images = try c.decode(.images, or: [])
        containers = try c.decode(.containers, or: [])
        volumes = try c.decode(.volumes, or: [])
        buildCache = try c.decode(.buildCache, or: [])
    }
}
