/// A document `--json` writes: it names what it is (`kind`) and its schema's version (`schema`), both written
/// first-class beside its own fields by `JSONOutput.encode`, so a script can always tell one document from another
/// and a version from the next. Every kind is listed, with its fields, in docs/json.md.
public protocol JSONDocument: Encodable {
    /// `launch-result`, `launch-plan`, `doctor-report`…: stable, never reused for another shape.
    static var kind: String { get }
    /// Within one version fields are only added; a removed or changed field is a new version.
    static var schemaVersion: Int { get }
}

extension LaunchResult: JSONDocument { public static var kind: String { "launch-result" } }
extension LaunchPlan: JSONDocument { public static var kind: String { "launch-plan" } }
extension PreflightReport: JSONDocument { public static var kind: String { "doctor-report" } }
extension EnvProvisioner.Outcome: JSONDocument { public static var kind: String { "env-outcome" } }
extension CleanupReport: JSONDocument { public static var kind: String { "cleanup-report" } }

extension ErrorDocument: JSONDocument {
    public static var kind: String { "error" }
    public static var schemaVersion: Int { 1 }
}

extension RunComparison: JSONDocument {
    public static var kind: String { "run-comparison" }
    public static var schemaVersion: Int { 1 }
}

extension ServiceControl.Outcome: JSONDocument {
    public static var kind: String { "service-control" }
    public static var schemaVersion: Int { 1 }
}

extension Teardown.Report: JSONDocument {
    public static var kind: String { "down-report" }
    public static var schemaVersion: Int { 1 }
}

/// `launch down --engine swarm`: what the stack's undo removed.
public struct SwarmDownReport: JSONDocument, Sendable {
    public static var kind: String { "down-report" }
    public static var schemaVersion: Int { 1 }
    public var project: String
    public var engine = "swarm"
    public var removed: RollbackReport

    public init(project: String, removed: RollbackReport) {
        self.project = project
        self.removed = removed
    }
}

/// `launch list --json`: the project's environments.
public struct EnvironmentList: JSONDocument, Sendable {
    public static var kind: String { "environment-list" }
    public static var schemaVersion: Int { 1 }
    public var environments: [PlanRenderer.ListedProfile]

    public init(_ catalog: ProfileCatalog) { environments = PlanRenderer.listJSON(catalog) }
}

/// `launch status --json` (and `launch ps --json`): one shape on both engines — the environments asked about, each
/// with its project and its services as that engine reports them (`engine` says which rows to expect).
public struct StatusDocument: JSONDocument, Sendable {
    public static var kind: String { "launch-status" }
    public static var schemaVersion: Int { 1 }
    /// `compose` or `swarm`.
    public var engine: String
    public var environments: [Environment]

    public struct Environment: Sendable, Encodable {
        public var environment: String
        public var project: String
        /// Compose: `ProjectStatus.Row`s. Swarm: `SwarmStatus.Service`s.
        public var services: [any Encodable & Sendable]
        /// Compose only: services the stack defines that have no container.
        public var missing: [String]?

        enum CodingKeys: String, CodingKey { case environment, project, services, missing }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(environment, forKey: .environment)
            try container.encode(project, forKey: .project)
            var rows = container.nestedUnkeyedContainer(forKey: .services)
            for row in services { try rows.encode(row) }
            try container.encodeIfPresent(missing, forKey: .missing)
        }
    }

    public init(compose statuses: [ProjectStatus]) {
        engine = "compose"
        environments = statuses.map { .init(environment: $0.environment, project: $0.project, services: $0.services, missing: $0.missing) }
    }

    public init(swarm status: SwarmStatus, environment: String) {
        engine = "swarm"
        environments = [.init(environment: environment, project: status.stack, services: status.services, missing: nil)]
    }
}
