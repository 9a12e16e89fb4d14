import Foundation
import Testing

@testable import LaunchKit

/// Numbers nobody checked on the way in: a report file someone edited, an engine answer far outside anything real.
/// Each must come out as a clear answer, never a trap (Swift traps on integer overflow and on a negative count).
@Suite("Hostile numbers and nesting from files and engines")
struct HostileNumbersTests {
    static func run(_ services: String, phases: String = #"[{"name":"start","seconds":5,"status":"ok"}]"#) throws -> RecordedRun {
        let json = """
            {"environment":"dev","project":"p","outcome":"success","exit_code":0,"started_at":"2026-12-01T10:00:00Z",
             "seconds":1e300,"phases":\(phases),"services":\(services)}
            """
        let decoder = JSONOutput.decoder()
        return try decoder.decode(RecordedRun.self, from: Data(json.utf8))
    }

    @Test func aReportWithImpossibleTimesRendersAndFeedsNoHistory() throws {
        let run = try Self.run(
            """
            [{"name":"api","class":"core","state":"ready","retries":0,"started_at":-3,"ready_at":2,"seconds_to_ready":1e300},
             {"name":"db","class":"core","state":"ready","retries":0,"started_at":1e300,"ready_at":-1e300},
             {"name":"web","class":"core","state":"ready","retries":0,"started_at":1,"ready_at":1e300}]
            """, phases: #"[{"name":"start","seconds":1e300,"status":"ok"}]"#)
        #expect(run.seconds == 0 && run.phases.first?.seconds == 0)
        #expect(run.services.map(\.startedAt) == [nil, nil, 1])
        #expect(run.services.map(\.readyAt) == [2, nil, nil])
        #expect(run.services.first?.secondsToReady == nil)
        let lines = RunRenderer.report(run)
        #expect(lines.contains { $0.hasPrefix("web") })
        // Nothing of it reaches the readiness history that deadlines and warnings are computed from.
        #expect(ReadinessHistory(runs: [run, run, run]).stats("api") == nil)
        // Times within bounds that disagree (a start a week in, no start phase, nothing ready) stay on the axis.
        let late = try Self.run(#"[{"name":"api","class":"core","state":"failed","retries":0,"started_at":600000}]"#, phases: "[]")
        #expect(RunRenderer.report(late).allSatisfy { $0.count < 200 })
    }

    @Test func anEngineEventFromBeyond2262DecodesWithAnUnknownTime() throws {
        let event = try JSONDecoder().decode(
            EngineEvent.self,
            from: Data(
                #"{"Type":"container","Action":"start","Actor":{"ID":"x"},"time":10000000000}"#.utf8))
        #expect(event.action == "start" && event.timeNano == 0)
    }

    @Test func resourceFiguresFarOutsideAnythingRealStillReadAsWords() {
        var usage = ResourceUsage(cpuLimit: 0.5, memoryLimit: 1)
        usage.record(ResourceSample(cpuPeriods: 1, cpuThrottledPeriods: .max, memoryPeak: .max))
        #expect(usage.findings.count == 2)
        #expect(usage.findings.first?.contains("1000000 % of periods") == true)
        var maxed = ResourceUsage(memoryLimit: .max)
        maxed.record(ResourceSample(cpuPeriods: 0, cpuThrottledPeriods: 0, memoryPeak: .max))
        #expect(maxed.memoryPressed)
        #expect(maxed.suggestion(service: "api") != nil)
    }

    @Test func diskUsageSumsPastUInt64StayAtTheMaximum() throws {
        let huge = Int64.max
        let json = """
            {"LayersSize":\(huge),"Images":[],"Volumes":[],"BuildCache":[],
             "Containers":[{"SizeRw":\(huge),"State":"exited"},{"SizeRw":\(huge),"State":"exited"},{"SizeRw":\(huge),"State":"exited"}]}
            """
        let usage = DiskUsage(engine: try JSONDecoder().decode(SystemDataUsage.self, from: Data(json.utf8)))
        #expect(usage.category(.containers)?.size.bytes == .max)
        #expect(usage.prunableBase.bytes == .max)
    }

    @Test func defaultsNestedTenThousandDeepDoNotExhaustTheStack() {
        let deep = String(repeating: "${A:-", count: 10_000) + "x" + String(repeating: "}", count: 10_000)
        let result = Interpolation.substitute(deep) { _ in nil }
        #expect(
            result.hasPrefix("${A:-") && result.hasSuffix("x" + String(repeating: "}", count: 10_000 - Interpolation.deepestNesting - 1)))
        #expect(Interpolation.substitute("${A:-${B:-fallback}}") { _ in nil } == "fallback")
    }

    @Test func aServiceNamedTwiceIsAConfigurationError() {
        // Two keys that differ only by their YAML tag: the parser keeps both.
        do {
            _ = try ComposeModelReader.read(config: "services:\n  1: {image: a}\n  \"1\": {image: b}\n")
            Issue.record("a service defined twice was accepted")
        } catch {
            #expect("\(error.evidence)".contains("service `1` is defined twice"), "\(error)")
        }
    }
}
