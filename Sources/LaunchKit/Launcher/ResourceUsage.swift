import Foundation

/// One stats reading of one container, reduced to what explains a starved start.
public struct ResourceSample: Sendable, Equatable {
    /// CFS periods since the container started, and those in which it hit its CPU quota.
    public var cpuPeriods: Int64
    public var cpuThrottledPeriods: Int64
    /// The highest memory use the reading shows (cgroup v1's `max_usage`, else the current usage).
    public var memoryPeak: Int64
}

/// What a service's containers used against their limits while it started: the evidence a diagnosis of a slow,
/// failed or OOM-killed service shows, and what the next step's suggested limit is computed from.
public struct ResourceUsage: Sendable, Equatable, Encodable {
    /// CPUs the container may use (`cpus: 0.05`); nil: no limit.
    public var cpuLimit: Double?
    /// Bytes; nil: no limit.
    public var memoryLimit: Int64?
    public var cpuPeriods: Int64 = 0
    public var cpuThrottledPeriods: Int64 = 0
    public var memoryPeak: Int64 = 0
    public var oomKilled = false
    /// Stats readings taken; 0 means only the limits are known.
    public var samples = 0

    public init(cpuLimit: Double? = nil, memoryLimit: Int64? = nil) {
        self.cpuLimit = cpuLimit
        self.memoryLimit = memoryLimit
    }

    init(limitsOf details: ContainerDetails?) {
        self.init(cpuLimit: details?.hostConfig.cpuLimit, memoryLimit: details?.hostConfig.memoryLimit)
    }

    enum CodingKeys: String, CodingKey {
        case cpuLimit = "cpu_limit", memoryLimit = "memory_limit_bytes", cpuPeriods = "cpu_periods",
            cpuThrottledPeriods = "cpu_throttled_periods", memoryPeak = "memory_peak_bytes", oomKilled = "oom_killed", samples
    }

    /// The counters are cumulative since the container started: the highest reading is the whole story.
    public mutating func record(_ sample: ResourceSample) {
        samples += 1
        if sample.cpuPeriods >= cpuPeriods {
            cpuPeriods = sample.cpuPeriods
            cpuThrottledPeriods = sample.cpuThrottledPeriods
        }
        memoryPeak = max(memoryPeak, sample.memoryPeak)
    }

    /// The worst of two containers (replicas): each figure from the one that shows the most pressure.
    public func merged(with other: ResourceUsage) -> ResourceUsage {
        var out = throttledFraction >= other.throttledFraction ? self : other
        let peakSource = memoryFraction >= other.memoryFraction ? self : other
        out.memoryPeak = peakSource.memoryPeak
        out.memoryLimit = peakSource.memoryLimit
        out.oomKilled = oomKilled || other.oomKilled
        out.samples = samples + other.samples
        return out
    }

    /// Share of CFS periods in which the container was throttled (0 without a quota).
    public var throttledFraction: Double {
        cpuPeriods > 0 ? Double(cpuThrottledPeriods) / Double(cpuPeriods) : 0
    }

    public var memoryFraction: Double {
        guard let limit = memoryLimit, limit > 0 else { return 0 }
        return Double(memoryPeak) / Double(limit)
    }

    /// Throttled in at least this share of periods: starved, not merely busy.
    static let throttledThreshold = 0.25
    /// Peaked at this share of its memory limit: pressed against it.
    static let memoryThreshold = 0.8
    /// Fewer CFS periods than this say nothing yet (a period is 100 ms).
    static let minimumPeriods: Int64 = 10

    public var cpuStarved: Bool { cpuLimit != nil && cpuPeriods >= Self.minimumPeriods && throttledFraction >= Self.throttledThreshold }
    public var memoryPressed: Bool { memoryLimit != nil && memoryFraction >= Self.memoryThreshold }

    /// The figures, in words: one line for CPU, one for memory.
    public var findings: [String] {
        var lines: [String] = []
        if let limit = cpuLimit {
            if cpuPeriods > 0 {
                let percent = Self.percent(throttledFraction)
                lines.append(
                    "CPU throttled in \(percent) % of periods (\(cpuThrottledPeriods) of \(cpuPeriods); limit \(Self.cpus(limit)) CPU)")
            } else {
                lines.append("CPU limit \(Self.cpus(limit)) CPU (no throttling measured)")
            }
        }
        if oomKilled {
            lines.append(memoryLimit.map { "OOM-killed at the \(Self.mib($0)) limit" } ?? "OOM-killed (no memory limit: the host ran out)")
        } else if let limit = memoryLimit, samples > 0 {
            let percent = Self.percent(memoryFraction)
            lines.append("memory peaked at \(Self.mib(memoryPeak)) of its \(Self.mib(limit)) limit (\(percent) %)")
        } else if samples > 0, memoryPeak > 0 {
            lines.append("memory peaked at \(Self.mib(memoryPeak)) (no limit)")
        }
        return lines
    }

    /// The limit that would have fitted, from what was measured; nil when the limits did not bind.
    public func suggestion(service: String) -> String? {
        var parts: [String] = []
        if oomKilled, let limit = memoryLimit {
            parts.append(
                "raise \(service)'s memory limit (deploy.resources.limits.memory) from \(Self.mib(limit)) to at least \(Self.mib(Self.roundUpMemory(limit.multipliedReportingOverflow(by: 2).overflow ? limit : limit * 2)))"
            )
        } else if memoryPressed, let limit = memoryLimit {
            let fitted = Self.roundUpMemory(max(Int64(min(max(Double(memoryPeak) * 1.5, 0), 9e18)), limit == .max ? limit : limit + 1))
            parts.append(
                "raise \(service)'s memory limit (deploy.resources.limits.memory) from \(Self.mib(limit)) to \(Self.mib(fitted)) (1.5 × its peak)"
            )
        }
        if cpuStarved, let limit = cpuLimit {
            // A throttled container shows only that it wanted more than it got: at least undo the throttled share, at most double.
            let factor = min(2, 1 / max(1 - throttledFraction, 0.5))
            parts.append(
                "raise \(service)'s CPU limit (deploy.resources.limits.cpus) from \(Self.cpus(limit)) to at least \(Self.cpus(Self.roundUpCPUs(limit * factor)))"
            )
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// A fraction as a whole percentage; the engine's figures can be anything (a throttled count past the periods, a
    /// 1-byte limit), so it is clamped before it becomes an `Int`.
    static func percent(_ fraction: Double) -> Int {
        Int((min(max(fraction, 0), 10_000) * 100).rounded())
    }

    static func mib(_ bytes: Int64) -> String {
        let value = Double(bytes) / 1_048_576
        if value >= 1024 { return String(format: "%.1f GiB", value / 1024).replacingOccurrences(of: ".0 ", with: " ") }
        return String(format: "%.1f MiB", value).replacingOccurrences(of: ".0 ", with: " ")
    }

    static func cpus(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Up to the next 16 MiB below 1 GiB, the next 256 MiB above; never overflows.
    static func roundUpMemory(_ bytes: Int64) -> Int64 {
        let step: Int64 = bytes < 1 << 30 ? 16 << 20 : 256 << 20
        let (sum, overflow) = bytes.addingReportingOverflow(step - 1)
        return overflow ? bytes : sum / step * step
    }

    /// Up to the next 0.05 CPU below 1, the next 0.25 above.
    static func roundUpCPUs(_ value: Double) -> Double {
        let step = value < 1 ? 0.05 : 0.25
        return ((value / step) - 1e-9).rounded(.up) * step
    }
}
