import Foundation

/// The outcome of `launch <env>`: printed as a summary, written as JSON with `--json`, kept as a run report.
public struct LaunchResult: Sendable, Encodable {
    public static let schemaVersion = 1

    public enum Outcome: String, Sendable, Encodable {
        /// Every service is ready.
        case success
        /// Every core service is ready; some optional or stretch services failed or were blocked.
        case degraded
        /// A core service failed; what this run created was rolled back (unless --keep-on-failure).
        case failed
        /// A preflight check failed; nothing was started.
        case preflightFailed = "preflight_failed"
        /// Ctrl-C; what this run created was rolled back.
        case interrupted
        /// The engine stopped answering: what was created was removed only when the report's rollback has no errors.
        case engineLost = "engine_lost"
    }

    public struct Phase: Sendable, Encodable {
        public var name: String
        public var seconds: Double
        public var status: String
        public var detail: String?
        /// Seconds from the start of the run to the start of this phase (phases are not back to back: the snapshot,
        /// the event subscription and Compose's config hashes run between them).
        public var began: Double? = nil
    }

    public struct ServiceResult: Sendable, Encodable {
        public var name: String
        public var serviceClass: ServiceClass
        public var state: ServiceState
        public var blockedBy: String?
        /// Seconds from the start of the start phase.
        public var createdAt: Double?
        public var startedAt: Double?
        public var readyAt: Double?
        /// When it was judged failed, on the same axis.
        public var failedAt: Double? = nil
        public var secondsToReady: Double?
        /// The evidence that made it ready: `healthcheck`, `stable`, `exit 0`, `already running`, `scaled to 0`.
        public var readiness: String? = nil
        /// How long the engine itself took to start the service's containers (its share of every edge).
        public var engineStartSeconds: Double?
        public var retries: Int
        public var failure: Diagnosis?
        /// Its time to ready over the environment's earlier runs (not counting this one); nil without any.
        public var history: ReadinessStats? = nil
        /// For a service readied by a readiness label: each container's run that was judged, as `<id>@<StartedAt>`
        /// in the engine's own words, so a relaunch that finds exactly that run still going need not see its line again.
        public var judgedRuns: [String]? = nil
        /// What it waited for: each dependency with its condition and whether it was required (the report's graph).
        public var dependsOn: [Edge]? = nil
        /// Swarm: the nodes (hostnames) its tasks ran on when it was judged, and nodes lost while it had tasks there.
        public var nodes: [String]? = nil
        public var lostNodes: [String]? = nil

        enum CodingKeys: String, CodingKey {
            case name, serviceClass = "class", state, blockedBy = "blocked_by", createdAt = "created_at",
                startedAt = "started_at", readyAt = "ready_at", failedAt = "failed_at", secondsToReady = "seconds_to_ready", readiness,
                engineStartSeconds = "engine_start_seconds", retries, failure, history, judgedRuns = "judged_runs",
                dependsOn = "depends_on", nodes, lostNodes = "lost_nodes"
        }

        /// `api took 3.1× its p50 (p50 42s, p95 61s over 12 runs)`: said when a start is much slower than usual.
        public var slowerThanUsual: String? {
            guard let seconds = secondsToReady, let stats = history, stats.runs >= LearnedDeadline.minimumRuns, stats.p50 >= 0.5,
                seconds >= stats.p50 * 2
            else { return nil }
            return "\(name) took \(String(format: "%.1f", seconds / stats.p50))× its p50 (\(stats.description))"
        }
    }

    public var schema = LaunchResult.schemaVersion
    public var environment: String
    public var project: String
    public var outcome: Outcome
    public var exitCode: Int32
    public var startedAt: Date
    public var seconds: Double
    public var phases: [Phase]
    public var services: [ServiceResult]
    public var degraded: [String]
    public var urls: [Profile.NamedURL]
    public var rollback: RollbackReport?
    /// Set for preflight failures and errors outside any one service.
    public var error: String?
    /// Which engine the run used, and how the conversation with it went.
    public var engine: EngineSummary? = nil
    /// The configuration this run launched (resolved model and profile), as the circuit breaker compares them.
    public var configFingerprint: String? = nil
    /// A failed relaunch put the services it had replaced back to the last good state (or says what it could not).
    public var restore: RestoreReport? = nil
    /// The engine stopped answering during the run (`outcome` is `engine_lost`): where, when and its last words.
    public var engineLost: EngineSilence? = nil
    /// How busy the host was during the start phase (local engines only).
    public var hostPressure: HostPressure? = nil
    /// The launch version that ran it.
    public var version = Version.current
    /// What was launched (`describing(_:graph:)`): the compose files in Compose's order, the GPU overlay and why,
    /// and the plan's warnings. Absent where the run ended before it had a plan.
    public var composeFiles: [String]? = nil
    public var overlay: String? = nil
    public var warnings: [String]? = nil

    /// One `depends_on` edge as a run report keeps it.
    public struct Edge: Sendable, Codable, Hashable {
        public var service: String
        /// `service_started`, `service_healthy`, `service_completed_successfully`.
        public var condition: String
        public var required: Bool
    }

    /// The result with what the plan says about the run: its files, overlay and warnings, and each service's edges
    /// (for the report's graph). One place for both engines' results.
    public func describing(_ plan: LaunchPlan, graph: DependencyGraph) -> LaunchResult {
        var result = self
        result.composeFiles = plan.composeFiles
        result.overlay = "\(plan.overlay.choice.rawValue): \(plan.overlay.reason)"
        result.warnings = plan.warnings
        for index in result.services.indices {
            result.services[index].dependsOn = (graph.dependencies[result.services[index].name] ?? []).map {
                Edge(service: $0.service, condition: $0.condition.rawValue, required: $0.required)
            }
        }
        return result
    }

    public struct EngineSummary: Sendable, Encodable {
        /// `unix:///var/run/docker.sock (default)`, `ssh://gpu-box (--host)`.
        public var endpoint: String
        public var apiVersion: String?
        /// Times the event stream was lost and resumed (each followed by a full reconcile).
        public var eventStreamReconnects: Int
        /// CPU time launch itself used for the whole run (user + system, its own threads; not the `docker` and
        /// `docker compose` processes it ran): the launcher's own cost, for benchmarks.
        public var launcherCPUSeconds: Double? = nil

        enum CodingKeys: String, CodingKey {
            case endpoint, apiVersion = "api_version", eventStreamReconnects = "event_stream_reconnects",
                launcherCPUSeconds = "launcher_cpu_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, environment, project, outcome, exitCode = "exit_code", startedAt = "started_at", seconds, phases,
            services, degraded, urls, rollback, error, engine, configFingerprint = "config_fingerprint", restore,
            engineLost = "engine_lost", hostPressure = "host_pressure", version, composeFiles = "compose_files", overlay, warnings
    }
}

/// Everything a person needs to fix one failed service, already redacted.
public struct Diagnosis: Sendable, Encodable {
    public var service: String
    public var serviceClass: ServiceClass
    /// The state it reached before failing: `starting`, `running`, `unhealthy`, `exited`.
    public var reached: String
    public var reason: String
    public var failureKey: String
    public var exitCode: Int?
    public var health: String?
    /// The engine's last probe results, newest last: `exit 1: connection refused`.
    public var probes: [String]
    public var logTail: [String]
    /// `configuration` or `transient`.
    public var classification: String
    public var nextStep: String
    /// What its containers used against their limits while it started; nil when nothing was measured.
    public var resources: ResourceUsage? = nil
    /// Those figures in words: `CPU throttled in 98 % of periods (…; limit 0.05 CPU)`, `OOM-killed at the 32 MiB limit`.
    public var pressure: [String] = []

    enum CodingKeys: String, CodingKey {
        case service, serviceClass = "class", reached, reason, failureKey = "failure", exitCode = "exit_code", health,
            probes, logTail = "log_tail", classification, nextStep = "next_step", resources, pressure
    }
}

extension ExitStatus {
    /// The documented exit code of a launch that ended this way.
    public init(_ outcome: LaunchResult.Outcome) {
        switch outcome {
        case .success, .degraded: self = .success
        case .failed: self = .launchFailed
        case .interrupted: self = .interrupted
        case .preflightFailed: self = .preflightFailed
        case .engineLost: self = .engineLost
        }
    }
}
