import Foundation

/// What a compose project owned before this run touched it, found by the compose project label
/// (never by name patterns).
public struct ProjectSnapshot: Sendable, Hashable {
    public var containers: Set<String>
    public var runningContainers: Set<String>
    public var networks: Set<String>
    public var volumes: Set<String>
    /// Running container ids by compose service: what a failed relaunch must leave (or put back) running.
    public var runningByService: [String: Set<String>] = [:]

    public static func take(client: any ContainerEngine, project: String) async throws -> ProjectSnapshot {
        let label = ComposeLabels.projectFilter(project)
        async let containers = client.listContainers(all: true, labels: label)
        async let networks = client.listNetworks(labels: label)
        async let volumes = client.listVolumes(labels: label)
        let list = try await containers
        let running = list.filter { $0.state == "running" && $0.labels[ComposeLabels.oneOff] != "True" }
        return ProjectSnapshot(
            containers: Set(list.map(\.id)), runningContainers: Set(running.map(\.id)),
            networks: Set(try await networks.map(\.id)), volumes: Set(try await volumes.map(\.name)),
            runningByService: Dictionary(grouping: running) { $0.labels[ComposeLabels.service] ?? "" }
                .filter { !$0.key.isEmpty }.mapValues { Set($0.map(\.id)) })
    }
}

/// What a rollback undid. Names only.
public struct RollbackReport: Sendable, Encodable {
    public var removedContainers: [String] = []
    public var stoppedContainers: [String] = []
    public var removedNetworks: [String] = []
    public var removedVolumes: [String] = []
    /// Volumes of this project that existed before the run and were left alone.
    public var keptVolumes: [String] = []
    /// Named volumes this run created and kept: they are data (a model cache, a fresh database), removed only
    /// with `--rollback-volumes` or `launch down --volumes`. Each with its size when the engine knows it.
    public var keptNewVolumes: [KeptVolume] = []

    public struct KeptVolume: Sendable, Encodable, Hashable {
        public var name: String
        public var bytes: Int64?
    }
    public var errors: [String] = []
    public var seconds: Double = 0
    /// Swarm (`--engine swarm`): the services, configs and secrets the run created and removed. Encoded only
    /// when the run was on a swarm, so the compose engine's documents do not change.
    public var removedServices: [String] = []
    public var removedConfigs: [String] = []
    public var removedSecrets: [String] = []
    /// Swarm services a failed update put back on their previous spec, seen running (and healthy) again.
    public var restoredServices: [String] = []

    mutating func merge(_ other: RollbackReport) {
        removedContainers += other.removedContainers
        stoppedContainers += other.stoppedContainers
        removedNetworks += other.removedNetworks
        removedVolumes += other.removedVolumes
        keptVolumes = Array(Set(keptVolumes + other.keptVolumes)).sorted()
        keptNewVolumes = Array(Set(keptNewVolumes + other.keptNewVolumes)).sorted { $0.name < $1.name }
        errors += other.errors
        seconds += other.seconds
    }

    enum CodingKeys: String, CodingKey {
        case removedContainers = "removed_containers", stoppedContainers = "stopped_containers",
            removedNetworks = "removed_networks", removedVolumes = "removed_volumes", keptVolumes = "kept_volumes",
            keptNewVolumes = "kept_new_volumes", errors, seconds, removedServices = "removed_services",
            removedConfigs = "removed_configs", removedSecrets = "removed_secrets", restoredServices = "restored_services"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(removedContainers, forKey: .removedContainers)
        try container.encode(stoppedContainers, forKey: .stoppedContainers)
        try container.encode(removedNetworks, forKey: .removedNetworks)
        try container.encode(removedVolumes, forKey: .removedVolumes)
        try container.encode(keptVolumes, forKey: .keptVolumes)
        try container.encode(keptNewVolumes, forKey: .keptNewVolumes)
        try container.encode(errors, forKey: .errors)
        try container.encode(seconds, forKey: .seconds)
        if !removedServices.isEmpty || !removedConfigs.isEmpty || !removedSecrets.isEmpty || !restoredServices.isEmpty {
            try container.encode(removedServices, forKey: .removedServices)
            try container.encode(removedConfigs, forKey: .removedConfigs)
            try container.encode(removedSecrets, forKey: .removedSecrets)
            try container.encode(restoredServices, forKey: .restoredServices)
        }
    }
}

/// A project's containers grouped for tearing down: dependents before what they depend on. Containers of
/// services the levels do not know (orphans, an overlay's extras) come first; newest first within a group.
func dependentsFirst(_ containers: [ContainerSummary], levels: [[String]]) -> [[ContainerSummary]] {
    var level: [String: Int] = [:]
    for (index, names) in levels.enumerated() { for name in names { level[name] = index } }
    let groups = Dictionary(grouping: containers) { level[$0.labels[ComposeLabels.service] ?? ""] ?? levels.count }
    return groups.keys.sorted(by: >).map { key in (groups[key] ?? []).sorted { $0.created > $1.created } }
}

/// Undoes what one run created, last in, first out: containers (dependents before their dependencies), then
/// networks. Named volumes are data and stay — those this run created too, unless `removeNewVolumes`
/// (`--rollback-volumes`); anonymous volumes go with their containers. Everything of other projects stays;
/// containers that existed but were stopped before are stopped again, not removed.
struct Rollback: Sendable {
    let client: any ContainerEngine
    let project: String
    var removeNewVolumes = false

    func undo(since before: ProjectSnapshot, levels: [[String]]) async -> RollbackReport {
        let clock = ContinuousClock()
        let began = clock.now
        var report = RollbackReport()
        let label = ComposeLabels.projectFilter(project)
        let containers = await listed("containers", &report) { try await client.listContainers(all: true, labels: label) }
        for container in dependentsFirst(containers, levels: levels).joined() {
            do {
                if !before.containers.contains(container.id) {
                    // Anonymous volumes were created with the container by this run: remove them too.
                    try await client.removeContainer(container.id, force: true, volumes: true)
                    report.removedContainers.append(container.name)
                } else if !before.runningContainers.contains(container.id) && container.state == "running" {
                    try await client.stopContainer(container.id, timeoutSeconds: 5)
                    report.stoppedContainers.append(container.name)
                }
            } catch {
                report.errors.append("container \(container.name): \(error)")
            }
        }
        for network in await listed("networks", &report, { try await client.listNetworks(labels: label) })
        where !before.networks.contains(network.id) {
            do {
                try await client.removeNetwork(network.id)
                report.removedNetworks.append(network.name)
            } catch {
                report.errors.append("network \(network.name): \(error)")
            }
        }
        var keptNew: [String] = []
        for volume in await listed("volumes", &report, { try await client.listVolumes(labels: label) }) {
            guard !before.volumes.contains(volume.name) else {
                report.keptVolumes.append(volume.name)
                continue
            }
            guard removeNewVolumes else {
                keptNew.append(volume.name)
                continue
            }
            do {
                try await client.removeVolume(volume.name, force: false)
                report.removedVolumes.append(volume.name)
            } catch {
                report.errors.append("volume \(volume.name): \(error)")
            }
        }
        if !keptNew.isEmpty {
            // Sizes, so the summary says what keeping them is worth; unknown sizes stay unknown.
            let sizes =
                (try? await client.systemDataUsage())?.volumes.reduce(into: [String: Int64]()) { $0[$1.name] = $1.usageData?.size } ?? [:]
            report.keptNewVolumes = keptNew.sorted().map {
                RollbackReport.KeptVolume(name: $0, bytes: sizes[$0].flatMap { $0 >= 0 ? $0 : nil })
            }
        }
        report.seconds = began.duration(to: clock.now).seconds
        return report
    }

    /// `undo`, and when Compose's requests may still land after it is gone (a failed, stopped or lost create), again a
    /// second later until a pass finds nothing new, `passes` in all at most.
    func undoSettling(since before: ProjectSnapshot, levels: [[String]], passes: Int) async -> RollbackReport {
        var undone = await undo(since: before, levels: levels)
        for _ in 1..<max(passes, 1) {
            await sleepIgnoringCancellation(.seconds(1))
            let again = await undo(since: before, levels: levels)
            undone.merge(again)
            if again.removedContainers.isEmpty && again.removedNetworks.isEmpty { break }
        }
        return undone
    }

    /// A listing that fails is an error in the report, never a silent "nothing to undo".
    private func listed<T>(_ what: String, _ report: inout RollbackReport, _ body: () async throws -> [T]) async -> [T] {
        do {
            return try await body()
        } catch {
            report.errors.append("could not list \(what) of \(project): \(error)")
            return []
        }
    }
}

/// `launch down`: stop and remove a project's containers (dependents first) and networks; volumes only
/// when asked. Stoppable between steps (Ctrl-C) and truthful when stopped or when the engine fails: what was removed
/// and what is still there, never more.
public struct Teardown: Sendable {
    let client: any ContainerEngine
    let project: String

    public init(client: any ContainerEngine, project: String) {
        self.client = client
        self.project = project
    }

    public struct Report: Sendable, Encodable {
        public var project: String
        public var removedContainers: [String]
        public var removedNetworks: [String]
        public var removedVolumes: [String]
        public var keptVolumes: [String]

        enum CodingKeys: String, CodingKey {
            case project, removedContainers = "removed_containers", removedNetworks = "removed_networks",
                removedVolumes = "removed_volumes", keptVolumes = "kept_volumes"
        }
    }

    /// `levels` are the stack's dependency levels (`DependencyGraph.levels`); empty stops everything at once.
    /// Throws `TeardownStopped` (with what was done and what is left) when cancelled or when the engine fails.
    public func run(levels: [[String]], removeVolumes: Bool = false) async throws -> Report {
        var report = Report(project: project, removedContainers: [], removedNetworks: [], removedVolumes: [], keptVolumes: [])
        var left = ["the project's containers, networks\(removeVolumes ? " and volumes" : "") (not listed yet)"]
        do {
            try await steps(levels: levels, removeVolumes: removeVolumes, report: &report, left: &left)
        } catch {
            throw TeardownStopped(
                report: report, left: left, endpoint: client.endpoint.description,
                cause: Task.isCancelled || error is CancellationError ? nil : error)
        }
        return report
    }

    /// The steps of `run`, each recorded in `report` as it lands and `left` kept to what is still there.
    private func steps(levels: [[String]], removeVolumes: Bool, report: inout Report, left: inout [String]) async throws {
        let label = ComposeLabels.projectFilter(project)
        let groups = dependentsFirst(try await client.listContainers(all: true, labels: label), levels: levels)
        var remaining = Array(groups.joined())
        let network = "the project's networks" + (removeVolumes ? " and volumes" : "")
        func leftNow() -> [String] {
            (remaining.isEmpty ? [] : ["containers " + remaining.map(\.name).joined(separator: ", ")]) + [network]
        }
        left = leftNow()
        // Dependents stop before what they depend on; services of one level stop together.
        for group in groups {
            try Task.checkCancellation()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for container in group where container.state == "running" {
                    tasks.addTask { try await client.stopContainer(container.id, timeoutSeconds: 10) }
                }
                try await tasks.waitForAll()
            }
        }
        let labelled = Set(try await client.listVolumes(labels: label).map(\.name))
        var unlabelled: [String] = []
        while let container = remaining.first {
            try Task.checkCancellation()
            // With --volumes, the anonymous volumes Compose made for the containers go with them.
            try await client.removeContainer(container.id, force: true, volumes: removeVolumes)
            remaining.removeFirst()
            report.removedContainers.append(container.name)
            left = leftNow()
            unlabelled += container.volumeNames.filter { !labelled.contains($0) && !unlabelled.contains($0) }
        }
        // A volume without the project's label is anonymous, or one the project only uses (`external: true`, another
        // project's): the engine removes only the anonymous ones with their container. Reported as removed only when
        // it is gone, so `down --volumes` never claims data it left in place.
        let stillThere =
            removeVolumes && !unlabelled.isEmpty ? Set(try await client.listVolumes(labels: []).map(\.name)) : Set(unlabelled)
        report.removedVolumes += unlabelled.filter { !stillThere.contains($0) }
        report.keptVolumes += unlabelled.filter { stillThere.contains($0) }
        for network in try await client.listNetworks(labels: label) {
            try Task.checkCancellation()
            try await client.removeNetwork(network.id)
            report.removedNetworks.append(network.name)
        }
        left = removeVolumes ? ["the project's volumes"] : []
        for volume in try await client.listVolumes(labels: label) {
            if removeVolumes {
                try Task.checkCancellation()
                try await client.removeVolume(volume.name, force: false)
                report.removedVolumes.append(volume.name)
            } else {
                report.keptVolumes.append(volume.name)
            }
        }
        left = []
    }
}

/// A teardown that stopped before the end: Ctrl-C (exit 130), or the engine failing (exit 6 when it stopped
/// answering, else 1). Says what was removed, what is still there, and that running it again finishes it.
public struct TeardownStopped: LaunchFailure {
    public var report: Teardown.Report
    public var left: [String]
    public var endpoint: String
    /// Nil: interrupted.
    public var cause: (any Error)?

    var noAnswer: Bool { (cause as? EngineError)?.isNoAnswer == true }

    public var summary: String {
        let done =
            "removed \(report.removedContainers.count) container\(report.removedContainers.count == 1 ? "" : "s"), "
            + "\(report.removedNetworks.count) network\(report.removedNetworks.count == 1 ? "" : "s")"
        guard let cause else { return "removing \(report.project) was interrupted after it had \(done)" }
        let why = (cause as? any LaunchFailure)?.summary ?? "\(cause)"
        return
            "removing \(report.project) stopped: the engine at \(endpoint) \(noAnswer ? "stopped answering" : "failed") (\(why)); it had \(done)"
    }

    public var evidence: [String] {
        (report.removedContainers.isEmpty ? [] : ["removed: " + report.removedContainers.joined(separator: ", ")])
            + left.map { "still there: \($0)" }
    }

    public var hint: String? {
        cause == nil
            ? "run the same command again to finish it (`launch status` shows what is left)"
            : "once the engine answers (`docker info`), run the same command again to finish it"
    }

    public var exitCode: ExitStatus { cause == nil ? .interrupted : (noAnswer ? .engineLost : .launchFailed) }
}
