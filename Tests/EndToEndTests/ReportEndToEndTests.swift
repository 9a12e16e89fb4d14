import Foundation
import LaunchKit
import Testing

/// The HTML report opened in a real browser (Debian's headless `chromium`) and the trace read by the
/// OpenTelemetry protobuf definitions (`opentelemetry-proto` from PyPI) and sent to a local OTLP/HTTP receiver.
/// `.ci/run` installs both; elsewhere these tests say what they need.
@Suite("Run reports as pages and traces, checked by a browser and an OTLP parser", .tags(.docker), .enabled(if: E2E.enabled))
struct ReportEndToEndTests {
    static let image = Busybox.image

    /// db → migrate → api (core, never healthy; prints markup and the generated secret) → worker (optional).
    static let failingStack = """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 250ms, timeout: 2s, retries: 3}
          migrate:
            image: \(image)
            command: ["sh", "-c", "echo migrated"]
            depends_on: {db: {condition: service_healthy}}
          api:
            image: \(image)
            environment: {DB_PASSWORD: "${DB_PASSWORD}"}
            command: ["sh", "-c", "echo \\"<script>alert(1)</script> connecting with $$DB_PASSWORD\\"; sleep 3600"]
            healthcheck: {test: ["CMD-SHELL", "echo 'not ready yet'; exit 1"], interval: 300ms, timeout: 2s, retries: 2}
            depends_on:
              db: {condition: service_healthy}
              migrate: {condition: service_completed_successfully}
          worker:
            image: \(image)
            command: ["sh", "-c", "sleep 3600"]
            depends_on: {api: {condition: service_healthy}}
        """

    static let profileExtra = """
        secrets:
          DB_PASSWORD: {length: 24}
        services: {core: [db, migrate, api], optional: [worker]}
        health: {retries: 0, stability: 1s}
        """

    @Test(
        .enabled(if: Browser.usable || E2E.required, "needs headless Chromium and opentelemetry-proto (see Browser.need)"),
        .timeLimit(.minutes(4)))
    func aFailedRunRendersInChromiumWithItsEvidenceAsTextAndItsTraceReachesACollector() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: Self.profileExtra, stack: Self.failingStack)
            let receiver = try OTLPReceiver()
            defer { receiver.stop() }
            let result = try await project.launch(
                ["demo", "--no-network", "--report-html", "r.html", "--trace-file", "t.json"],
                // Every OTEL_ variable that decides the export, whatever the suite's own environment says.
                environment: [
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
                    "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                ])
            #expect(result.status == 1, "\(result.all)")
            #expect(result.all.contains("wrote r.html") && result.all.contains("wrote t.json"), "\(result.all)")
            #expect(result.all.contains("trace sent to http://127.0.0.1:\(receiver.port)/v1/traces"), "\(result.all)")
            let secret = try #require(
                try project.read(".env.demo").split(separator: "\n").first { $0.hasPrefix("DB_PASSWORD=") }?.dropFirst(12))

            let page = try await Browser.render(project.root + "/r.html", screenshot: "report-failed")
            #expect(page.consoleMessages.isEmpty, "\(page.consoleMessages)")
            for service in ["db", "migrate", "api", "worker"] { #expect(page.dom.contains("data-service=\"\(service)\"")) }
            #expect(page.dom.contains("data-service=\"api\" data-state=\"failed\""))
            #expect(page.dom.contains("data-service=\"worker\" data-state=\"blocked\""))
            #expect(page.dom.contains("exit 1: not ready yet"), "the probe output")
            #expect(page.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; connecting with ***"))
            #expect(!page.dom.lowercased().contains("<script"))

            let file = try await OTLPCheck.spans(project.root + "/t.json")
            for name in ["launch demo", "plan", "create", "start", "db", "migrate", "api", "worker"] {
                #expect(file.contains { $0.name == name }, "span \(name)")
            }
            #expect(file.first { $0.name == "api" }?.error == true)
            #expect(file.first { $0.name == "db" }?.error == false)
            let received = try #require(receiver.bodies().first, "the collector received nothing: \(result.all)")
            #expect(Set(try await OTLPCheck.spans(received).map(\.spanId)) == Set(file.map(\.spanId)))

            // Later, from the run report: the same page.
            let later = try await project.launch(["report", "--html", "later.html"])
            #expect(later.status == 0, "\(later.all)")
            let again = try await Browser.render(project.root + "/later.html", screenshot: nil)
            #expect(again.dom.contains("data-service=\"api\" data-state=\"failed\""))
            for text in [try project.read("r.html"), try project.read("t.json"), try String(contentsOfFile: received, encoding: .utf8)] {
                #expect(!text.contains(String(secret)), "the generated secret leaked")
            }
        }
    }

    /// The console check can see something: a page that breaks its own Content-Security-Policy is reported.
    @Test(.enabled(if: Browser.usable || E2E.required, "needs headless Chromium (see Browser.need)"), .timeLimit(.minutes(2)))
    func theBrowserCheckSeesAConsoleMessageWhenThereIsOne() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("csp-\(UUID().uuidString.prefix(8)).html").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try """
        <!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>
        <body><script>console.log("ran")</script>page</body></html>
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let page = try await Browser.render(file, screenshot: nil)
        #expect(!page.consoleMessages.isEmpty, "a blocked inline script must show as a console message")
    }

    @Test(
        .enabled(if: Browser.usable || E2E.required, "needs headless Chromium and opentelemetry-proto (see Browser.need)"),
        .timeLimit(.minutes(3)))
    func aSuccessfulRunRendersWithEveryServiceReadyAndTheCriticalPath() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {core: [db, api]}\nhealth: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 250ms, timeout: 2s, retries: 3}
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let result = try await project.launch(["demo", "--no-network", "--report-html", "ok.html"])
            #expect(result.status == 0, "\(result.all)")
            let page = try await Browser.render(project.root + "/ok.html", screenshot: "report-success")
            #expect(page.consoleMessages.isEmpty, "\(page.consoleMessages)")
            #expect(page.dom.contains("data-service=\"db\" data-state=\"ready\""))
            #expect(page.dom.contains("data-service=\"api\" data-state=\"ready\""))
            #expect(page.dom.contains("Critical path"))
            #expect(page.dom.contains("<svg role=\"img\""), "the dependency graph")
        }
    }
}

/// Headless Chromium: the DOM it rendered, the console messages it logged, and a screenshot kept under
/// `.build/test-artifacts/` (or `$LAUNCH_TEST_ARTIFACTS`).
enum Browser {
    static let binary: String? = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(E2E.which).first
    static let usable = binary != nil && OTLPCheck.usable
    static let need =
        "needs headless Chromium and Python's opentelemetry-proto (Debian: apt-get install chromium; pip install opentelemetry-proto)"

    struct Page {
        var dom: String
        var consoleMessages: [String]
    }

    static func render(_ file: String, screenshot: String?) async throws -> Page {
        let chromium = try #require(binary, "\(need)")
        // A profile of its own: tests run in parallel, and Chromium instances would contend for one profile's lock.
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr",
            "--user-data-dir=\(profile)",
        ]
        let dumped = try await E2E.runner.run(Command(chromium, flags + ["--dump-dom", "file://" + file]))
        try #require(dumped.status == 0, "chromium: \(dumped.stderr)")
        let console = dumped.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        if let screenshot {
            let directory = ProcessInfo.processInfo.environment["LAUNCH_TEST_ARTIFACTS"] ?? E2E.packageRoot + "/.build/test-artifacts"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (suffix, size) in [("", "1100,1800"), ("-phone", "390,1600")] {
                _ = try await E2E.runner.run(
                    Command(
                        chromium,
                        flags + ["--screenshot=\(directory)/\(screenshot)\(suffix).png", "--window-size=\(size)", "file://" + file]))
            }
        }
        return Page(dom: dumped.stdout, consoleMessages: console)
    }
}

/// Tests/Scripts/otlp_check.py: the strict parse of an OTLP/JSON trace, its spans summarised.
enum OTLPCheck {
    static let usable: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import opentelemetry.proto.collector.trace.v1.trace_service_pb2"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    struct Span: Decodable {
        var name: String
        var spanId: String
        var parent: String
        var error: Bool
        enum CodingKeys: String, CodingKey { case name, spanId = "span_id", parent, error }
    }

    static func spans(_ file: String) async throws -> [Span] {
        let checked = try await E2E.runner.run(Command("python3", [E2E.packageRoot + "/Tests/Scripts/otlp_check.py", file]))
        try #require(checked.status == 0, "the OTLP parser refused \(file): \(checked.stderr)")
        struct Summary: Decodable { var spans: [Span] }
        return try JSONDecoder().decode(Summary.self, from: Data(checked.stdout.utf8)).spans
    }
}

/// Tests/Scripts/otlp_receiver.py on a loopback port, keeping what it receives (POSTs to `path`) in a temporary folder.
final class OTLPReceiver: Sendable {
    let directory: String
    let port: Int
    let process: Process

    init(path: String = "/v1/traces") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("otlp-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", E2E.packageRoot + "/Tests/Scripts/otlp_receiver.py", directory, path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var port: Int?
        for _ in 0..<200 where port == nil {
            port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) }
            if port == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let port else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Sockets.SocketError(errno: ETIMEDOUT)
        }
        self.port = port
    }

    func bodies() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory + "/" + $0 }
    }

    /// SIGKILL: a child of the test process inherits its blocked signals, so SIGTERM may never arrive.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
