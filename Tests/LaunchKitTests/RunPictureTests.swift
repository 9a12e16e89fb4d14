import Foundation
import Testing

@testable import LaunchKit

/// The HTML page and the OTLP trace of a run, from run reports launch wrote on a real engine
/// (Fixtures/run-reports: the quickstart succeeding, and a stack whose core `api` turns unhealthy while printing
/// `<script>` and `<b>` into its log and probe output).
@Suite("Run pictures and traces")
struct RunPictureTests {
    static func run(_ name: String) throws -> RecordedRun {
        let decoder = JSONOutput.decoder()
        var run = try decoder.decode(RecordedRun.self, from: Data(try Fixture.text("run-reports/\(name).json").utf8))
        run.id = "20261207T121743.963Z-\(name)"
        return run
    }

    @Test func theTimelineFindsTheCriticalPathAndLevels() throws {
        let success = RunTimeline(try Self.run("quickstart-success"))
        #expect(success.criticalPath == ["db", "migrate", "api", "worker"])
        #expect(success.levels == [["db"], ["migrate"], ["api"], ["worker"]])
        #expect(success.startOffset > 0)
        let failed = RunTimeline(try Self.run("core-unhealthy"))
        // The failed core service ends the path, not the optional one ready later.
        #expect(failed.criticalPath == ["db", "api"])
        let api = try #require(failed.lanes.first { $0.name == "api" })
        #expect(api.failed && api.ended != nil && api.ended! > api.started!)
        #expect(failed.lanes.first { $0.name == "worker" }?.started == nil)
        #expect(failed.lanes.last?.name == "worker", "services that never started come last")
    }

    @Test func thePageShowsEveryServiceAndTheFailureAsTextNeverAsMarkup() throws {
        let run = try Self.run("core-unhealthy")
        let page = RunPage.html(run)
        for service in ["db", "cache", "api", "worker"] { #expect(page.contains("data-service=\"\(service)\"")) }
        #expect(page.contains("data-service=\"api\" data-state=\"failed\""))
        #expect(page.contains("data-service=\"worker\" data-state=\"blocked\""))
        // What the container printed is escaped text: no element of its own.
        #expect(!page.lowercased().contains("<script"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.contains("exit 1: &lt;b&gt;not ready&lt;/b&gt;"))
        #expect(!page.contains("<b>not ready"))
        // Self-contained: nothing fetched, nothing run.
        #expect(page.contains("default-src 'none'"))
        #expect(!page.contains("src=") && !page.contains("href=") && !page.contains("@import"))
        #expect(page.contains("blocked by <code>api</code>"))
        #expect(page.contains("next: its healthcheck fails"))
    }

    @Test func hostileNamesAndEscapesCannotBreakOutOfTheirPlace() throws {
        var run = try Self.run("core-unhealthy")
        run.services[0].name = "db\"><img src=x onerror=alert(1)>"
        run.services[1].name = "cache\"\u{301} onmouseover=x"
        run.services[2].failure?.logTail = ["\u{1B}]0;owned\u{07}\u{1B}[31mred</pre><script>x()</script>"]
        run.error = "</pre><svg onload=alert(1)>"
        let page = RunPage.html(run)
        #expect(!page.contains("<img"))
        #expect(!page.lowercased().contains("<script"))
        #expect(!page.contains("<svg onload"))
        #expect(!page.contains("\u{1B}") && !page.contains("\u{07}"))
        #expect(page.contains("db&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        // A quote with a combining mark is one Character but still a quote: escaped all the same.
        #expect(page.contains("cache&quot;\u{301} onmouseover=x") && !page.contains("cache\"\u{301}"))
    }

    @Test func secretsAreRedactedBeforeTheyAreEscaped() throws {
        var run = try Self.run("core-unhealthy")
        run.services[2].failure?.logTail = ["password is a&b<c>", "token s3cr3t-token"]
        let redact = Redactor(values: ["a&b<c>", "s3cr3t-token"])
        let page = RunPage.html(run, redact: redact)
        #expect(!page.contains("s3cr3t-token") && !page.contains("a&amp;b&lt;c&gt;"))
        #expect(page.contains("password is ***"))
        let trace = try RunTrace.json(
            {
                var run = run; run.services[2].failure?.reason = "bad token s3cr3t-token"; return run
            }(), redact: redact)
        #expect(!trace.contains("s3cr3t-token"))
    }

    @Test func fiftyServicesStayWellUnderAMegabyte() throws {
        var run = try Self.run("core-unhealthy")
        let template = run.services[2]
        run.services = (0..<50).map { index in
            var service = template
            service.name = "service-with-a-long-name-\(index)"
            service.startedAt = Double(index) * 0.1
            service.dependsOn =
                index == 0 ? [] : [.init(service: "service-with-a-long-name-\(index / 2)", condition: "service_healthy", required: true)]
            service.failure?.logTail = (0..<20).map { "log line \($0) of service \(index) " + String(repeating: "x", count: 100) }
            return service
        }
        let page = RunPage.html(run, history: [try Self.run("quickstart-success")])
        #expect(page.utf8.count < 1_000_000, "\(page.utf8.count) bytes")
        #expect(RunTimeline(run).levels.count == 7)
    }

    @Test func historyComparesThisRunWithEarlierOnes() throws {
        let earlier = try Self.run("quickstart-success")
        var this = earlier
        this.id = "later"
        this.startedAt = earlier.startedAt.addingTimeInterval(60)
        this.services[0].secondsToReady = 9
        let page = RunPage.html(this, history: [this, earlier])
        #expect(page.contains("against the 1 earlier recorded run of demo"))
        #expect(page.contains("slower than p95"))
        #expect(RunPage.html(earlier, history: [earlier]).contains("No earlier run of demo is recorded"))
    }

    @Test func theTraceHasASpanPerPhaseAndServiceWithHexIdsAndErrorStatus() throws {
        let run = try Self.run("core-unhealthy")
        let request = RunTrace.request(run)
        let spans = try #require(request.resourceSpans.first?.scopeSpans.first?.spans)
        let ids = Set(spans.map(\.spanId))
        #expect(ids.count == spans.count)
        #expect(Set(spans.map(\.traceId)).count == 1)
        let hex = { (text: String, length: Int) in text.count == length && text.allSatisfy { $0.isHexDigit && !$0.isUppercase } }
        #expect(spans.allSatisfy { hex($0.traceId, 32) && hex($0.spanId, 16) })
        #expect(spans.filter { $0.parentSpanId == nil }.count == 1)
        #expect(spans.allSatisfy { $0.parentSpanId.map(ids.contains) ?? true })
        #expect(spans.allSatisfy { UInt64($0.endTimeUnixNano)! >= UInt64($0.startTimeUnixNano)! })
        let names = spans.map(\.name)
        for expected in ["launch demo", "plan", "preflight", "create", "start", "rollback", "db", "api", "cache", "worker", "readiness"] {
            #expect(names.contains(expected), "\(expected)")
        }
        let api = try #require(spans.first { $0.name == "api" })
        #expect(api.status?.code == 2)
        #expect(api.attributes.contains { $0.key == "launch.failure" && $0.value.stringValue == "unhealthy" })
        #expect(spans.first { $0.name == "db" }?.status == nil)
        #expect(spans.first { $0.name == "launch demo" }?.status?.code == 2)
        // The same run gives the same trace: ids come from the run, not from chance.
        #expect(try RunTrace.json(run) == RunTrace.json(run))
    }

    @Test func theCollectorIsConfiguredAsEveryOpenTelemetrySDKIs() throws {
        #expect(OTLPExport(environment: [:]) == nil)
        let base = try #require(OTLPExport(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"]))
        #expect(base.url.absoluteString == "http://collector:4318/v1/traces")
        #expect(base.timeout == .seconds(3) && base.unsupported == nil)
        let specific = try #require(
            OTLPExport(environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example/otlp",
                "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc, x-tenant = blue ,broken", "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
            ]))
        #expect(specific.url.absoluteString == "https://traces.example/otlp")
        #expect(specific.headers.map { "\($0.0)=\($0.1)" } == ["Authorization=Bearer abc", "x-tenant=blue"])
        #expect(specific.timeout == .milliseconds(500))
        #expect(OTLPExport(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]) == nil)
        #expect(OTLPExport(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"]) == nil)
        #expect(
            OTLPExport(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])?.unsupported
                != nil)
        #expect(OTLPExport.shown("https://user:pw@traces.example/v1/traces?key=1") == "https://traces.example/v1/traces")
    }

    @Test func aCollectorThatRefusesIsAWarningNamingIt() async throws {
        // Port 9 on loopback: nothing listens, the connection is refused; the export says so and where.
        let export = try #require(
            OTLPExport(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_TIMEOUT": "300"]))
        let warning = await export.send(try Self.run("quickstart-success"), redact: .none)
        #expect(warning?.contains("127.0.0.1:9") == true, "\(warning ?? "nil")")
    }

    /// A swarm run's page says where each service ran: beside its readiness in the table, and among a failure's facts.
    @Test func aSwarmRunsPageNamesTheNodes() throws {
        let swarm = """
            {"environment":"dev","project":"p","outcome":"failed","exit_code":1,"started_at":"2026-11-01T10:00:00Z","seconds":3,
             "phases":[{"name":"start","seconds":2,"status":"failed"}],
             "services":[{"name":"db","class":"core","state":"ready","retries":0,"started_at":0.1,"ready_at":1,"readiness":"healthcheck",
                          "nodes":["twonode-a"]},
                         {"name":"api","class":"core","state":"failed","retries":2,"started_at":1,"nodes":["twonode-b"],
                          "failure":{"failure":"exited(3)","reason":"exited with code 3","classification":"transient"}}]}
            """
        let run = try JSONOutput.decoder().decode(RecordedRun.self, from: Data(swarm.utf8))
        let page = RunPage.html(run)
        #expect(page.contains("ready: healthcheck on twonode-a"))
        #expect(page.contains("<dt>nodes</dt><dd>twonode-b</dd>"))
    }

    @Test func olderReportsWithoutTheNewFieldsStillRender() throws {
        let old = """
            {"environment":"dev","project":"p","outcome":"failed","exit_code":1,"started_at":"2026-11-01T10:00:00Z","seconds":3,
             "phases":[{"name":"start","seconds":2,"status":"failed"}],
             "services":[{"name":"db","class":"core","state":"failed","retries":0,"started_at":0.5,
               "failure":{"failure":"exited","reason":"exited with code 1","classification":"configuration"}}]}
            """
        let decoder = JSONOutput.decoder()
        let run = try decoder.decode(RecordedRun.self, from: Data(old.utf8))
        let page = RunPage.html(run)
        #expect(page.contains("data-service=\"db\" data-state=\"failed\""))
        #expect(page.contains("before 0.5.0"))
        #expect(RunTimeline(run).lanes.first?.ended == 2)
        #expect(!RunTrace.request(run).resourceSpans.isEmpty)
    }

    @Test func anOlderRunIsComparedWithTheRunsBeforeIt() throws {
        let base = try Self.run("quickstart-success")
        func run(_ id: String, minutes: Double, db: Double) -> RecordedRun {
            var run = base
            run.id = id
            run.startedAt = base.startedAt.addingTimeInterval(minutes * 60)
            run.services[0].secondsToReady = db
            return run
        }
        let oldest = run("a", minutes: 0, db: 1), middle = run("b", minutes: 1, db: 9), newest = run("c", minutes: 2, db: 1)
        let page = RunPage.html(middle, history: [newest, middle, oldest])
        #expect(page.contains("against the 1 earlier recorded run of demo"), "only the run before it counts")
        #expect(page.contains("slower than p95"))
    }

    @Test func phasesBeginWhereTheReportSaysAndTheCriticalPathFollowsStartedEdges() throws {
        var run = try Self.run("quickstart-success")
        run.phases = [
            .init(name: "plan", seconds: 1, status: "ok", began: 0), .init(name: "create", seconds: 1, status: "ok", began: 3),
            .init(name: "start", seconds: 5, status: "ok", began: 4.5),
        ]
        let timeline = RunTimeline(run)
        #expect(timeline.phases.map(\.begin) == [0, 3, 4.5])
        #expect(timeline.startOffset == 4.5)
        // worker waits for api only to have started: api gates it once it runs, not once it is ready.
        run.services[3].dependsOn = [.init(service: "api", condition: "service_started", required: true)]
        run.services[3].startedAt = (run.services[2].startedAt ?? 0) + (run.services[2].engineStartSeconds ?? 0) + 0.0005
        #expect(RunTimeline(run).criticalPath == ["db", "migrate", "api", "worker"])
    }

    @Test func anEditedReportCannotBreakTheTrace() throws {
        var run = try Self.run("quickstart-success")
        run.startedAt = Date(timeIntervalSince1970: 9e18)
        run.services.append(run.services[0])  // the same name twice
        let spans = try #require(RunTrace.request(run).resourceSpans.first?.scopeSpans.first?.spans)
        #expect(Set(spans.map(\.spanId)).count == spans.count)
        #expect(spans.allSatisfy { UInt64($0.startTimeUnixNano) != nil })
    }
}
