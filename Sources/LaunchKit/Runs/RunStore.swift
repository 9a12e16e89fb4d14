import Foundation

/// A launch as read back from `.launch/runs/<id>.json`. Decodes only what history, reports and the
/// circuit breaker need, so older reports stay readable when the result gains fields.
public struct RecordedRun: Sendable, Decodable {
    public struct Phase: Sendable, Decodable {
        public var name: String
        public var seconds: Double
        public var status: String
        /// Seconds from the run's start (absent in reports before 0.5.0: then the phases' running sum).
        public var began: Double?
    }

    public struct Service: Sendable, Decodable {
        public struct Failure: Sendable, Decodable {
            public var failure: String
            public var reason: String
            public var classification: String
            /// Absent in reports written before it was recorded.
            public var nextStep: String?
            /// The evidence (absent in reports of older versions): the state it reached, its exit code and health,
            /// the last probe results, the log tail and what its resources said.
            public var reached: String?
            public var exitCode: Int?
            public var health: String?
            public var probes: [String]?
            public var logTail: [String]?
            public var pressure: [String]?
            enum CodingKeys: String, CodingKey {
                case failure, reason, classification, nextStep = "next_step", reached, exitCode = "exit_code", health, probes,
                    logTail = "log_tail", pressure
            }
        }
        public var name: String
        public var serviceClass: String
        public var state: String
        public var blockedBy: String?
        public var startedAt: Double?
        public var readyAt: Double?
        /// When it was judged failed (absent in older reports and for swarm services).
        public var failedAt: Double?
        public var retries: Int
        public var failure: Failure?
        /// Absent in reports of services that did not become ready.
        public var secondsToReady: Double?
        public var readiness: String?
        /// `<container id>@<StartedAt>` of each container run its readiness label judged (absent otherwise).
        public var judgedRuns: [String]?
        /// How long the engine took to start its containers; its dependency edges (both absent in older reports).
        public var engineStartSeconds: Double?
        public var dependsOn: [LaunchResult.Edge]?
        /// Swarm: the nodes its tasks ran on (absent on one machine and in older reports).
        public var nodes: [String]?

        enum CodingKeys: String, CodingKey {
            case name, serviceClass = "class", state, blockedBy = "blocked_by", startedAt = "started_at",
                readyAt = "ready_at", failedAt = "failed_at", retries, failure, secondsToReady = "seconds_to_ready", readiness, judgedRuns =
                "judged_runs",
                engineStartSeconds = "engine_start_seconds", dependsOn = "depends_on", nodes
        }

        /// What history and the breaker need is read strictly; what only the pictures use (edges, failure and engine
        /// times) is read leniently, so one malformed edge does not hide a whole run from the history.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            serviceClass = try c.decode(String.self, forKey: .serviceClass)
            state = try c.decode(String.self, forKey: .state)
            blockedBy = try c.decodeIfPresent(String.self, forKey: .blockedBy)
            startedAt = try c.decodeIfPresent(Double.self, forKey: .startedAt)
            readyAt = try c.decodeIfPresent(Double.self, forKey: .readyAt)
            retries = try c.decode(Int.self, forKey: .retries)
            failure = try c.decodeIfPresent(Failure.self, forKey: .failure)
            secondsToReady = try c.decodeIfPresent(Double.self, forKey: .secondsToReady)
            readiness = try c.decodeIfPresent(String.self, forKey: .readiness)
            judgedRuns = try c.decodeIfPresent([String].self, forKey: .judgedRuns)
            failedAt = try? c.decodeIfPresent(Double.self, forKey: .failedAt)
            engineStartSeconds = try? c.decodeIfPresent(Double.self, forKey: .engineStartSeconds)
            dependsOn = try? c.decodeIfPresent([LaunchResult.Edge].self, forKey: .dependsOn)
            nodes = try? c.decodeIfPresent([String].self, forKey: .nodes)
        }
    }

    public var id: String = ""
    public var environment: String
    public var project: String
    public var outcome: String
    public var exitCode: Int32
    public var startedAt: Date
    public var seconds: Double
    public var phases: [Phase]
    public var services: [Service]
    public var error: String?
    /// Which configuration failed (`LaunchResult.configFingerprint`); nil in reports of older versions.
    public var configFingerprint: String?
    /// What the report's header says beside the outcome; each absent in reports of older versions.
    public var version: String?
    public var endpoint: String?
    public var composeFiles: [String]?
    public var overlay: String?
    public var warnings: [String]?
    /// What the rollback removed and could not (absent when nothing was rolled back).
    public var rollback: Rollback?

    public struct Rollback: Sendable, Decodable {
        public var removedContainers: [String]?
        public var removedNetworks: [String]?
        public var removedServices: [String]?
        public var errors: [String]?
        enum CodingKeys: String, CodingKey {
            case removedContainers = "removed_containers", removedNetworks = "removed_networks", removedServices = "removed_services",
                errors
        }
    }

    struct Engine: Decodable { var endpoint: String }

    enum CodingKeys: String, CodingKey {
        case environment, project, outcome, exitCode = "exit_code", startedAt = "started_at", seconds, phases, services, error,
            configFingerprint = "config_fingerprint", version, engine, composeFiles = "compose_files", overlay, warnings, rollback
    }

    /// Times are checked as they are read: a report file is input like any other (an edited or corrupted one), and a
    /// time that is negative, not finite or longer than a week would break the waterfall's arithmetic and the history.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        environment = try c.decode(String.self, forKey: .environment)
        project = try c.decode(String.self, forKey: .project)
        outcome = try c.decode(String.self, forKey: .outcome)
        exitCode = try c.decode(Int32.self, forKey: .exitCode)
        startedAt = try c.decode(Date.self, forKey: .startedAt)
        seconds = Self.seconds(try c.decode(Double.self, forKey: .seconds)) ?? 0
        phases = try c.decode([Phase].self, forKey: .phases).map { phase in
            var phase = phase
            phase.seconds = Self.seconds(phase.seconds) ?? 0
            phase.began = Self.seconds(phase.began)
            return phase
        }
        services = try c.decode([Service].self, forKey: .services).map { service in
            var service = service
            service.startedAt = Self.seconds(service.startedAt)
            service.readyAt = Self.seconds(service.readyAt)
            service.failedAt = Self.seconds(service.failedAt)
            service.secondsToReady = Self.seconds(service.secondsToReady)
            service.engineStartSeconds = Self.seconds(service.engineStartSeconds)
            return service
        }
        error = try c.decodeIfPresent(String.self, forKey: .error)
        configFingerprint = try c.decodeIfPresent(String.self, forKey: .configFingerprint)
        version = try? c.decodeIfPresent(String.self, forKey: .version)
        endpoint = (try? c.decodeIfPresent(Engine.self, forKey: .engine))?.endpoint
        composeFiles = try? c.decodeIfPresent([String].self, forKey: .composeFiles)
        overlay = try? c.decodeIfPresent(String.self, forKey: .overlay)
        warnings = try? c.decodeIfPresent([String].self, forKey: .warnings)
        rollback = try? c.decodeIfPresent(Rollback.self, forKey: .rollback)
    }

    /// A time read from a report: finite, not negative and at most a week (`DurationText.maximum`); else unknown.
    static func seconds(_ value: Double?) -> Double? {
        guard let value, value.isFinite, value >= 0, value <= DurationText.maximum.seconds else { return nil }
        return value
    }

    public var failed: Bool { outcome == "failed" || outcome == "preflight_failed" }

    /// What went wrong, as a stable key: `preflight`, or the core services that failed and how
    /// (`db:unhealthy`). Two runs with the same signature failed the same way.
    public var failureSignature: String? {
        guard failed else { return nil }
        if outcome == "preflight_failed" { return "preflight" }
        let core = services.filter { $0.serviceClass == "core" }.compactMap { service in
            service.failure.map { "\(service.name):\($0.failure)" }
        }
        return core.isEmpty ? "failed" : core.sorted().joined(separator: ",")
    }
}

/// Run reports under `.launch/runs/` (git-ignored), one JSON file per launch, named so they sort by time.
public struct RunStore: Sendable {
    public let directory: String
    let layout: ProjectLayout

    public init(layout: ProjectLayout) {
        self.layout = layout
        directory = (layout.stateDirectory as NSString).appendingPathComponent("runs")
    }

    /// Writes the result (0600, in a 0700 directory); returns the run id. Results are redacted before they get here.
    @discardableResult
    public func save(_ result: LaunchResult) throws -> String {
        _ = try layout.privateStateDirectory("runs")
        let id = Self.id(result)
        let text: String
        do { text = try JSONOutput.encode(result) + "\n" } catch {
            throw FileError(path: layout.display(path(id)), operation: "encode the run report", underlying: error)
        }
        do { try AtomicFile.write(text, to: path(id), mode: 0o600) } catch {
            throw FileError(path: layout.display(path(id)), operation: "write the run report", underlying: error)
        }
        return id
    }

    /// A run's id: when it started, to the millisecond, and its environment (so ids sort by time).
    public static func id(_ result: LaunchResult) -> String {
        "\(Timestamp.compact(result.startedAt, milliseconds: true))-\(result.environment)"
    }

    /// A result as a report reads it back: the same encoding and decoding as a saved report, without the file.
    public static func recorded(_ result: LaunchResult, id: String) throws -> RecordedRun {
        let decoder = JSONOutput.decoder()
        var run = try decoder.decode(RecordedRun.self, from: Data(try JSONOutput.encode(result).utf8))
        run.id = id
        return run
    }

    func path(_ id: String) -> String { (directory as NSString).appendingPathComponent(id + ".json") }

    /// Newest first.
    public func list(environment: String? = nil, limit: Int = .max) -> [RecordedRun] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let ids = names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted(by: >)
        var runs: [RecordedRun] = []
        for id in ids {
            guard let run = try? load(id), environment == nil || run.environment == environment else { continue }
            runs.append(run)
            if runs.count >= limit { break }
        }
        return runs
    }

    /// The report's JSON as it was written (`launch report --json`).
    public func text(_ id: String) throws(FileError) -> String {
        do { return try String(contentsOfFile: path(id), encoding: .utf8).trimmingCharacters(in: .newlines) } catch {
            throw FileError(path: layout.display(path(id)), operation: "read the run report", underlying: error)
        }
    }

    public func load(_ id: String) throws(FileError) -> RecordedRun {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path(id))) } catch {
            throw FileError(path: layout.display(path(id)), operation: "read the run report", underlying: error)
        }
        let decoder = JSONOutput.decoder()
        var run: RecordedRun
        do {
            run = try decoder.decode(RecordedRun.self, from: data)
        } catch {
            throw FileError(
                path: layout.display(path(id)), operation: "read the run report", reason: "it is not a run report launch can read",
                hint: "move it out of \(layout.display(directory)); `launch history` lists the others")
        }
        run.id = id
        return run
    }

    /// A run by id, unique id prefix, or `latest`/nil for the newest.
    public func find(_ reference: String?) throws -> RecordedRun {
        let all = list()
        if reference == nil || reference == "latest", let newest = all.first { return newest }
        if let reference, let match = all.first(where: { $0.id == reference }) { return match }
        let matches = all.filter { reference.map($0.id.hasPrefix) ?? false }
        if matches.count == 1 { return matches[0] }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
        if all.isEmpty, !files.isEmpty {
            // Not "no runs": there are reports, and none of them can be read.
            throw UsageError(
                "\(files.count) run report(s) in \(layout.display(directory)), none that launch can read",
                evidence: files.sorted().suffix(5).map { $0 },
                hint: "move them out of \(layout.display(directory)); the next launch writes a new one")
        }
        throw UsageError(
            reference.map { "no run `\($0)` in \(directory)" } ?? "no runs recorded yet",
            evidence: all.prefix(5).map(\.id), hint: "`launch history` lists recorded runs")
    }
}
