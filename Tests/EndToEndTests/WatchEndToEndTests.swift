import Foundation
import LaunchKit
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `launch watch` against a real engine: a killed service diagnosed and back, a crash the engine's policy restarts,
/// an unhealthy one with its probe output, every change to `--on-change` and `--webhook`, metrics scraped by a real
/// Prometheus, and a restart budget that runs out.
@Suite("launch watch against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct WatchEndToEndTests {
    static let image = Busybox.image

    /// db crashes (exit 3) when /tmp/crash appears and the engine's policy restarts it; api's healthcheck prints why it
    /// fails; worker has no healthcheck and no restart policy.
    static func stack() -> String {
        """
        services:
          db:
            image: \(image)
            restart: on-failure
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; while [ ! -f /tmp/crash ]; do sleep 0.1; done; rm /tmp/crash; echo db crashing now; exit 3"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 2, start_period: 10s}
          api:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: {test: ["CMD-SHELL", "cat /tmp/ok || (echo api is not answering; exit 1)"], interval: 250ms, timeout: 5s, retries: 2, start_period: 10s}
            depends_on: {db: {condition: service_healthy}}
          worker:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; echo worker polling; sleep 3600 & wait"]
            depends_on: {api: {condition: service_healthy}}
        """
    }

    @Test func changesAreDiagnosedRecoveriesTimedAndEveryChangeNotifiedAndScraped() async throws {
        guard let prometheus = E2E.which("prometheus") else {
            #expect(!E2E.required, "prometheus is not installed (Debian's `prometheus` package)")
            return
        }
        try await E2E.withProject { project in
            try project.writeProfile(extra: "services: {optional: [worker]}\nhealth: {stability: 1s}", stack: Self.stack())
            let up = try await project.launch(["demo"])
            try #require(up.status == 0, "\(up.all)")
            let receiver = try OTLPReceiver(path: "/hook")
            defer { receiver.stop() }
            let hooked = project.root + "/on-change.jsonl"
            let watch = try WatchedLaunch(
                project,
                [
                    "watch", "demo", "--json", "--metrics", "127.0.0.1:0", "--webhook", "http://127.0.0.1:\(receiver.port)/hook",
                    "--on-change", "cat >> '\(hooked)'",
                ])
            defer { watch.stop() }
            let metricsAddress = try #require(await watch.stderrMatch(#/metrics at http://([0-9.:]+)/metrics/#), "\(watch.stderr)")
            #expect(await watch.waitFor { $0.filter { $0["event"] as? String == "initial" }.count == 3 }, "\(watch.stdout)")

            // Killed: reported with its diagnosis, then back (started by hand) with the time it was down.
            _ = try await E2E.docker(["kill", "\(project.name)-worker-1"])
            let killedAt = Date()
            let loss = await watch.first { $0["service"] as? String == "worker" && $0["to"] as? String == "exited" }
            let lossSeen = Date()
            let lost = try #require(loss, "\(watch.stdout)\n\(watch.stderr)")
            #expect(lost["exit_code"] as? Int == 137)
            #expect(lost["from"] as? String == "ready")
            let diagnosis = try #require(lost["diagnosis"] as? [String: Any], "\(lost)")
            #expect((diagnosis["log_tail"] as? [String])?.contains("worker polling") == true, "\(diagnosis)")
            #expect((diagnosis["next_step"] as? String)?.contains("SIGKILL") == true)
            print(
                "watch: a killed service was reported \(String(format: "%.2f", lossSeen.timeIntervalSince(killedAt)))s after `docker kill` returned"
            )
            _ = try await E2E.docker(["start", "\(project.name)-worker-1"])
            let back = try #require(
                await watch.first {
                    $0["service"] as? String == "worker" && $0["to"] as? String == "ready" && $0["event"] as? String == "change"
                })
            #expect((back["down_seconds"] as? Double ?? 0) > 0.5, "\(back)")

            // A crash the engine's policy restarts: the loss with the crash's last line, the recovery.
            _ = try await E2E.docker(["exec", "\(project.name)-db-1", "touch", "/tmp/crash"])
            let crash = try #require(await watch.first { $0["service"] as? String == "db" && $0["from"] as? String == "ready" })
            #expect(["restarting", "exited", "starting"].contains(crash["to"] as? String ?? ""), "\(crash)")
            let crashDiagnosis = crash["diagnosis"] as? [String: Any]
            #expect((crashDiagnosis?["log_tail"] as? [String])?.contains("db crashing now") == true, "\(crash)")
            let recovered = try #require(
                await watch.first { $0["service"] as? String == "db" && $0["to"] as? String == "ready" && $0["down_seconds"] != nil })
            #expect((recovered["engine_restarts"] as? Int ?? 0) >= 1, "\(recovered)")

            // Unhealthy: the probe's own words.
            _ = try await E2E.docker(["exec", "\(project.name)-api-1", "rm", "/tmp/ok"])
            let sick = try #require(await watch.first { $0["service"] as? String == "api" && $0["to"] as? String == "unhealthy" })
            let probes = (sick["diagnosis"] as? [String: Any])?["probes"] as? [String] ?? []
            #expect(probes.contains { $0.contains("api is not answering") }, "\(sick)")

            // A real Prometheus scrapes the endpoint: db is up, and its restart was counted.
            let scraped = try await Self.scrape(prometheus, target: String(metricsAddress.1), directory: project.root) { query in
                let up = try await query("launch_service_up{service=\"db\"}")
                let restarts = try await query("launch_service_restarts_total{service=\"db\"}")
                return up == 1 && (restarts ?? 0) >= 1
            }
            #expect(scraped, "Prometheus never saw launch_service_up{service=\"db\"} 1 with a restart")

            // Ctrl-C: watching ends with 0, the stack stays.
            let status = await watch.interrupt()
            #expect(status == 0, "\(watch.stderr)")
            #expect(watch.stderr.contains("the stack keeps running"))
            #expect(await E2E.isRunning("\(project.name)-db-1"))

            // Every change reached the command and the webhook, as the same JSON; no initial state did.
            let changes = watch.events.filter { $0["event"] as? String != "initial" }
            let commandGot = (try? String(contentsOfFile: hooked, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            let delivered = await E2E.eventually(within: .seconds(20)) { receiver.bodies().count >= changes.count }
            #expect(delivered, "\(receiver.bodies().count) of \(changes.count)")
            let webhookGot = receiver.bodies().compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            #expect(commandGot.count == changes.count, "\(commandGot)")
            #expect(Set(commandGot) == Set(webhookGot))
            #expect(Set(commandGot) == Set(watch.rawEvents.filter { !$0.contains("\"event\":\"initial\"") }))
            #expect(webhookGot.allSatisfy { $0.contains("\"text\":") })
        }
    }

    @Test func aRestartBudgetRunsOutAndWatchingExitsNamingIt() async throws {
        try await E2E.withProject { project in
            // Healthy within a second, then it exits: always, after every restart.
            try project.writeProfile(
                extra: "watch: {restart: [api], max: 2, window: 10m, backoff: 200ms}",
                stack: """
                    services:
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "touch /tmp/ok; sleep 2; echo api gave out; exit 1"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 2, start_period: 10s}
                    """)
            let hooked = project.root + "/on-change.jsonl"
            let watch = try WatchedLaunch(project, ["demo", "--watch", "--json", "--on-change", "cat >> '\(hooked)'"])
            defer { watch.stop() }
            let status = await watch.exit(within: .seconds(90))
            #expect(status == 5, "\(watch.stdout)\n\(watch.stderr)")
            #expect(watch.stderr.contains("watch.max: 2"), "\(watch.stderr)")
            let kinds = watch.events.compactMap { $0["event"] as? String }
            #expect(kinds.filter { $0 == "restart" }.count == 2, "\(kinds)")
            #expect(kinds.last == "gave-up", "\(kinds)")
            let losses = watch.events.filter { $0["to"] as? String == "exited" && $0["diagnosis"] != nil }
            #expect(losses.contains { (($0["diagnosis"] as? [String: Any])?["log_tail"] as? [String])?.contains("api gave out") == true })
            let commandGot = (try? String(contentsOfFile: hooked, encoding: .utf8))?.split(separator: "\n").count ?? 0
            #expect(commandGot == watch.events.filter { $0["event"] as? String != "initial" }.count)
        }
    }

    /// The event stream drops (a proxy in front of the engine is cut) and a service is killed while it is down: once
    /// the engine answers again, watching says so, reads every service again, and reports the change it did not see
    /// as an event. SIGTERM then ends it with 0, as systemd expects.
    @Test func aChangeWhileTheStreamIsDownIsReportedOnceItIsBackAndSIGTERMEndsWatching() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "services: {optional: [worker]}\nhealth: {stability: 1s}", stack: Self.stack())
            let up = try await project.launch(["demo"])
            try #require(up.status == 0, "\(up.all)")
            let port = try Sockets.freePort()
            let socket = EndpointEndToEndTests.suiteSocket
            var proxy = try Forwarder(listen: .tcp(port: port), to: socket)
            defer { proxy.stop() }
            let watch = try WatchedLaunch(project, ["watch", "demo", "--json", "-H", "tcp://127.0.0.1:\(port)"])
            defer { watch.stop() }
            #expect(await watch.waitFor { $0.filter { $0["event"] as? String == "initial" }.count == 3 }, "\(watch.all)")
            proxy.stop()
            #expect(await E2E.eventually(within: .seconds(30)) { watch.stderr.contains("lost the engine's event stream") }, "\(watch.all)")
            _ = try await E2E.docker(["kill", "\(project.name)-worker-1"])
            proxy = try Forwarder(listen: .tcp(port: port), to: socket)
            let missed = try #require(
                await watch.first { $0["service"] as? String == "worker" && $0["to"] as? String == "exited" }, "\(watch.all)")
            #expect(missed["from"] as? String == "ready")
            #expect(watch.stderr.contains("the engine answers again"), "\(watch.stderr)")
            kill(watch.process.processIdentifier, SIGTERM)
            #expect(await watch.exit(within: .seconds(20)) == 0, "\(watch.stderr)")
        }
    }

    /// Starts Prometheus on a loopback port, scraping `target` every second, and asks its API until `check` holds
    /// (or 30 s pass). `query` answers a PromQL expression's single value, nil when it has none yet.
    static func scrape(
        _ prometheus: String, target: String, directory: String,
        check: (_ query: (String) async throws -> Double?) async throws -> Bool
    ) async throws -> Bool {
        let port = try Sockets.freePort()
        let config = directory + "/prometheus.yml"
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: launch
            static_configs: [{targets: ["\(target)"]}]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prometheus)
        process.arguments = [
            "--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.path=\(directory)/prometheus-data",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        func query(_ expression: String) async throws -> Double? {
            var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")
            components?.queryItems = [URLQueryItem(name: "query", value: expression)]
            guard let url = components?.url, let (data, _) = try? await URLSession.shared.data(from: url),
                // Until it is ready, Prometheus answers in plain text.
                let body = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let result = (body["data"] as? [String: Any])?["result"] as? [[String: Any]], let first = result.first,
                let value = first["value"] as? [Any], value.count == 2, let text = value[1] as? String
            else { return nil }
            return Double(text)
        }
        return try await E2E.eventually(within: .seconds(30)) { try await check(query) }
    }
}

/// `launch` running in the background with its stdout (JSON Lines) and stderr collected as they arrive.
final class WatchedLaunch: Sendable {
    let process: Process
    private let out = TextBuffer()
    private let err = TextBuffer()

    final class TextBuffer: Sendable {
        private let text = Mutex("")
        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var value: String { text.withLock { $0 } }
    }

    init(_ project: TestProject, _ arguments: [String]) throws {
        let stdout = Pipe()
        let stderr = Pipe()
        process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.launchBinary)
        process.arguments = arguments + ["--project-dir", project.root]
        var environment = ProcessInfo.processInfo.environment
        environment["CI"] = "true"
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr
        stdout.fileHandleForReading.readabilityHandler = { [out] handle in out.append(handle.availableData) }
        stderr.fileHandleForReading.readabilityHandler = { [err] handle in err.append(handle.availableData) }
        try process.run()
    }

    var stdout: String { out.value }
    var stderr: String { err.value }
    var all: String { stdout + "\n" + stderr }
    /// The complete JSON lines written so far.
    var rawEvents: [String] { stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{\"") && $0.hasSuffix("}") } }
    var events: [[String: Any]] {
        rawEvents.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "watch-event" }
    }

    func waitFor(within limit: Duration = .seconds(60), _ condition: ([[String: Any]]) -> Bool) async -> Bool {
        await E2E.eventually(within: limit) { condition(events) }
    }

    /// The first event (so far or to come) that matches.
    func first(within limit: Duration = .seconds(60), _ match: ([String: Any]) -> Bool) async -> [String: Any]? {
        guard await waitFor(within: limit, { $0.contains(where: match) }) else { return nil }
        return events.first(where: match)
    }

    func stderrMatch(_ pattern: Regex<(Substring, Substring)>) async -> (Substring, Substring)? {
        guard await E2E.eventually(within: .seconds(60), { stderr.firstMatch(of: pattern) != nil }) else { return nil }
        return stderr.firstMatch(of: pattern).map { ($0.output.0, $0.output.1) }
    }

    func interrupt() async -> Int32? {
        process.interrupt()
        return await exit(within: .seconds(20))
    }

    func exit(within limit: Duration) async -> Int32? {
        guard await E2E.eventually(within: limit, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
