import Foundation

/// Time to ready of one service over past runs: what `launch plan` shows and `health.timeout: learned` uses.
public struct ReadinessStats: Sendable, Hashable, Encodable {
    public var runs: Int
    public var p50: Double
    public var p95: Double

    enum CodingKeys: String, CodingKey { case runs, p50 = "p50_seconds", p95 = "p95_seconds" }

    /// `ready in 42s, p95 61s over 12 runs`.
    public var description: String {
        "p50 \(DurationText.format(.seconds(p50))), p95 \(DurationText.format(.seconds(p95))) over \(runs) run\(runs == 1 ? "" : "s")"
    }
}

/// Per service, the seconds to ready of the environment's recent runs (newest first), read from the run reports
/// in `.launch/runs/`. Bounded: only the last `depth` reports count, so an old, slower configuration ages out.
public struct ReadinessHistory: Sendable, Equatable {
    public static let depth = 30
    public static let empty = ReadinessHistory(samples: [:])

    /// Service → seconds to ready, newest first.
    public var samples: [String: [Double]]
    /// Service → the container runs (`<id>@<StartedAt>`) a readiness label judged in a launch that ended with the
    /// service ready.
    public var judgedRuns: [String: Set<String>] = [:]

    public init(samples: [String: [Double]]) { self.samples = samples }

    /// Only services that became ready by starting count: one found already running or scaled to 0 says
    /// nothing about how long it takes.
    public init(runs: [RecordedRun]) {
        var samples: [String: [Double]] = [:]
        var judgedRuns: [String: Set<String>] = [:]
        for run in runs where run.outcome == "success" || run.outcome == "degraded" {
            for service in run.services where service.state == "ready" {
                judgedRuns[service.name, default: []].formUnion(service.judgedRuns ?? [])
                guard let seconds = service.secondsToReady, seconds.isFinite, seconds >= 0,
                    service.readiness != "already running", service.readiness != "scaled to 0"
                else { continue }
                samples[service.name, default: []].append(seconds)
            }
        }
        self.samples = samples
        self.judgedRuns = judgedRuns
    }

    public init(store: RunStore, environment: String) {
        self.init(runs: store.list(environment: environment, limit: Self.depth))
    }

    public func stats(_ service: String) -> ReadinessStats? {
        guard let values = samples[service], !values.isEmpty else { return nil }
        return ReadinessStats(runs: values.count, p50: Self.percentile(values, 0.5), p95: Self.percentile(values, 0.95))
    }

    /// How many of the recorded runs took longer than `deadline` seconds.
    public func exceeding(_ service: String, deadline: Double) -> Int {
        samples[service]?.filter { $0 > deadline }.count ?? 0
    }

    /// Nearest rank: the smallest value with at least `p` of the values at or below it (always a value that happened).
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// `health.timeout: learned`: p95 of past times to ready × a margin, between a floor and a cap. Fewer than
/// `minimumRuns` runs is not evidence: the derived deadline stays.
public enum LearnedDeadline {
    public static let minimumRuns = 3
    public static let margin = 1.5
    public static let floor: Duration = .seconds(10)
    public static let cap: Duration = .seconds(600)

    public static func deadline(_ stats: ReadinessStats?) -> Duration? {
        guard let stats, stats.runs >= minimumRuns, stats.p95.isFinite, stats.p95 >= 0 else { return nil }
        let seconds = min(max(stats.p95 * margin, floor.seconds), cap.seconds)
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
