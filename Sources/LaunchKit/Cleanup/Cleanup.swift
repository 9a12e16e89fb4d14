import Foundation

/// Frees Docker disk space the way the team agreed: stopped containers, dangling images and build cache.
/// Never volumes — they hold databases and models.
public struct Cleanup: Sendable {
    public let context: LaunchContext
    /// `key` or `key=value`: only objects with this label are pruned (a shared engine, a test). Build cache has
    /// no labels, so a labelled cleanup leaves it alone.
    public var label: String?
    /// The engine whose usage is read (a unit test hands a fake); the one `context` points at otherwise.
    let engine: (any ContainerEngine)?

    public init(context: LaunchContext, label: String? = nil) {
        self.init(context: context, label: label, engine: nil)
    }

    init(context: LaunchContext, label: String?, engine: (any ContainerEngine)?) {
        self.context = context
        self.label = label
        self.engine = engine
    }

    /// One Engine API request (`GET /system/df`) through whatever reaches the engine — its socket, TCP, SSH or TLS —
    /// so the figures, and the decision they feed, are the same however the engine is reached.
    public func usage() async throws -> DiskUsage {
        DiskUsage(engine: try await (engine ?? EngineClient(context: context)).systemDataUsage(), label: label)
    }

    /// The three prune commands, in the order they run: containers first, so images they used can go too.
    public var commands: [Command] {
        var commands = [context.docker.pruneStoppedContainers(label: label), context.docker.pruneDanglingImages(label: label)]
        if label == nil { commands.append(context.docker.pruneBuildCache()) }
        return commands
    }

    /// With `dryRun`, lists what would go and changes nothing.
    public func prune(dryRun: Bool) async throws -> CleanupReport {
        let before = try await usage()
        var report = CleanupReport(dryRun: dryRun, label: label, usage: before)
        let commands = commands
        guard !dryRun else {
            report.steps = commands.map { CleanupReport.Step(command: $0.description, ran: false) }
            return report
        }
        // Containers first: an image a stopped container used becomes prunable only once the container is gone.
        var steps = [await step(commands[0])]
        let rest = Array(commands.dropFirst())
        steps += await withTaskGroup(of: (Int, CleanupReport.Step).self) { group in
            for (index, command) in rest.enumerated() { group.addTask { (index, await step(command)) } }
            var done: [(Int, CleanupReport.Step)] = []
            for await result in group { done.append(result) }
            return done.sorted { $0.0 < $1.0 }.map(\.1)
        }
        report.steps = steps
        return report
    }

    /// `launch <env>` before starting: prunes only when more than the profile's threshold is prunable.
    /// nil when nothing was pruned.
    public func runIfNeeded(policy: Profile.CleanupPolicy) async throws -> CleanupReport? {
        let usage = try await usage()
        let decision = CleanupDecision.decide(usage, policy: policy)
        guard decision.prune else { return nil }
        var report = try await prune(dryRun: false)
        report.decision = decision
        return report
    }

    private func step(_ command: Command) async -> CleanupReport.Step {
        do {
            let output = try await context.runner.run(command)
            return CleanupReport.Step(
                command: command.description, ran: true, succeeded: output.succeeded,
                reclaimed: Self.reclaimed(output.stdout),
                message: output.succeeded ? nil : output.stderr.split(whereSeparator: \.isNewline).first.map(String.init))
        } catch {
            return CleanupReport.Step(command: command.description, ran: true, succeeded: false, message: "\(error)")
        }
    }

    /// `Total reclaimed space: 3.146MB` → 3146000 bytes.
    static func reclaimed(_ output: String) -> ByteSize? {
        let marker = "Total reclaimed space:"
        guard let line = output.split(whereSeparator: \.isNewline).last(where: { $0.contains(marker) }),
            let range = line.range(of: marker)
        else { return nil }
        return ByteSize(parsing: String(line[range.upperBound...]))
    }
}

/// What a cleanup found and did. `launch clean --json` prints it.
public struct CleanupReport: Sendable, Encodable {
    public static let schemaVersion = 1

    public struct Step: Sendable, Hashable, Encodable {
        public var command: String
        public var ran: Bool
        public var succeeded: Bool = true
        public var reclaimed: ByteSize?
        public var message: String?
    }

    public var schema = CleanupReport.schemaVersion
    public var dryRun: Bool
    public var label: String?
    /// Before pruning.
    public var usage: DiskUsage
    /// Set by `runIfNeeded`: why it pruned.
    public var decision: CleanupDecision?
    public var steps: [Step] = []

    public init(dryRun: Bool, label: String?, usage: DiskUsage, decision: CleanupDecision? = nil) {
        self.dryRun = dryRun
        self.label = label
        self.usage = usage
        self.decision = decision
    }

    public var reclaimed: ByteSize { ByteSize(bytes: steps.reduce(0) { $0 + ($1.reclaimed?.bytes ?? 0) }) }
    public var failed: Bool { steps.contains { !$0.succeeded } }

    enum CodingKeys: String, CodingKey {
        case schema, dryRun = "dry_run", label, usage, decision, steps, reclaimed, failed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(label, forKey: .label)
        try container.encode(usage, forKey: .usage)
        try container.encode(decision, forKey: .decision)
        try container.encode(steps, forKey: .steps)
        try container.encode(reclaimed, forKey: .reclaimed)
        try container.encode(failed, forKey: .failed)
    }
}
