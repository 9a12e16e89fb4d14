/// The outcome of one preflight check: what was looked at, what was found, and how to fix it.
public struct CheckResult: Sendable, Hashable, Encodable {
    public enum Status: String, Sendable, Hashable, Encodable, CaseIterable {
        case ok, warn, fail, skip
    }

    /// Stable and machine-readable: `docker.daemon`, `port.8080`, `image.nginx:1.27`, `preflight.openai-key`.
    public var id: String
    /// What a person calls it: "Docker daemon", "port 8080 (nginx)".
    public var title: String
    public var status: Status
    /// One line: what was found. Already redacted.
    public var evidence: String
    /// One concrete next step; every `fail` has one.
    public var remediation: String?
    public var durationSeconds: Double

    /// Secrets can reach image names and labels by interpolation: no check prints them. Every word of it redacted.
    public func redacted(by redact: Redactor) -> CheckResult {
        var check = self
        check.id = redact(id)
        check.title = redact(title)
        check.evidence = redact(evidence)
        check.remediation = remediation.map { redact($0) }
        return check
    }

    public init(
        id: String, title: String, status: Status, evidence: String, remediation: String? = nil,
        durationSeconds: Double = 0
    ) {
        self.id = id
        self.title = title
        self.status = status
        self.evidence = evidence
        self.remediation = remediation
        self.durationSeconds = durationSeconds
    }

    static func ok(_ id: String, _ title: String, _ evidence: String) -> CheckResult {
        CheckResult(id: id, title: title, status: .ok, evidence: evidence)
    }

    static func warn(_ id: String, _ title: String, _ evidence: String, fix: String?) -> CheckResult {
        CheckResult(id: id, title: title, status: .warn, evidence: evidence, remediation: fix)
    }

    static func fail(_ id: String, _ title: String, _ evidence: String, fix: String) -> CheckResult {
        CheckResult(id: id, title: title, status: .fail, evidence: evidence, remediation: fix)
    }

    static func skip(_ id: String, _ title: String, _ evidence: String) -> CheckResult {
        CheckResult(id: id, title: title, status: .skip, evidence: evidence)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, status, evidence, remediation, durationSeconds = "duration_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(evidence, forKey: .evidence)
        // Always present (null when there is nothing to do), so consumers need not test for the key.
        try container.encode(remediation, forKey: .remediation)
        try container.encode(Self.rounded(durationSeconds), forKey: .durationSeconds)
    }

    static func rounded(_ seconds: Double) -> Double { (seconds * 10_000).rounded() / 10_000 }
}

/// What a caller wants preflight to do beyond looking at this machine.
public struct PreflightOptions: Sendable, Hashable {
    /// Run the profile's HTTP/TCP checks and test registries for images that would be pulled.
    public var network: Bool
    /// The caller completes the env file before starting (as `launch <env>` does), so the profile's variables
    /// and secrets count as provided even when the file does not have them yet.
    public var envFileWillBeCreated: Bool
    /// Start one short-lived container with the stack's GPU request (an image already present, never pulled).
    public var gpuSmoke: Bool
    /// The stack's GPUs are this machine's (compose). On a swarm they are the nodes' (`swarm.gpu` checks them):
    /// this machine's driver, toolkit and smoke container say nothing about them and are not checked.
    public var gpusOnThisMachine: Bool

    public init(network: Bool = true, envFileWillBeCreated: Bool = true, gpuSmoke: Bool = true, gpusOnThisMachine: Bool = true) {
        self.network = network
        self.envFileWillBeCreated = envFileWillBeCreated
        self.gpuSmoke = gpuSmoke
        self.gpusOnThisMachine = gpusOnThisMachine
    }
}

/// Every check of one preflight run, in a stable order. `launch doctor --json` prints this
/// (schema in docs/doctor-json.md).
public struct PreflightReport: Sendable, Encodable {
    public static let schemaVersion = 1

    public var schema = PreflightReport.schemaVersion
    /// nil for `launch doctor` without an environment (machine checks only).
    public var environment: String?
    public var project: String?
    /// The GPU overlay the plan chose, when there is a plan.
    public var overlay: OverlayDecision?
    public var checks: [CheckResult]
    public var durationSeconds: Double

    public init(
        environment: String? = nil, project: String? = nil, overlay: OverlayDecision? = nil, checks: [CheckResult],
        durationSeconds: Double
    ) {
        self.environment = environment
        self.project = project
        self.overlay = overlay
        self.checks = checks
        self.durationSeconds = durationSeconds
    }

    /// A check failed: nothing may be started.
    public var failed: Bool { checks.contains { $0.status == .fail } }
    public var warnings: Int { count(.warn) }
    public var failures: [CheckResult] { checks.filter { $0.status == .fail } }

    public func count(_ status: CheckResult.Status) -> Int { checks.count { $0.status == status } }

    public func check(_ id: String) -> CheckResult? { checks.first { $0.id == id } }

    enum CodingKeys: String, CodingKey {
        case schema, environment, project, overlay, ok, failed, warnings, counts, checks
        case durationSeconds = "duration_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(environment, forKey: .environment)
        try container.encode(project, forKey: .project)
        try container.encode(overlay, forKey: .overlay)
        try container.encode(!failed, forKey: .ok)
        try container.encode(failed, forKey: .failed)
        try container.encode(warnings, forKey: .warnings)
        let counts = Dictionary(uniqueKeysWithValues: CheckResult.Status.allCases.map { ($0.rawValue, count($0)) })
        try container.encode(counts, forKey: .counts)
        try container.encode(CheckResult.rounded(durationSeconds), forKey: .durationSeconds)
        try container.encode(checks, forKey: .checks)
    }
}
