import Foundation
import LaunchKit
import Testing

/// `restart`, `stop`, `start`, `exec`, `config`, a registry that does not answer, and a suite that leaves no
/// image behind — the real binary against a real engine, one compose project per test.
@Suite("per-service commands against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ServiceCommandsEndToEndTests {
    static let image = Busybox.image
    static let probe = #"{test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 10s}"#

    /// db → api (uses the secret) → worker (optional, restarts with api).
    static func stack(apiMode: String = "one") -> String {
        """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: \(probe)
          api:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; echo api up; touch /tmp/ok; sleep 3600 & wait"]
            environment: {API_TOKEN: "${API_TOKEN}", MODE: "\(apiMode)"}
            healthcheck: \(probe)
            depends_on: {db: {condition: service_healthy}}
          worker:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; echo worker up; sleep 3600 & wait"]
            depends_on: {api: {condition: service_healthy, restart: true}}
        """
    }

    static func up(_ project: TestProject) async throws {
        try project.writeProfile(
            extra: "secrets: {API_TOKEN: {length: 32}}\nservices: {optional: [worker]}\nhealth: {retries: 0, stability: 500ms}",
            stack: stack())
        let up = try await project.launch(["demo", "--no-cleanup"])
        try #require(up.status == 0, "\(up.stderr)")
    }

    func inspect(_ container: String, _ format: String) async throws -> String {
        try await E2E.docker(["inspect", "--format", format, container]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func restartOfOneServiceLeavesTheOthersAloneAndWaitsUntilItIsReady() async throws {
        try await E2E.withProject { project in
            try await Self.up(project)
            let db = "\(project.name)-db-1", api = "\(project.name)-api-1", worker = "\(project.name)-worker-1"
            let dbBefore = try await inspect(db, "{{.Id}} {{.State.StartedAt}}")
            let apiBefore = try await inspect(api, "{{.Id}} {{.State.StartedAt}}")
            let workerBefore = try await inspect(worker, "{{.State.StartedAt}}")

            let restart = try await project.launch(["restart", "demo", "api", "--json"])
            #expect(restart.status == 0, "\(restart.stderr)")
            let outcome = try #require(try JSONSerialization.jsonObject(with: Data(restart.stdout.utf8)) as? [String: Any])
            let services = (outcome["services"] as? [[String: Any]]) ?? []
            #expect(services.map { $0["name"] as? String } == ["api", "worker"])  // worker has restart: true
            #expect(services.allSatisfy { $0["state"] as? String == "ready" })
            #expect(services.first?["action"] as? String == "restarted")
            // Ready means its own check passed: the engine says so too once it has run that check itself.
            #expect(try await E2E.engineHealth(api) == "healthy")
            #expect(try await inspect(db, "{{.Id}} {{.State.StartedAt}}") == dbBefore, "db was touched")
            let apiAfter = try await inspect(api, "{{.Id}} {{.State.StartedAt}}")
            #expect(apiAfter.split(separator: " ").first == apiBefore.split(separator: " ").first, "unchanged api was recreated")
            #expect(apiAfter != apiBefore, "api was not restarted")
            #expect(try await inspect(worker, "{{.State.StartedAt}}") != workerBefore, "worker (restart: true) did not follow")

            // A changed configuration is recreated, not restarted.
            try project.write("compose/stack.yml", Self.stack(apiMode: "two"))
            let recreate = try await project.launch(["restart", "demo", "api"])
            #expect(recreate.status == 0, "\(recreate.stderr)")
            #expect(recreate.stderr.contains("recreated"), "\(recreate.stderr)")
            #expect(try await inspect(api, "{{.Id}}") != String(apiAfter.split(separator: " ").first ?? ""))
            #expect(try await inspect(api, "{{range .Config.Env}}{{println .}}{{end}}").contains("MODE=two"))
            #expect(try await inspect(db, "{{.Id}} {{.State.StartedAt}}") == dbBefore, "db was touched")

            let unknown = try await project.launch(["restart", "demo", "apu"])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("did you mean `api`?"))
        }
    }

    @Test func stopAndStartAnOptionalService() async throws {
        try await E2E.withProject { project in
            try await Self.up(project)
            let worker = "\(project.name)-worker-1", api = "\(project.name)-api-1"
            let apiStarted = try await inspect(api, "{{.State.StartedAt}}")
            let stop = try await project.launch(["stop", "demo", "worker"])
            #expect(stop.status == 0, "\(stop.stderr)")
            #expect(stop.stderr.contains("worker"), "\(stop.stderr)")
            #expect(try await inspect(worker, "{{.State.Running}}") == "false")
            #expect(try await inspect(api, "{{.State.Running}}") == "true")

            let start = try await project.launch(["start", "demo", "worker"])
            #expect(start.status == 0, "\(start.stderr)")
            #expect(try await inspect(worker, "{{.State.Running}}") == "true")
            #expect(try await inspect(api, "{{.State.StartedAt}}") == apiStarted, "start touched a ready dependency")

            // After a stop of api too, start worker brings api up first.
            let stopBoth = try await project.launch(["stop", "demo", "worker", "api"])
            #expect(stopBoth.status == 0, "\(stopBoth.stderr)")
            let again = try await project.launch(["start", "demo", "worker", "--json"])
            #expect(again.status == 0, "\(again.stderr)")
            let names =
                ((try? JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["services"] as? [[String: Any]])?
                .compactMap { $0["name"] as? String }
            #expect(names == ["api", "worker"])
            #expect(try await E2E.engineHealth(api) == "healthy")
        }
    }

    @Test func aRestartedJobIsJudgedByItsExitCode() async throws {
        // migrate exits 0 the first time and 1 on every later run; api waits for it to complete. Restarting only
        // migrate leaves no dependent of it in the restarted part, and it is still a job there.
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 500ms}",
                stack: """
                    services:
                      migrate:
                        image: \(Self.image)
                        command: ["sh", "-c", "if [ -f /tmp/ran ]; then echo second run fails; sleep 1.5; exit 1; fi; touch /tmp/ran; echo migrated"]
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {migrate: {condition: service_completed_successfully}}
                    """)
            let up = try await project.launch(["demo", "--no-cleanup"])
            try #require(up.status == 0, "\(up.stderr)")
            let again = try await project.launch(["restart", "demo", "migrate"])
            #expect(again.status == 1, "\(again.stdout)")
            #expect(again.stdout.contains("exit 1") || again.stderr.contains("exit"), "\(again.stdout) \(again.stderr)")
        }
    }

    @Test func aFailedReplicasEvidenceIsItsOwn() async throws {
        // Of three replicas, the one that claims the shared directory first never becomes ready.
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0}",
                stack: """
                    services:
                      many:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; if mkdir /shared/claim 2>/dev/null; then echo I am the bad one; else touch /tmp/ok; echo a good one; fi; sleep 3600 & wait"]
                        volumes: [shared:/shared]
                        healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ok || { echo no ready file; exit 1; }"], interval: 500ms, timeout: 2s, retries: 2}
                        deploy: {replicas: 3}
                    volumes:
                      shared: {}
                    """)
            let report = try await project.report(["demo", "--json", "--no-network", "--no-cleanup", "--rollback-volumes"])
            #expect(report.status == 1)
            let failure = try #require(report.service("many")?["failure"] as? [String: Any])
            let evidence = "\(failure)"
            #expect(evidence.contains("I am the bad one"), "\(evidence)")
            #expect(!evidence.contains("a good one"), "\(evidence)")
        }
    }

    @Test func followingLogsKeepsARestartedRunsFirstLine() async throws {
        // The engine stamps a line when it copies it: a run's first line can be stamped before its start event.
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 500ms}",
                stack: """
                    services:
                      tick:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo first-line-of-a-run; sleep 3600 & wait"]
                    """)
            let up = try await project.launch(["demo", "--no-cleanup"])
            try #require(up.status == 0, "\(up.stderr)")
            let output = project.root + "/logs-follow.txt"
            try #require(FileManager.default.createFile(atPath: output, contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: output))
            let follower = try project.spawn(["logs", "demo", "-f"], stdout: handle)
            defer { if follower.isRunning { follower.interrupt() } }
            func seen() -> Int {
                ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").components(separatedBy: "first-line-of-a-run").count - 1
            }
            #expect(await E2E.eventually(within: .seconds(30)) { seen() == 1 })
            _ = try await E2E.docker(["restart", "-t", "1", "\(project.name)-tick-1"])
            #expect(
                await E2E.eventually(within: .seconds(30)) { seen() == 2 },
                "\((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
            follower.interrupt()
            follower.waitUntilExit()
            #expect(follower.terminationStatus == 130)
        }
    }

    @Test func execRunsACommandAndReturnsItsExitCode() async throws {
        try await E2E.withProject { project in
            try await Self.up(project)
            let echo = try await project.launch(["exec", "demo", "api", "--", "sh", "-c", "echo from-$MODE"])
            #expect(echo.status == 0, "\(echo.stderr)")
            #expect(echo.stdout.contains("from-one"))
            let failing = try await project.launch(["exec", "demo", "api", "--", "sh", "-c", "exit 7"])
            #expect(failing.status == 7)
            // launch's own flag after the service is launch's; after `--` the same word is the command's.
            let flagged = try await project.launch(["exec", "demo", "api", "-T", "--", "sh", "-c", "echo flagged $0", "-T"])
            #expect(flagged.status == 0, "\(flagged.stderr)")
            #expect(flagged.stdout.contains("flagged -T"), "\(flagged.stdout)")
            // A command with its own `--` is the command's whole; an option-like word before `--` is a usage error.
            let dashes = try await project.launch(["exec", "demo", "api", "sh", "-c", "echo got $0 $1", "--", "y"])
            #expect(dashes.stdout.contains("got -- y"), "\(dashes.stdout) \(dashes.stderr)")
            let stray = try await project.launch(["exec", "demo", "api", "--project-dir", ".", "--", "true"])
            #expect(stray.status == 64)
            #expect(stray.stderr.contains("`--project-dir` before -- is not an option"), "\(stray.stderr)")
            _ = try await project.launch(["stop", "demo", "worker"])
            let stopped = try await project.launch(["exec", "demo", "worker", "--", "true"])
            #expect(stopped.status == 64)
            // Run from the project itself (its --project-dir went to the command after --): the hint needs none.
            #expect(stopped.stderr.contains("`launch start demo worker`"), "\(stopped.stderr)")
        }
    }

    @Test func configIsRedactedYAMLThatComposeAccepts() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "secrets: {API_TOKEN: {length: 32}}", stack: Self.stack())
            _ = try await project.launch(["env", "demo"])
            let secret = try #require(EnvFile(parsing: try project.read(".env.demo")).values["API_TOKEN"])
            let config = try await project.launch(["config", "demo"])
            #expect(config.status == 0, "\(config.stderr)")
            #expect(!config.all.contains(secret))
            #expect(config.stdout.contains("API_TOKEN: '***'"), "\(config.stdout)")

            let accepted = try Self.composeConfig(stdin: config.stdout)
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(accepted.stdout.contains("worker"))

            let shown = try await project.launch(["config", "demo", "--show-secrets"])
            #expect(shown.stdout.contains(secret))
        }
    }

    @Test func configHidesSecretsFromTheStacksOwnEnvFilesDotEnvAndURLs() async throws {
        try await E2E.withProject { project in
            try project.write("compose/app.env", "POSTGRES_PASSWORD=stack-env-file-pass-1\n")
            try project.write("compose/.env", "LITELLM_MASTER_KEY=sk-dot-env-key-2\n")
            try project.writeProfile(
                stack: """
                    services:
                      api:
                        image: \(Busybox.image)
                        command: ["sleep", "3600"]
                        env_file: [app.env]
                        environment:
                          LITELLM_MASTER_KEY: ${LITELLM_MASTER_KEY}
                          DATABASE_URL: postgres://app:url-pass-3@db:5432/app
                    """)
            _ = try await project.launch(["env", "demo"])
            let config = try await project.launch(["config", "demo"])
            #expect(config.status == 0, "\(config.stderr)")
            for secret in ["stack-env-file-pass-1", "sk-dot-env-key-2", "url-pass-3"] {
                #expect(!config.all.contains(secret), "\(secret) in \(config.stdout)")
            }
            #expect(config.stdout.contains("postgres://app:***@db:5432/app"), "\(config.stdout)")
            let accepted = try Self.composeConfig(stdin: config.stdout)
            #expect(accepted.status == 0, "\(accepted.stderr)")
            // Asked for, they are all there.
            let shown = try await project.launch(["config", "demo", "--show-secrets"])
            #expect(shown.stdout.contains("stack-env-file-pass-1") && shown.stdout.contains("sk-dot-env-key-2"))
        }
    }

    /// The stack's own secrets (its `env_file:`, `compose/.env`) never reach a failed launch's diagnosis, its JSON, its
    /// run report or `launch logs`, as the profile's own never do.
    @Test func theStacksOwnSecretsAreHiddenInDiagnosesReportsAndLogs() async throws {
        try await E2E.withProject { project in
            try project.write("compose/app.env", "POSTGRES_PASSWORD=stack-env-file-pass-1\n")
            try project.write("compose/.env", "LITELLM_MASTER_KEY=sk-dot-env-key-2\n")
            try project.writeProfile(
                extra: "health: {retries: 0}",
                stack: """
                    services:
                      api:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "echo connecting with $$POSTGRES_PASSWORD and $$LITELLM_MASTER_KEY; exit 3"]
                        env_file: [app.env]
                        environment: {LITELLM_MASTER_KEY: "${LITELLM_MASTER_KEY}"}
                    """)
            let failed = try await project.launch(["demo", "--json", "--no-network", "--keep-on-failure"])
            #expect(failed.status == 1, "\(failed.all)")
            #expect(failed.all.contains("connecting with ***"), "\(failed.all)")
            let logs = try await project.launch(["logs", "demo"])
            let report = try await project.launch(["report", "--json"])
            for secret in ["stack-env-file-pass-1", "sk-dot-env-key-2"] {
                for (what, text) in [("launch", failed.all), ("logs", logs.all), ("report", report.all)] {
                    #expect(!text.contains(secret), "\(secret) in \(what): \(text)")
                }
            }
        }
    }

    /// `docker compose -f - config` with `text` on standard input.
    static func composeConfig(stdin text: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "compose", "-f", "-", "config"]
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test func aPullThatNoRegistryAnswersPointsAtTheQuickstart() async throws {
        try await E2E.withProject { project in
            // Port 9 on loopback: nothing listens, so the registry refuses at once.
            try project.writeProfile(stack: "services:\n  api:\n    image: 127.0.0.1:9/\(project.name)/none:1\n")
            let result = try await project.launch(["demo", "--no-network", "--no-cleanup"])
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("no registry answers"), "\(result.stderr)")
            #expect(result.stderr.contains("registry 127.0.0.1:9"))
            #expect(result.stderr.contains("launch --project-dir examples/quickstart demo"))
        }
    }

    @Test func aProjectLeavesNoImageBehindEvenOneAContainerStillUses() async throws {
        var name = ""
        try await E2E.withProject { project in
            name = project.name
            let base = try await E2E.docker(["create", Self.image, "true"])
            let id = base.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let commit = try await E2E.docker(["commit", "--change", "LABEL launch.e2e=\(project.name)", id, "\(project.name)-img:latest"])
            _ = try await E2E.docker(["rm", "-f", id])
            try #require(commit.status == 0, "\(commit.stderr)")
            let run = try await E2E.docker([
                "create", "--label", "com.docker.compose.project=\(project.name)", "\(project.name)-img:latest", "true",
            ])
            try #require(run.status == 0, "\(run.stderr)")
        }
        let left = try await E2E.docker(["images", "-aq", "--filter", "label=launch.e2e=\(name)"])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "images left: \(left.stdout)")
    }
}
