import Foundation

/// One reading of `GET /containers/{id}/stats?stream=false`: only what a diagnosis of starvation needs.
///
/// The CPU and CFS counters are cumulative since the container started; `max_usage` exists on cgroup v1 only
/// (v2 reports the current usage, so the sampler keeps the peak itself).
public struct ContainerStats: Decodable, Sendable, Equatable {
    public struct CPU: Decodable, Sendable, Equatable {
        public struct Throttling: Decodable, Sendable, Equatable {
            public var periods: Int64 = 0
            public var throttledPeriods: Int64 = 0
            enum CodingKeys: String, CodingKey { case periods, throttledPeriods = "throttled_periods" }
        }
        public var throttlingData: Throttling? = nil
        enum CodingKeys: String, CodingKey { case throttlingData = "throttling_data" }
    }

    public struct Memory: Decodable, Sendable, Equatable {
        public var usage: Int64? = nil
        public var maxUsage: Int64? = nil
        /// The host's memory when the container has no limit: read the limit from inspect instead.
        public var limit: Int64? = nil
        enum CodingKeys: String, CodingKey { case usage, maxUsage = "max_usage", limit }
    }

    public var cpuStats: CPU? = nil
    public var memoryStats: Memory? = nil

    enum CodingKeys: String, CodingKey { case cpuStats = "cpu_stats", memoryStats = "memory_stats" }

    public init(cpuStats: CPU? = nil, memoryStats: Memory? = nil) {
        self.cpuStats = cpuStats
        self.memoryStats = memoryStats
    }

    /// The sample the launch keeps: cumulative throttling and the highest memory use seen.
    public var sample: ResourceSample {
        let throttling = cpuStats?.throttlingData
        return ResourceSample(
            cpuPeriods: throttling?.periods ?? 0, cpuThrottledPeriods: throttling?.throttledPeriods ?? 0,
            memoryPeak: max(memoryStats?.usage ?? 0, memoryStats?.maxUsage ?? 0))
    }
}

extension EngineClient {
    /// One stats reading without the engine's one-second wait for a previous CPU sample (`one-shot`, API 1.41).
    public func stats(_ id: String) async throws -> ContainerStats {
        try await get("/containers/\(Self.escape(id))/stats", [("stream", "false"), ("one-shot", "true")])
    }
}
