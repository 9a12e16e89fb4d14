import Foundation

/// One recorded run laid out in time: where each phase began, each service's stretch on the start phase's axis
/// (waiting for its dependencies, the engine starting it, its readiness check), the dependency levels and the
/// critical path. The HTML report draws it and the trace exports it: one reading of a run for both.
public struct RunTimeline: Sendable {
    public struct PhaseSpan: Sendable, Hashable {
        public var name: String
        public var status: String
        /// Seconds from the start of the run.
        public var begin: Double
        public var seconds: Double
    }

    /// A service on the start phase's axis (seconds from the start phase's beginning).
    public struct Lane: Sendable, Hashable {
        public var name: String
        public var serviceClass: String
        public var state: String
        /// When launch started it; nil when it never started (blocked, interrupted).
        public var started: Double?
        /// When the engine had its containers running (`started` plus the engine's own start time).
        public var running: Double?
        public var ready: Double?
        /// Where its bar ends: ready, judged failed, or (failed without a recorded time) the end of the axis.
        public var ended: Double?
        public var blockedBy: String?
        public var failed: Bool { state == "failed" }
    }

    public var phases: [PhaseSpan]
    /// Seconds from the start of the run to the start phase.
    public var startOffset: Double
    /// The start phase's length, or the latest time any service reached, whichever is longer.
    public var axisEnd: Double
    /// In the order services started (those that never started last).
    public var lanes: [Lane]
    /// Services by dependency depth: level 0 depends on nothing.
    public var levels: [[String]]
    /// The chain that decided when the run ended: from a service that depended on nothing to the last one ready
    /// (or the failed core service), each link the dependency that was ready last before the next one started.
    public var criticalPath: [String]

    public init(_ run: RecordedRun) {
        // Where a report says when a phase began, that; in older reports, where the one before it ended.
        var offset = 0.0
        phases = run.phases.map { phase in
            let begin = phase.began ?? offset
            offset = max(offset, begin + phase.seconds)
            return PhaseSpan(name: phase.name, status: phase.status, begin: begin, seconds: phase.seconds)
        }
        startOffset = phases.last { $0.name == "start" }?.begin ?? 0
        let startSeconds = phases.last { $0.name == "start" }?.seconds ?? 0
        let reached = run.services.flatMap { [$0.startedAt, $0.readyAt, $0.failedAt].compactMap { $0 } }
        let axisEnd = max(startSeconds, reached.max() ?? 0, 0.001)
        self.axisEnd = axisEnd
        lanes = run.services.map { service in
            let failed = service.state == "failed"
            return Lane(
                name: service.name, serviceClass: service.serviceClass, state: service.state, started: service.startedAt,
                running: service.startedAt.flatMap { started in service.engineStartSeconds.map { started + $0 } },
                ready: service.readyAt,
                ended: service.readyAt ?? service.failedAt ?? (failed && service.startedAt != nil ? axisEnd : nil),
                blockedBy: service.blockedBy)
        }
        .sorted { ($0.started ?? .infinity, $0.name) < ($1.started ?? .infinity, $1.name) }
        levels = Self.levels(run.services)
        criticalPath = Self.criticalPath(run.services, lanes: lanes)
    }

    static func levels(_ services: [RecordedRun.Service]) -> [[String]] {
        let edges = Dictionary(services.map { ($0.name, ($0.dependsOn ?? []).map(\.service)) }, uniquingKeysWith: { a, _ in a })
        var depth: [String: Int] = [:]
        func level(_ name: String, _ path: Set<String>) -> Int {
            if let known = depth[name] { return known }
            // A dependency outside the run (not launched) or a cycle in an edited report adds no depth.
            let deps = (edges[name] ?? []).filter { edges[$0] != nil && !path.contains($0) }
            let value = deps.map { level($0, path.union([name])) + 1 }.max() ?? 0
            depth[name] = value
            return value
        }
        for service in services { _ = level(service.name, []) }
        let maximum = depth.values.max() ?? -1
        guard maximum >= 0 else { return [] }
        return (0...maximum).map { index in services.map(\.name).filter { depth[$0] == index } }
    }

    static func criticalPath(_ services: [RecordedRun.Service], lanes: [Lane]) -> [String] {
        let byName = Dictionary(lanes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let edges = Dictionary(services.map { ($0.name, $0.dependsOn ?? []) }, uniquingKeysWith: { a, _ in a })
        // Lanes that ended, with the time they did.
        let ended = lanes.compactMap { lane in lane.ended.map { (lane, $0) } }
        let failedCore = ended.filter { $0.0.failed && $0.0.serviceClass == "core" }.min { $0.1 < $1.1 }?.0
        guard var current = failedCore ?? ended.max(by: { $0.1 < $1.1 })?.0 else { return [] }
        var path = [current.name]
        while let started = current.started {
            // What each dependency's edge waited for: running for `service_started`, ready (or exited 0) otherwise.
            let gating = (edges[current.name] ?? []).compactMap { edge in byName[edge.service].map { (edge, $0) } }
                .compactMap { edge, dependency in
                    (edge.condition == Dependency.Condition.started.rawValue ? dependency.running ?? dependency.started : dependency.ended)
                        .map { (dependency, $0) }
                }
                .filter { $0.1 <= started + 0.001 && !path.contains($0.0.name) }
            guard let next = gating.max(by: { $0.1 < $1.1 })?.0 else { break }
            path.append(next.name)
            current = next
        }
        return path.reversed()
    }
}
