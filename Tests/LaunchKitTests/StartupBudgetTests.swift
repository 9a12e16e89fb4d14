import Foundation
import Testing

@testable import LaunchKit

/// Stats readings recorded from real engines (Fixtures/stats, see its README) and what a diagnosis says of them.
@Suite("Startup budgets: resource evidence")
struct ResourceEvidenceTests {
    static func stats(_ name: String) throws -> ContainerStats {
        try JSONDecoder().decode(ContainerStats.self, from: Data(contentsOf: URL(fileURLWithPath: Fixture.path("stats/\(name).json"))))
    }

    @Test(arguments: ["docker-20.10", "docker-26.1"])
    func aThrottledContainerNamesThrottlingTheLimitAndALimitThatFits(engine: String) throws {
        let sample = try Self.stats("\(engine)-cpu-throttled").sample
        #expect(sample.cpuPeriods > 50)
        var usage = ResourceUsage(cpuLimit: 0.05, memoryLimit: 32 << 20)
        usage.record(sample)
        #expect(usage.cpuStarved)
        let percent = Int((Double(sample.cpuThrottledPeriods) / Double(sample.cpuPeriods) * 100).rounded())
        #expect(
            usage.findings.first
                == "CPU throttled in \(percent) % of periods (\(sample.cpuThrottledPeriods) of \(sample.cpuPeriods); limit 0.05 CPU)")
        #expect(usage.suggestion(service: "api") == "raise api's CPU limit (deploy.resources.limits.cpus) from 0.05 to at least 0.1")
    }

    @Test func theRecordedThrottlingFiguresAreThoseTheEngineSent() throws {
        let sample = try Self.stats("docker-20.10-cpu-throttled").sample
        #expect(sample.cpuPeriods == 90)
        #expect(sample.cpuThrottledPeriods == 60)
        #expect(sample.memoryPeak == 3_715_072)
    }

    @Test(arguments: ["docker-20.10", "docker-26.1"])
    func aContainerPressedAgainstItsMemoryLimitNamesUsageAndLimit(engine: String) throws {
        var usage = ResourceUsage(memoryLimit: 32 << 20)
        usage.record(try Self.stats("\(engine)-memory").sample)
        #expect(usage.memoryPressed)
        #expect(!usage.cpuStarved)
        let line = try #require(usage.findings.first)
        #expect(line.hasPrefix("memory peaked at 28."))
        #expect(line.hasSuffix(" MiB of its 32 MiB limit (89 %)") || line.hasSuffix(" MiB of its 32 MiB limit (90 %)"))
        #expect(
            usage.suggestion(service: "db")
                == "raise db's memory limit (deploy.resources.limits.memory) from 32 MiB to 48 MiB (1.5 × its peak)")
    }

    /// cgroup v2 has no `max_usage`: the current usage is the reading, and the sampler keeps the peak.
    @Test func withoutMaxUsageThePeakIsTheHighestUsageSampled() throws {
        let json =
            #"{"cpu_stats": {"throttling_data": {"periods": 0, "throttled_periods": 0}}, "memory_stats": {"usage": 1048576, "limit": 8589934592}}"#
        let low = try JSONDecoder().decode(ContainerStats.self, from: Data(json.utf8)).sample
        var usage = ResourceUsage()
        usage.record(ResourceSample(cpuPeriods: 0, cpuThrottledPeriods: 0, memoryPeak: 5 << 20))
        usage.record(low)
        #expect(usage.memoryPeak == 5 << 20)
        #expect(usage.findings == ["memory peaked at 5 MiB (no limit)"])
        #expect(usage.suggestion(service: "x") == nil)
    }

    @Test func anOOMKillNamesTheLimitAndSuggestsDoubleIt() {
        var usage = ResourceUsage(memoryLimit: 16 << 20)
        usage.oomKilled = true
        #expect(usage.findings == ["OOM-killed at the 16 MiB limit"])
        #expect(
            usage.suggestion(service: "worker")
                == "raise worker's memory limit (deploy.resources.limits.memory) from 16 MiB to at least 32 MiB")
    }

    @Test func hugeLimitsNeverTrap() {
        var usage = ResourceUsage(cpuLimit: 1e12, memoryLimit: .max)
        usage.oomKilled = true
        usage.record(ResourceSample(cpuPeriods: .max, cpuThrottledPeriods: .max, memoryPeak: .max))
        #expect(usage.suggestion(service: "x") != nil)
        #expect(!usage.findings.isEmpty)
    }

    @Test func limitsComeFromInspect() throws {
        let json = #"{"RestartPolicy": {"Name": "no"}, "Memory": 33554432, "NanoCpus": 50000000}"#
        let host = try JSONDecoder().decode(ContainerDetails.HostConfig.self, from: Data(json.utf8))
        #expect(host.memoryLimit == 32 << 20)
        #expect(host.cpuLimit == 0.05)
        let quota = try JSONDecoder().decode(
            ContainerDetails.HostConfig.self, from: Data(#"{"CpuQuota": 150000, "CpuPeriod": 100000, "Memory": 0}"#.utf8))
        #expect(quota.cpuLimit == 1.5)
        #expect(quota.memoryLimit == nil)
    }

    @Test func theSuggestionComesFirstInTheNextStep() {
        #expect(Diagnostics.starvationFirst(nil, then: "read the log") == "read the log")
        #expect(
            Diagnostics.starvationFirst("raise x", then: "read the log")
                == "raise x — it was starved (figures above); otherwise: read the log")
    }

    @Test(arguments: Replay.engines)
    func theMachineSamplesAStartingContainerUntilItIsReady(engine: String) throws {
        var replay = try Replay(engine: engine, scenario: "healthy-chain")
        replay.begin()
        let events = try Replay.events(engine, "healthy-chain")
        let dbStart = try #require(events.firstIndex { $0.action == "start" })
        replay.play(Array(events[...dbStart]))
        let sample = try #require(replay.actions.last { if case .sample("db", _, _, _) = $0 { true } else { false } })
        guard case .sample(_, let container, let sequence, let after) = sample else { return }
        #expect(after == LaunchStateMachine.sampleInterval)
        let before = replay.actions.count
        replay.feed(
            .sampled(
                service: "db", container: container, startSequence: sequence,
                sample: .init(cpuPeriods: 20, cpuThrottledPeriods: 18, memoryPeak: 1 << 20)))
        #expect(replay.actions[before...].contains { if case .sample("db", container, sequence, _) = $0 { true } else { false } })
        #expect(replay.service("db")?.containers.first?.resources.cpuThrottledPeriods == 18)
        // Once nothing is starting, nothing is sampled again.
        replay.play(Array(events[(dbStart + 1)...]))
        replay.settle()
        let after2 = replay.actions.count
        replay.feed(
            .sampled(
                service: "db", container: container, startSequence: sequence,
                sample: .init(cpuPeriods: 30, cpuThrottledPeriods: 18, memoryPeak: 1 << 20)))
        #expect(!replay.actions[after2...].contains { if case .sample = $0 { true } else { false } })
    }
}

@Suite("Startup budgets: history and learned deadlines")
struct ReadinessHistoryTests {
    static func run(_ outcome: String, _ services: [(String, String, Double?, String?)]) throws -> RecordedRun {
        let list = services.map { name, state, seconds, readiness in
            #"{"name": "\#(name)", "class": "core", "state": "\#(state)", "retries": 0"#
                + (seconds.map { #", "seconds_to_ready": \#($0)"# } ?? "") + (readiness.map { #", "readiness": "\#($0)""# } ?? "") + "}"
        }
        let json =
            #"{"environment": "dev", "project": "p", "outcome": "\#(outcome)", "exit_code": 0, "started_at": "2026-01-01T00:00:00Z", "seconds": 1, "phases": [], "services": [\#(list.joined(separator: ","))]}"#
        let decoder = JSONOutput.decoder()
        return try decoder.decode(RecordedRun.self, from: Data(json.utf8))
    }

    @Test func percentilesAreNearestRankOverValuesThatHappened() {
        let values = (1...20).map(Double.init).shuffled()
        #expect(ReadinessHistory.percentile(values, 0.5) == 10)
        #expect(ReadinessHistory.percentile(values, 0.95) == 19)
        #expect(ReadinessHistory.percentile([7], 0.95) == 7)
        #expect(ReadinessHistory.percentile([1, 2, 3], 0.5) == 2)
    }

    @Test func onlyServicesThatStartedInSuccessfulRunsCount() throws {
        let history = ReadinessHistory(runs: [
            try Self.run("success", [("api", "ready", 40, "probe"), ("db", "ready", 0, "already running")]),
            try Self.run("failed", [("api", "failed", nil, nil)]),
            try Self.run("failed", [("api", "ready", 90, "probe")]),
            try Self.run("degraded", [("api", "ready", 60, "healthcheck"), ("db", "ready", 5, "healthcheck")]),
            try Self.run("success", [("api", "ready", 42, "probe")]),
        ])
        #expect(history.samples["api"] == [40, 60, 42])
        #expect(history.stats("api") == ReadinessStats(runs: 3, p50: 42, p95: 60))
        #expect(history.stats("db")?.runs == 1)
        #expect(history.stats("web") == nil)
        #expect(history.exceeding("api", deadline: 41) == 2)
        #expect(
            history.stats("api")?.description == "p50 42s, p95 1m0s over 3 runs"
                || history.stats("api")?.description.hasPrefix("p50 42s, p95 ") == true)
    }

    @Test func theLearnedDeadlineIsP95TimesAMarginBetweenAFloorAndACap() {
        #expect(LearnedDeadline.deadline(ReadinessStats(runs: 5, p50: 30, p95: 40)) == .seconds(60))
        #expect(LearnedDeadline.deadline(ReadinessStats(runs: 5, p50: 1, p95: 2)) == LearnedDeadline.floor)
        #expect(LearnedDeadline.deadline(ReadinessStats(runs: 5, p50: 900, p95: 1200)) == LearnedDeadline.cap)
        #expect(LearnedDeadline.deadline(ReadinessStats(runs: 2, p50: 30, p95: 40)) == nil)
        #expect(LearnedDeadline.deadline(ReadinessStats(runs: 5, p50: 30, p95: .infinity)) == nil)
        #expect(LearnedDeadline.deadline(nil) == nil)
    }

    @Test func aLearnedTimeoutReplacesTheDerivedDeadlineOnlyWithEnoughRuns() {
        var service = ComposeService(name: "api")
        service.healthcheck = Healthcheck(
            test: ["CMD", "true"], interval: .seconds(1), timeout: .seconds(1), startPeriod: .seconds(5), retries: 3)
        var policy = Profile.HealthPolicy.defaults
        let derived = ReadinessRule(service: service, policy: policy, isJob: false).deadline
        policy.learnedTimeout = true
        let learned = ReadinessRule(service: service, policy: policy, isJob: false, history: ReadinessStats(runs: 12, p50: 42, p95: 61))
        #expect(learned.deadline == .milliseconds(91_500))
        #expect(learned.isLearned)
        let young = ReadinessRule(service: service, policy: policy, isJob: false, history: ReadinessStats(runs: 2, p50: 42, p95: 61))
        #expect(young.deadline == derived)
        #expect(!young.isLearned)
    }

    @Test func aDeadlineBelowP95IsAWarningThatSaysHowOftenItWouldHaveFailed() {
        let history = ReadinessHistory(samples: ["api": [40, 50, 61, 45, 30]])
        let service = LaunchPlan.PlannedService(
            name: "api", serviceClass: .core, image: nil, builds: false, replicas: 1, gpus: nil, gpuDevices: [], dependsOn: [],
            readiness: "healthy", deadlineSeconds: 45, ports: [], history: history.stats("api"))
        let warnings = Planner.historyWarnings([service], history: history)
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("api: deadline 45s is below its p95 time to ready (p50 45s, p95 ") == true)
        #expect(warnings.first?.contains("it would have failed 2 of the last 5 runs") == true)
        var generous = service
        generous.deadlineSeconds = 120
        #expect(Planner.historyWarnings([generous], history: history).isEmpty)
    }

    @Test func slowerThanUsualIsSaidInTheSummary() {
        var result = LaunchResult.ServiceResult(
            name: "api", serviceClass: .core, state: .ready, secondsToReady: 130, retries: 0,
            history: ReadinessStats(runs: 12, p50: 42, p95: 61))
        #expect(result.slowerThanUsual?.hasPrefix("api took 3.1× its p50 (p50 42s") == true)
        result.secondsToReady = 50
        #expect(result.slowerThanUsual == nil)
    }

    @Test func aProfileOptsInWithHealthTimeoutLearned() throws {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nhealth: {timeout: learned}\n")
        let profile = try project.catalog().profile(named: "demo")
        #expect(profile.health.learnedTimeout)
        #expect(profile.health.timeout == nil)
        let plain = try TemporaryProject()
        try plain.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nhealth: {timeout: 30s}\n")
        #expect(try plain.catalog().profile(named: "demo").health.learnedTimeout == false)
    }
}

@Suite("Startup budgets: comparing runs")
struct RunComparisonTests {
    @Test func slowestChangesComeFirstAndMissingOnesLast() throws {
        var before = try ReadinessHistoryTests.run(
            "success", [("db", "ready", 2, "probe"), ("api", "ready", 10, "probe"), ("web", "ready", 1, "stable")])
        before.id = "A"
        var after = try ReadinessHistoryTests.run(
            "failed", [("db", "ready", 2.5, "probe"), ("api", "ready", 31, "probe"), ("web", "blocked", nil, nil)])
        after.id = "B"
        let comparison = RunComparison(before: before, after: after)
        #expect(comparison.rows.map(\.service) == ["api", "db", "web"])
        #expect(comparison.rows.first?.change == 21)
        let lines = RunRenderer.compare(comparison)
        #expect(lines.first == "time to ready, A → B")
        #expect(lines.contains { $0.contains("api") && $0.contains("+21.00s (3.1×)") })
        #expect(lines.contains { $0.contains("web") && $0.contains("not ready in B") })
    }
}

@Suite("Startup budgets: host pressure")
struct HostPressureTests {
    @Test func pressureStallInformationIsRead() {
        let psi = "some avg10=70.17 avg60=77.85 avg300=82.79 total=1775312267\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        #expect(ProcFS.someAvg10(psi) == 70.17)
        #expect(ProcFS.someAvg10("garbage") == nil)
        #expect(ProcFS.meminfoBytes("MemTotal:       16318480 kB\nMemAvailable:    1048576 kB\n", "MemAvailable:") == 1 << 30)
        #expect(ProcFS.meminfoBytes("MemAvailable: 99999999999999999 kB\n", "MemAvailable:") == nil)
    }

    @Test func aSaturatedHostIsNamedAndAnIdleOneIsNot() {
        var host = HostPressure(cpus: 2)
        host.record(HostReading(load1: 0.4, memAvailable: 8 << 30, memTotal: 16 << 30, cpuPressure: 1, memoryPressure: 0))
        #expect(host.note == nil)
        host.record(HostReading(load1: 7.9, memAvailable: 1 << 30, memTotal: 16 << 30, cpuPressure: 70.2, memoryPressure: 12))
        #expect(host.peakLoad == 7.9)
        #expect(host.lowestMemAvailable == 1 << 30)
        #expect(
            host.saturation == [
                "load 7.9 on 2 CPUs", "tasks waited for CPU 70 % of the time (PSI)", "tasks waited for memory 12 % of the time (PSI)",
                "only 1 GiB of 16 GiB memory available",
            ])
        #expect(host.note?.hasPrefix("the host was saturated during startup (load 7.9 on 2 CPUs; ") == true)
    }

    @Test func theLiveHostCanBeRead() throws {
        let reading = try #require(ProcFS().hostReading())
        #expect(reading.load1 != nil)
        #expect(reading.memTotal != nil)
    }
}
