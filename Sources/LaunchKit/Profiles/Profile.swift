/// One environment's launch recipe, fully resolved (`extends` applied, defaults filled in).
///
/// Loaded from `environments/<name>.yml` by `ProfileLoader`; see docs/profile-schema.md for the file format.
public struct Profile: Sendable, Hashable, Encodable {
    public var name: String
    public var aliases: [String]
    public var summary: String
    public var extends: String?
    public var compose: ComposeSettings
    /// Relative to the project root.
    public var envFile: String
    public var variables: [Variable]
    public var secrets: [SecretSpec]
    public var gpu: GPUSettings
    public var services: ServiceClasses
    public var requires: Requirements
    public var health: HealthPolicy
    public var cleanup: CleanupPolicy
    public var urls: [NamedURL]
    public var preflight: [PreflightCheckSpec]
    /// The profile file, relative to the project root (for messages).
    public var sourceFile: String
    /// `engine: swarm` runs the environment on a Docker Swarm; `--engine` on the command line overrides it.
    public var engine: Orchestration = .compose
    /// What `launch watch` may do beyond reporting: restart services within a budget (`watch:`).
    public var watch: WatchPolicy = .defaults

    public struct ComposeSettings: Sendable, Hashable, Encodable {
        public var project: String
        /// Relative to `compose/`, in order; the GPU overlay is appended by the plan.
        public var files: [String]
        /// Compose profiles to activate (`compose.profiles`), on top of `COMPOSE_PROFILES`.
        public var profiles: [String] = []
    }

    public struct Variable: Sendable, Hashable, Encodable {
        public var key: String
        public var value: String
    }

    public struct SecretSpec: Sendable, Hashable, Encodable {
        public var key: String
        /// Length of the random part; `prefix` comes on top.
        public var length: Int
        public var prefix: String
    }

    public struct GPUSettings: Sendable, Hashable, Encodable {
        public enum Mode: String, Sendable, Hashable, Encodable, CaseIterable {
            case required, optional, none
        }
        public var mode: Mode
        public var dual: String?
        public var single: String?
        public var none: String?
    }

    public struct ServiceClasses: Sendable, Hashable, Encodable {
        public var core: [String]
        public var optional: [String]
        public var stretch: [String]

        /// Unlisted services are core.
        public func serviceClass(of service: String) -> ServiceClass {
            if optional.contains(service) { return .optional }
            if stretch.contains(service) { return .stretch }
            return .core
        }
    }

    public struct Requirements: Sendable, Hashable, Encodable {
        public var memory: ByteSize?
        public var disk: ByteSize?
        public var paths: [String]
        /// Free memory needed on each GPU the stack uses (`requires.gpu_memory`).
        public var gpuMemory: ByteSize?
    }

    public struct HealthPolicy: Sendable, Hashable, Encodable {
        /// Caps every service's derived deadline when set.
        public var timeout: Duration?
        public var retries: Int
        public var backoff: Duration
        public var requireHealthcheck: Bool
        /// How long a service without a healthcheck must run unrestarted to count as ready.
        public var stability: Duration
        /// `timeout: learned`: each service's deadline is its p95 time to ready over past runs × a margin.
        public var learnedTimeout = false

        /// Retries beyond this only postpone a failure that already happened 20 times.
        public static let mostRetries = 20
        /// The first retry delay doubles on each retry (capped at 60s); a first delay beyond a day is a typo.
        public static let longestBackoff: Duration = .seconds(24 * 3600)

        public static let defaults = HealthPolicy(
            timeout: nil, retries: 2, backoff: .seconds(5), requireHealthcheck: false, stability: .seconds(2))

        enum CodingKeys: String, CodingKey {
            case timeout, retries, backoff, requireHealthcheck = "require_healthcheck", stability
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if learnedTimeout {
                try container.encode("learned", forKey: .timeout)
            } else {
                try container.encodeIfPresent(timeout?.seconds, forKey: .timeout)
            }
            try container.encode(retries, forKey: .retries)
            try container.encode(backoff.seconds, forKey: .backoff)
            try container.encode(requireHealthcheck, forKey: .requireHealthcheck)
            try container.encode(stability.seconds, forKey: .stability)
        }
    }

    /// `watch: {restart: [services or classes], max: 3, window: 10m, backoff: 5s}`: which services `launch watch`
    /// restarts when they stop or turn unhealthy (the engine's restart policy stays the first line), and how often
    /// before it gives up. Without `restart`, watching only reports.
    public struct WatchPolicy: Sendable, Hashable, Encodable {
        /// Service names, or a class (`core`, `optional`, `stretch`) standing for every service of it.
        public var restart: [String]
        public var max: Int
        public var window: Duration
        public var backoff: Duration

        public static let defaults = WatchPolicy(restart: [], max: 3, window: .seconds(600), backoff: .seconds(5))
        /// More restarts than this within one window is a loop, not a budget.
        public static let mostRestarts = 100

        /// Whether watching restarts `service` (of class `serviceClass`) when it stops or turns unhealthy.
        public func restarts(_ service: String, serviceClass: ServiceClass) -> Bool {
            restart.contains(service) || restart.contains(serviceClass.rawValue)
        }

        enum CodingKeys: String, CodingKey { case restart, max, window, backoff }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(restart, forKey: .restart)
            try container.encode(max, forKey: .max)
            try container.encode(window.seconds, forKey: .window)
            try container.encode(backoff.seconds, forKey: .backoff)
        }
    }

    public struct CleanupPolicy: Sendable, Hashable, Encodable {
        public var reclaimablePercent: Double
    }

    public struct NamedURL: Sendable, Hashable, Encodable {
        public var name: String
        public var url: String
    }
}

/// How much a service matters to a launch.
public enum ServiceClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// Its failure fails the launch and rolls back.
    case core
    /// Its failure is reported as degraded; the rest goes on.
    case optional
    /// Nice to have; treated like optional, listed last.
    case stretch
}

/// A check of the outside world a profile declares, run by preflight before anything starts.
public struct PreflightCheckSpec: Sendable, Hashable, Encodable {
    public var name: String
    /// Run only when this variable is set (env file or environment).
    public var when: String?
    public var kind: Kind

    public enum Kind: Sendable, Hashable, Encodable {
        case http(HTTPCheck)
        case tcp(TCPCheck)
    }

    /// A preflight probe runs before anything starts; one that may wait longer than this blocks the launch
    /// on the outside world, and poll(2) takes at most about 24 days of milliseconds anyway.
    public static let longestTimeout: Duration = .seconds(600)

    public struct HTTPCheck: Sendable, Hashable, Encodable {
        public var url: String
        public var method: String
        /// Values may contain `${VAR}` references, resolved from the env file and environment.
        public var headers: [Profile.Variable]
        /// Empty means any 2xx.
        public var expect: [Int]
        public var timeout: Duration

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(url, forKey: .url)
            try container.encode(method, forKey: .method)
            try container.encode(headers.map(\.key), forKey: .headers)
            try container.encode(expect, forKey: .expect)
            try container.encode(timeout.seconds, forKey: .timeout)
        }
        enum CodingKeys: String, CodingKey { case url, method, headers, expect, timeout }
    }

    public struct TCPCheck: Sendable, Hashable, Encodable {
        public var host: String
        public var port: Int
        public var timeout: Duration

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(host, forKey: .host)
            try container.encode(port, forKey: .port)
            try container.encode(timeout.seconds, forKey: .timeout)
        }
        enum CodingKeys: String, CodingKey { case host, port, timeout }
    }
}

/// What runs an environment's services: Compose on one engine, or Docker Swarm across a cluster.
public enum Orchestration: String, Sendable, Hashable, Codable, CaseIterable {
    case compose
    case swarm
}

extension Profile {
    /// What the Compose specification allows as a profile name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, one character too),
    /// and `*`, Compose's "every profile".
    public static func isComposeProfileName(_ name: String) -> Bool {
        name == "*" || name.wholeMatch(of: /[a-zA-Z0-9][a-zA-Z0-9_.\-]*/) != nil
    }

    /// What Compose accepts as a project name: lower-case letters, digits, `-` and `_`, starting with a letter or digit.
    public static func isProjectName(_ name: String) -> Bool {
        name.wholeMatch(of: /[a-z0-9][a-z0-9_\-]*/) != nil
    }
}
