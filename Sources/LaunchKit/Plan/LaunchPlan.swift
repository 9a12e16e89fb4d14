/// Everything `launch <env>` would do, decided without changing anything. `launch plan` prints it;
/// `launch <env>` executes it. The JSON form (`launch plan --json`) is a stable, documented schema.
public struct LaunchPlan: Sendable, Encodable {
    public static let schemaVersion = 1

    public var schema = LaunchPlan.schemaVersion
    public var environment: String
    public var aliases: [String]
    public var summary: String
    public var profileFile: String
    public var projectRoot: String
    public var project: String
    /// Relative to the project root, in the order Compose gets them (overlay last).
    public var composeFiles: [String]
    /// Compose profiles passed to every command, and those activated for a service the environment names.
    public var composeProfiles: ComposeProfileSelection
    public var overlay: OverlayDecision
    public var envFile: EnvFileState
    /// How the stack was read: `docker compose config` or the files themselves.
    public var modelSource: String
    public var compose: String?
    public var services: [PlannedService]
    public var levels: [[String]]
    public var commands: [String]
    public var urls: [Profile.NamedURL]
    public var warnings: [String]
    /// `--engine swarm`: what a launch would do on the swarm (encoded only then).
    public var swarm: SwarmPlan?
    /// The engine did not answer its first contact in time (a hung daemon): what the plan could not read from it.
    /// `launch plan` then exits 2, as a launch would refuse.
    public var engineProblem: String? = nil

    /// Not encoded: what the executor needs beyond the plan's description.
    public var stack: ComposeStack
    public var graph: DependencyGraph
    /// For each `build:` service: build or keep, and why (`Planner.buildDecisions`).
    public var buildDecisions: [String: BuildDecision] = [:]
    public var composeCommand: Compose
    public var profile: Profile
    /// What nvidia-smi said when the plan was made (not encoded; preflight reports it).
    public var gpuProbe: GPUProbe
    /// Which Compose was found, so a second plan in the same run does not ask again.
    public var composeDetection: ComposeDetector.Detection?

    enum CodingKeys: String, CodingKey {
        case schema, environment, aliases, summary, profileFile = "profile_file", projectRoot = "project_root",
            project, composeFiles = "compose_files", composeProfiles = "compose_profiles", overlay, envFile = "env_file", modelSource =
            "model_source",
            compose, services, levels, commands, urls, warnings, swarm, engineProblem = "engine_problem"
    }

    public struct EnvFileState: Sendable, Hashable, Encodable {
        public var path: String
        public var exists: Bool
        /// Keys `launch env` would add; never values.
        public var missingVariables: [String]
        public var missingSecrets: [String]
        /// Octal, e.g. "600"; nil when the file does not exist.
        public var mode: String?

        enum CodingKeys: String, CodingKey {
            case path, exists, missingVariables = "missing_variables", missingSecrets = "missing_secrets", mode
        }
    }

    public struct PlannedService: Sendable, Hashable, Encodable {
        public var name: String
        public var serviceClass: ServiceClass
        public var image: String?
        public var builds: Bool
        public var replicas: Int
        /// GPUs it asks for (-1: all); nil when none.
        public var gpus: Int?
        /// The device ids it names (`0`, `GPU-…`, `nvidia.com/gpu=` suffixes); empty when it asks by count.
        public var gpuDevices: [String]
        public var dependsOn: [String]
        /// How readiness is decided: `healthy`, `running 2s`, or `exit 0`.
        public var readiness: String
        /// Seconds after start before a not-yet-ready service counts as failed.
        public var deadlineSeconds: Double
        public var ports: [String]
        /// What launching now would do to it (create, recreate (config changed), keep, start); nil when unknown.
        public var change: ServiceChange? = nil
        /// Time to ready over the environment's recent runs; nil without any.
        public var history: ReadinessStats? = nil
        /// The deadline is p95 × a margin (`health.timeout: learned`).
        public var deadlineLearned = false
        /// For a `build:` service: `build (context changed)`, `build (image missing)`, `keep (context unchanged)`.
        public var build: String? = nil

        enum CodingKeys: String, CodingKey {
            case name, serviceClass = "class", image, builds, replicas, gpus, gpuDevices = "gpu_devices", dependsOn = "depends_on",
                readiness,
                deadlineSeconds = "deadline_seconds", ports, change, history, deadlineLearned = "deadline_learned", build
        }
    }
}
