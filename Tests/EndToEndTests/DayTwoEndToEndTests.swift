import Foundation
import LaunchKit
import Testing

/// Onboarding and day two against a real engine: first-run, reset, status/logs/down, reports, breaker, lock.
@Suite("first-run and day two against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct DayTwoEndToEndTests {
    static let image = Busybox.image

    /// db (healthy, with a volume) and api (uses the secret) — the secret is echoed into the logs on purpose,
    /// so the test can prove it is redacted everywhere.
    static func stack() -> String {
        """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; echo db up; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 10s}
            volumes: [data:/data]
          api:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; echo \\"connecting with token $$API_TOKEN\\"; touch /tmp/ok; sleep 3600 & wait"]
            environment: {API_TOKEN: "${API_TOKEN}"}
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 10s}
            depends_on: {db: {condition: service_healthy}}
        volumes: {data: {}}
        """
    }

    static func writeProject(_ project: TestProject) throws {
        try project.writeProfile(
            extra:
                "secrets: {API_TOKEN: {length: 32}, DB_PASSWORD: {length: 24}}\nhealth: {retries: 0}\nurls: {API: \"http://localhost:1\"}",
            stack: stack())
        try project.write("environments/first-run.yml", "name: first-run\nextends: demo\nsummary: onboarding\n")
    }

    func secrets(_ project: TestProject) throws -> [String] {
        let values = EnvFile(parsing: try project.read(".env.demo")).values
        return [values["API_TOKEN"], values["DB_PASSWORD"]].compactMap { $0 }
    }

    func names(_ kind: [String], _ project: String) async throws -> [String] {
        try await E2E.docker(kind + ["--filter", "label=com.docker.compose.project=\(project)"]).stdout
            .split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    @Test func firstRunOnACleanProjectThenRefusalThenResetWithANeighbourSurviving() async throws {
        try await E2E.withProject { project in
            try await E2E.withProject { neighbour in
                try Self.writeProject(project)
                try Self.writeProject(neighbour)
                // The neighbour's stack and volume must survive our reset.
                let neighbourUp = try await neighbour.launch(["demo"])
                #expect(neighbourUp.status == 0, "\(neighbourUp.stderr)")

                let first = try await project.launch(["first-run"])
                #expect(first.status == 0, "\(first.stderr)")
                #expect(AtomicFile.mode(of: project.root + "/.env.demo") == 0o600)
                let original = try secrets(project)
                #expect(original.count == 2)
                #expect(first.stderr.contains("Welcome aboard"))
                #expect(first.stderr.contains(".env.demo (mode 0600, git-ignored) holds API_TOKEN, DB_PASSWORD"))
                // Ready on its own check (launch's probe, or the engine's verdict); the engine's status may lag.
                let health = try await E2E.docker(["inspect", "--format", "{{.State.Health.Status}}", "\(project.name)-api-1"])
                #expect(health.stdout.hasPrefix("healthy") || health.stdout.hasPrefix("starting"))

                let again = try await project.launch(["first-run"])
                #expect(again.status == 64)
                #expect(again.stderr.contains("already set up"))
                #expect(again.stderr.contains("volume \(project.name)_data"))
                #expect(again.stderr.contains("--reset"))

                let unconfirmed = try await project.launch(["first-run", "--reset"])
                #expect(unconfirmed.status == 64)
                #expect(unconfirmed.stderr.contains("no terminal to ask on"))
                #expect(try await names(["ps", "-aq"], project.name).count == 2)  // nothing was removed

                // A marker in the old volume: after the reset the volume is new, so the marker is gone.
                let mark = try await E2E.docker(["run", "--rm", "-v", "\(project.name)_data:/data", Self.image, "touch", "/data/marker"])
                #expect(mark.status == 0)
                let reset = try await project.launch(["first-run", "--reset", "--yes"])
                #expect(reset.status == 0, "\(reset.stderr)")
                #expect(reset.stderr.contains("container \(project.name)-db-1"))
                let renewed = try secrets(project)
                #expect(renewed.count == 2 && Set(renewed).isDisjoint(with: original))
                let backups = try FileManager.default.contentsOfDirectory(atPath: project.root).filter { $0.hasPrefix(".env.demo.backup-") }
                #expect(backups.count == 1)
                if let backup = backups.first {
                    #expect(AtomicFile.mode(of: project.root + "/" + backup) == 0o600)
                    #expect(try project.read(backup).contains(original[0]))
                }
                let marker = try await E2E.docker([
                    "run", "--rm", "-v", "\(project.name)_data:/data", Self.image, "test", "-f", "/data/marker",
                ])
                #expect(marker.status == 1)
                // The neighbour is untouched.
                #expect(try await names(["ps", "-q", "--filter", "status=running"], neighbour.name).count == 2)
                #expect(try await names(["volume", "ls", "-q"], neighbour.name) == ["\(neighbour.name)_data"])

                // No output or report ever contains a secret value.
                let reports = try FileManager.default.contentsOfDirectory(atPath: project.root + "/.launch/runs")
                var everything = first.all + again.all + unconfirmed.all + reset.all
                for report in reports { everything += try project.read(".launch/runs/" + report) }
                for secret in original + renewed { #expect(!everything.contains(secret)) }
            }
        }
    }

    @Test func statusLogsAndDownOnARunningStack() async throws {
        try await E2E.withProject { project in
            try Self.writeProject(project)
            let up = try await project.launch(["demo"])
            #expect(up.status == 0, "\(up.stderr)")

            let status = try await project.launch(["status", "demo", "--json"])
            #expect(status.status == 0)
            let rows = try #require(
                ((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["environments"]
                    as? [[String: Any]])?.first?["services"] as? [[String: Any]])
            #expect(rows.map { $0["service"] as? String } == ["api", "db"])
            // launch counted them ready when their own check passed (its probe); the engine's status catches up at
            // its next interval, so right after the launch it may still say "starting" — never "unhealthy".
            #expect(
                rows.allSatisfy { $0["state"] as? String == "running" && ["healthy", "starting"].contains($0["health"] as? String ?? "") })
            let table = try await project.launch(["status", "demo"])
            #expect(table.stdout.contains("api") && (table.stdout.contains("healthy") || table.stdout.contains("starting")))

            let logs = try await project.launch(["logs", "demo", "api"])
            #expect(logs.status == 0)
            #expect(logs.stdout.contains("api | connecting with token ***"))
            let token = try #require(EnvFile(parsing: try project.read(".env.demo")).values["API_TOKEN"])
            #expect(!logs.all.contains(token))
            let direct = try await E2E.docker(["logs", "\(project.name)-api-1"])
            #expect(direct.stdout.contains(token))  // the secret really is in the raw log: redaction did the work

            let down = try await project.launch(["down", "demo"])
            #expect(down.status == 0)
            #expect(try await names(["ps", "-aq"], project.name).isEmpty)
            #expect(try await names(["volume", "ls", "-q"], project.name) == ["\(project.name)_data"])
            let volumes = try await project.launch(["down", "demo", "--volumes", "--yes"])
            #expect(volumes.status == 0)
            #expect(try await names(["volume", "ls", "-q"], project.name).isEmpty)
        }
    }

    @Test func reportsRecordPhasesAndPerServiceTimes() async throws {
        try await E2E.withProject { project in
            try Self.writeProject(project)
            let up = try await project.launch(["demo"])
            #expect(up.status == 0)
            let runs = try FileManager.default.contentsOfDirectory(atPath: project.root + "/.launch/runs")
            #expect(runs.count == 1)
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(try project.read(".launch/runs/" + runs[0]).utf8)) as? [String: Any])
            #expect(
                (report["phases"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [
                    "plan", "preflight", "env", "cleanup", "images", "create", "start",
                ])
            let services = try #require(report["services"] as? [[String: Any]])
            for service in services {
                let started = try #require(service["started_at"] as? Double)
                let ready = try #require(service["ready_at"] as? Double)
                #expect(ready >= started)
            }
            let db = try #require(services.first { $0["name"] as? String == "db" })
            let api = try #require(services.first { $0["name"] as? String == "api" })
            #expect((api["started_at"] as? Double ?? 0) >= (db["ready_at"] as? Double ?? .infinity))

            let history = try await project.launch(["history"])
            #expect(history.stdout.contains("demo") && history.stdout.contains("success"))
            let waterfall = try await project.launch(["report"])
            #expect(waterfall.stdout.contains("db"))
            #expect(waterfall.stdout.contains("█"))
        }
    }

    @Test func threeIdenticalFailuresTripTheBreakerAndForcePassesIt() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0}",
                stack: """
                    services:
                      broken:
                        image: \(Self.image)
                        command: ["sh", "-c", "echo cannot start; exit 7"]
                        healthcheck: {test: ["CMD", "test", "-f", "/nonexistent"], interval: 1s, start_period: 10s}
                    """)
            for _ in 0..<3 {
                let run = try await project.launch(["demo"])
                #expect(run.status == 1)
            }
            let refused = try await project.launch(["demo"])
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("the last 3 launches within the hour failed the same way"))
            #expect(refused.stderr.contains("in common: broken:exited(7)"))
            let forced = try await project.launch(["demo", "--force"])
            #expect(forced.status == 1)  // it ran (and failed again), instead of being refused
            #expect(forced.stderr.contains("broken"))
        }
    }

    @Test func aLockLeftBySIGKILLIsClearedByTheNextLaunch() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0}",
                stack: """
                    services:
                      slow:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 30; touch /tmp/ok; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 60s}
                    """)
            let process = try project.spawn(["demo"])
            // Keyed by engine and compose project, in the user's own lock directory (not in the checkout).
            let environment = ProcessInfo.processInfo.environment
            let engine = try EngineEndpoint.resolve(environment: environment)
            let lock = ProjectLock.path(engine: engine, project: project.name, environment: environment)
            #expect(await E2E.eventually { FileManager.default.fileExists(atPath: lock) })
            // While it runs, a second launch is refused and names it.
            let second = try await project.launch(["demo"])
            #expect(second.status == 4)
            #expect(second.stderr.contains("pid \(process.processIdentifier)"))

            // Killed while it waits for slow, not while its own `docker compose` child still creates: that child
            // would outlive it and race the next launch.
            #expect(await E2E.eventually { await E2E.isRunning("\(project.name)-slow-1") })
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(FileManager.default.fileExists(atPath: lock))
            try project.writeProfile(
                extra: "health: {retries: 0}",
                stack: """
                    services:
                      slow:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 60s}
                    """)
            let next = try await project.launch(["demo"])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(next.stderr.contains("cleared a stale lock left by pid \(process.processIdentifier)"))
            // Released: the lock file is gone (a killed holder's stays, with its record, as above), and another
            // launch may take it.
            #expect(!FileManager.default.fileExists(atPath: lock))
        }
    }

    /// `down --volumes` removes the project's volumes and the anonymous ones, and says so; a volume the project only
    /// uses (`external: true`) stays with its data, and is reported as kept, never as removed.
    /// A `.launch/runs` that is a file (or a full, read-only `.launch/`) cannot take the run report: the launch is
    /// what it was, and says so instead of skipping the report without a word.
    @Test func aRunReportThatCannotBeSavedIsSaid() async throws {
        try await E2E.withProject { project in
            try Self.writeProject(project)
            try project.write(".launch/runs", "a file where the directory should be\n")
            let up = try await project.launch(["demo", "--no-network"])
            #expect(up.status == 0, "\(up.all)")
            #expect(up.stderr.contains("this run's report was not saved (cannot "), "\(up.stderr)")
            #expect(!up.stderr.contains("report: launch"), "\(up.stderr)")
        }
    }

    @Test func downVolumesClaimsOnlyWhatItRemoved() async throws {
        try await E2E.withProject { project in
            let external = "\(project.name)-external"
            _ = try await E2E.docker(["volume", "create", external])
            try await EndpointEndToEndTests.ensuring(
                {
                    try project.writeProfile(
                        extra: "health: {retries: 0, stability: 1s}",
                        stack: """
                            services:
                              db:
                                image: \(Busybox.image)
                                command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                                volumes: ["shared:/shared", "/scratch", "own:/own"]
                            volumes:
                              shared: {external: true, name: \(external)}
                              own: {}
                            """)
                    let up = try await project.launch(["demo", "--no-network"])
                    #expect(up.status == 0, "\(up.all)")
                    let down = try await project.launch(["down", "demo", "-v", "--yes", "--json"])
                    #expect(down.status == 0, "\(down.all)")
                    let report = try #require(try JSONSerialization.jsonObject(with: Data(down.stdout.utf8)) as? [String: Any])
                    let removed = report["removed_volumes"] as? [String] ?? [], kept = report["kept_volumes"] as? [String] ?? []
                    #expect(removed.contains("\(project.name)_own") && removed.count == 2, "\(report)")  // its own and the anonymous one
                    #expect(!removed.contains(external) && kept.contains(external), "\(report)")
                    let still = try await E2E.docker(["volume", "inspect", external])
                    #expect(still.status == 0, "the external volume must stay")
                },
                cleanup: { _ = try? await E2E.docker(["volume", "rm", "-f", external]) })
        }
    }

    /// Four profiles of different projects share one env file; four `launch env` at once: one set of secrets, one
    /// `created`, nothing generated twice.
    @Test func concurrentEnvCompletionsOfOneSharedFileAgree() async throws {
        try await E2E.withProject { project in
            try project.write("compose/stack.yml", "services:\n  app:\n    image: \(Busybox.image)\n")
            let names = ["a", "b", "c", "d"]
            for name in names {
                try project.write(
                    "environments/\(name).yml",
                    """
                    name: \(name)
                    compose: {project: \(project.name)-\(name), files: [stack.yml]}
                    env_file: .env.shared
                    secrets: {DB_PASSWORD: {length: 24}, API_KEY: {length: 32}}
                    """)
            }
            let results = try await withThrowingTaskGroup(of: E2E.Result.self) { group in
                for name in names { group.addTask { try await project.launch(["env", name, "--json"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.all))")
            let created = results.filter { $0.stdout.contains("\"created\" : true") }
            #expect(created.count == 1, "\(results.map(\.stdout))")
            let file = try project.read(".env.shared")
            for key in ["DB_PASSWORD", "API_KEY"] {
                #expect(file.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.count == 1, "\(file)")
            }
        }
    }
}
