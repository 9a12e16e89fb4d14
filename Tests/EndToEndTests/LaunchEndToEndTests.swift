import Foundation
import LaunchKit
import Testing

/// `launch <env>` against a real engine with busybox stacks, each test in its own compose project.
@Suite("launch engine against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct LaunchEndToEndTests {
    static let image = Busybox.image
    /// Becomes healthy after `delay` seconds; the probe checks a file the command creates. Handles SIGTERM
    /// like a real server, so `launch down` does not wait out the grace period.
    static func healthy(after delay: Double, dependsOn: [String] = [], extra: String = "") -> String {
        let deps =
            dependsOn.isEmpty
            ? "" : "\n    depends_on: {" + dependsOn.map { "\($0): {condition: service_healthy}" }.joined(separator: ", ") + "}"
        return """
                image: \(image)
                command: ["sh", "-c", "trap 'exit 0' TERM; sleep \(delay); touch /tmp/ok; sleep 3600 & wait"]
                healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 30s}\(deps)\(extra)
            """
    }

    func launch(_ project: TestProject, _ arguments: [String] = ["demo", "--json"]) async throws -> E2E.Report {
        try await project.report(arguments)
    }

    func resources(_ project: TestProject) async throws -> (containers: [String], networks: [String], volumes: [String]) {
        let filter = ["--filter", "label=com.docker.compose.project=\(project.name)"]
        let containers = try await E2E.docker(["ps", "-a", "--format", "{{.Names}}"] + filter).stdout
        let networks = try await E2E.docker(["network", "ls", "--format", "{{.Name}}"] + filter).stdout
        let volumes = try await E2E.docker(["volume", "ls", "--format", "{{.Name}}"] + filter).stdout
        func lines(_ text: String) -> [String] { text.split(whereSeparator: \.isNewline).map(String.init).sorted() }
        return (lines(containers), lines(networks), lines(volumes))
    }

    static let policy = "health: {retries: 0, backoff: 200ms, stability: 1s}"

    @Test func aFourDeepChainAndIndependentBranchesComeUpInDependencyOrder() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      a:
                    \(Self.healthy(after: 0.5))
                      b:
                    \(Self.healthy(after: 0.5, dependsOn: ["a"]))
                      c:
                    \(Self.healthy(after: 0.5, dependsOn: ["b"]))
                      d:
                    \(Self.healthy(after: 0.5, dependsOn: ["c"]))
                      x:
                    \(Self.healthy(after: 1.0))
                      y:
                    \(Self.healthy(after: 0.3, dependsOn: ["x"]))
                      plain:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.json["outcome"] as? String == "success")
            for (service, dependency) in [("b", "a"), ("c", "b"), ("d", "c"), ("y", "x")] {
                let started = try #require(result.service(service)?["started_at"] as? Double)
                let dependencyReady = try #require(result.service(dependency)?["ready_at"] as? Double)
                #expect(started >= dependencyReady, "\(service) started before \(dependency) was ready")
            }
            // Independent branches do not wait for each other: x starts with a, not after d.
            let xStarted = try #require(result.service("x")?["started_at"] as? Double)
            let dReady = try #require(result.service("d")?["ready_at"] as? Double)
            #expect(xStarted < dReady)
            for name in ["a", "b", "c", "d", "x", "y", "plain"] {
                #expect(result.service(name)?["state"] as? String == "ready")
            }
            // Ready on the service's own check: launch ran it (probe) or the engine reported it (healthcheck). The
            // engine's own status may still say "starting" until its next interval; it is never unhealthy.
            #expect(["probe", "healthcheck"].contains(result.readiness("d") ?? ""))
            let health = try await E2E.docker(["inspect", "--format", "{{.State.Health.Status}}", "\(project.name)-d-1"])
            #expect(["starting", "healthy"].contains(health.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

            let down = try await project.launch(["down", "demo"])
            #expect(down.status == 0)
            #expect(try await resources(project).containers.isEmpty)
        }
    }

    @Test func aCoreServiceStillStartingAtItsDeadlineFailsWithProbeOutputAndIsRolledBack() async throws {
        try await E2E.withProject { project in
            // A volume that existed before the run must survive the rollback.
            _ = try await E2E.docker(["volume", "create", "--label", "com.docker.compose.project=\(project.name)", "\(project.name)_kept"])
            try project.writeProfile(
                extra: "health: {retries: 0, timeout: 3s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        healthcheck: {test: ["CMD-SHELL", "echo waiting for port 5432; exit 1"], interval: 250ms, timeout: 1s, retries: 3, start_period: 60s}
                        volumes: [data:/data, kept:/kept]
                      web:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        depends_on: {db: {condition: service_healthy}}
                    volumes: {data: {}, kept: {}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1)
            #expect(result.json["outcome"] as? String == "failed")
            let failure = try #require(result.service("db")?["failure"] as? [String: Any])
            #expect(failure["failure"] as? String == "deadline")
            #expect((failure["probes"] as? [String])?.last == "exit 1: waiting for port 5432")
            #expect(failure["health"] as? String == "starting")
            #expect(result.service("web")?["blocked_by"] as? String == "db")
            #expect(result.stderr.contains("still not ready after 3s"))
            let left = try await resources(project)
            #expect(left.containers.isEmpty)
            #expect(left.networks.isEmpty)
            // Volumes are data: the one that existed and the one this run created both stay, and the summary says so.
            #expect(left.volumes == ["\(project.name)_data", "\(project.name)_kept"])
            let rollback = result.json["rollback"] as? [String: Any]
            #expect((rollback?["kept_new_volumes"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["\(project.name)_data"])
            #expect(result.stderr.contains("kept new volumes \(project.name)_data"))
        }
    }

    @Test func launchTimeCleanupLeavesOtherProjectsAndUnlabelledContainersAlone() async throws {
        try await E2E.withProject { project in
            let tag = project.name.replacingOccurrences(of: "launch-e2e-", with: "")
            let bystander = "launch-e2e-bystander-\(tag)", neighbour = "launch-e2e-neighbour-\(tag)"
            _ = try await E2E.docker(["create", "--name", bystander, Self.image, "true"])
            _ = try await E2E.docker([
                "create", "--name", neighbour, "--label", "com.docker.compose.project=launch-e2e-other-\(tag)", Self.image, "true",
            ])
            do {
                // Prune at any reclaimable share: the stopped job of the first run is this project's to prune.
                try project.writeProfile(
                    extra: "cleanup: {reclaimable_percent: 0}\n" + Self.policy,
                    stack: """
                        services:
                          migrate:
                            image: \(Self.image)
                            command: ["true"]
                          api:
                            image: \(Self.image)
                            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                            depends_on: {migrate: {condition: service_completed_successfully}}
                        """)
                #expect(try await launch(project).status == 0)
                let second = try await launch(project)
                #expect(second.status == 0, "\(second.stderr)")
                for name in [bystander, neighbour] {
                    #expect(
                        try await E2E.docker(["inspect", "--format", "{{.Name}}", name]).succeeded, "launch-time cleanup removed \(name)")
                }
            } catch {
                _ = try? await E2E.docker(["rm", "-f", bystander, neighbour])
                throw error
            }
            _ = try await E2E.docker(["rm", "-f", bystander, neighbour])
        }
    }

    @Test func rollbackVolumesRemovesOnlyTheVolumesThisRunCreated() async throws {
        try await E2E.withProject { project in
            _ = try await E2E.docker(["volume", "create", "--label", "com.docker.compose.project=\(project.name)", "\(project.name)_kept"])
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "exit 3"]
                        volumes: [data:/data, kept:/kept]
                    volumes: {data: {}, kept: {}}
                    """)
            let result = try await launch(project, ["demo", "--json", "--rollback-volumes"])
            #expect(result.status == 1)
            #expect(try await resources(project).volumes == ["\(project.name)_kept"])
            #expect((result.json["rollback"] as? [String: Any])?["removed_volumes"] as? [String] == ["\(project.name)_data"])
        }
    }

    @Test func aCoreContainerThatExitsFailsWithItsLogTail() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "echo starting api; sleep 1; echo 'fatal: DATABASE_URL is not set' >&2; exit 1"]
                        healthcheck: {test: ["CMD", "false"], interval: 30s, start_period: 60s}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1)
            let failure = try #require(result.service("api")?["failure"] as? [String: Any])
            #expect(failure["failure"] as? String == "exited(1)")
            #expect(failure["exit_code"] as? Int == 1)
            #expect(failure["log_tail"] as? [String] == ["starting api", "fatal: DATABASE_URL is not set"])
            #expect(failure["classification"] as? String == "transient")
            #expect(result.stderr.contains("fatal: DATABASE_URL is not set"))
            #expect(try await resources(project).containers.isEmpty)
        }
    }

    @Test func anOptionalFailureDegradesAndBlocksItsDependents() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {optional: [search, indexer]}\n" + Self.policy,
                stack: """
                    services:
                      db:
                    \(Self.healthy(after: 0.3))
                      search:
                        image: \(Self.image)
                        command: ["sh", "-c", "echo out of memory >&2; exit 2"]
                        depends_on: {db: {condition: service_healthy}}
                        healthcheck: {test: ["CMD", "test", "-f", "/nonexistent"], interval: 1s}
                      indexer:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        depends_on: {search: {condition: service_healthy}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.json["outcome"] as? String == "degraded")
            #expect(
                result.json["degraded"] as? [String] == ["indexer", "search"]
                    || result.json["degraded"] as? [String] == ["search", "indexer"])
            #expect(result.service("db")?["state"] as? String == "ready")
            #expect(result.service("search")?["state"] as? String == "failed")
            #expect(result.service("indexer")?["blocked_by"] as? String == "search")
            #expect(result.stderr.contains("not started: indexer (blocked by search)"))
            // Nothing is rolled back on a degraded success.
            #expect(try await resources(project).containers.contains("\(project.name)-db-1"))
        }
    }

    @Test(arguments: [0, 1])
    func aOneShotMigrationGatesItsDependents(exitCode: Int) async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                    \(Self.healthy(after: 0.2))
                      migrate:
                        image: \(Self.image)
                        command: ["sh", "-c", "echo applying 3 migrations; sleep 0.3; exit \(exitCode)"]
                        depends_on: {db: {condition: service_healthy}}
                      api:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        depends_on: {migrate: {condition: service_completed_successfully}}
                    """)
            let result = try await launch(project)
            if exitCode == 0 {
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.service("migrate")?["state"] as? String == "ready")
                #expect(result.service("api")?["state"] as? String == "ready")
                let apiStarted = try #require(result.service("api")?["started_at"] as? Double)
                let migrated = try #require(result.service("migrate")?["ready_at"] as? Double)
                #expect(apiStarted >= migrated)
            } else {
                #expect(result.status == 1)
                #expect(result.service("migrate")?["state"] as? String == "failed")
                #expect(result.service("api")?["blocked_by"] as? String == "migrate")
                #expect((result.service("migrate")?["failure"] as? [String: Any])?["log_tail"] as? [String] == ["applying 3 migrations"])
            }
        }
    }

    @Test func aFlakyServiceRecoversThroughRetry() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 2, backoff: 200ms, stability: 1s}",
                stack: """
                    services:
                      flaky:
                        image: \(Self.image)
                        command: ["sh", "-c", "if [ -f /state/tried ]; then touch /tmp/ok; exec sleep 3600; fi; touch /state/tried; echo first start fails; exit 1"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 30s}
                        volumes: [state:/state]
                    volumes: {state: {}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.service("flaky")?["state"] as? String == "ready")
            #expect(result.service("flaky")?["retries"] as? Int == 1)
            #expect(result.stderr.contains("retry 1/2"))
        }
    }

    @Test func aRestartLoopIsCaught() async throws {
        try await E2E.withProject { project in
            // A wide stability window: each crash must never look stable, however late the engine reports `die`.
            try project.writeProfile(
                extra: "health: {retries: 2, backoff: 200ms, stability: 5s}",
                stack: """
                    services:
                      crashy:
                        image: \(Self.image)
                        restart: always
                        command: ["sh", "-c", "echo boom; exit 3"]
                    """)
            let result = try await launch(project)
            #expect(result.status == 1)
            let failure = try #require(result.service("crashy")?["failure"] as? [String: Any])
            #expect(failure["failure"] as? String == "restart-loop")
            #expect((failure["log_tail"] as? [String])?.contains("boom") == true)
            #expect(try await resources(project).containers.isEmpty)
        }
    }

    @Test func aServiceWithoutHealthcheckThatExitsSoonIsNotReady() async throws {
        try await E2E.withProject { project in
            // Its exit must fall inside the stability window however late the engine reports `die` under load.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 10s}",
                stack: """
                    services:
                      worker:
                        image: \(Self.image)
                        command: ["sh", "-c", "sleep 1; echo worker stopped"]
                    """)
            let result = try await launch(project)
            #expect(result.status == 1)
            #expect(result.service("worker")?["state"] as? String == "failed")
            #expect((result.service("worker")?["failure"] as? [String: Any])?["failure"] as? String == "exited(0)")
        }
    }

    /// When a container's state changed, by the engine's clock.
    @Test func aJobWithAHealthcheckIsReadyWhenItExitsNotWhenItIsHealthy() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      migrate:
                        image: \(Self.image)
                        command: ["sh", "-c", "sleep 2; echo migrated"]
                        healthcheck: {test: ["CMD", "true"], interval: 250ms, timeout: 10s, retries: 3}
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {migrate: {condition: service_completed_successfully}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            let migrated = try #require(try await E2E.engineTime("\(project.name)-migrate-1", "FinishedAt"))
            let apiStarted = try #require(try await E2E.engineTime("\(project.name)-api-1", "StartedAt"))
            #expect(apiStarted >= migrated, "api started before the migration finished")
        }
    }

    @Test func aHealthcheckFromTheImageIsWaitedFor() async throws {
        try await E2E.withProject { project in
            let image = "\(project.name)-withcheck:latest"
            let base = try await E2E.docker(["create", Self.image, "true"])
            let id = base.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let commit = try await E2E.docker([
                "commit", "--change", "HEALTHCHECK --interval=250ms --timeout=1s --start-period=20s CMD test -f /tmp/ok", id, image,
            ])
            _ = try await E2E.docker(["rm", "-f", id])
            #expect(commit.status == 0)
            // Removed by the project's teardown after its containers: an `rmi -f` here, while db still used
            // the image, only untagged it and left a dangling image behind on every run.
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                        image: \(image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/ok; sleep 3600 & wait"]
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            // The check can pass only once /tmp/ok exists, so api must have started after the file was made. (The
            // engine keeps only its last five probes, and launch may have seen the check pass by its own probe
            // first, so the engine's health log cannot say when the check first passed.)
            let stat = try await E2E.docker(["exec", "\(project.name)-db-1", "stat", "-c", "%y", "/tmp/ok"])
            // busybox: `2026-12-01 21:31:42.629214001 +0000` (UTC in the container) as RFC 3339.
            let parts = stat.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            let made = try #require(
                parts.count == 3 && parts[2] == "+0000" ? EngineTime.parse("\(parts[0])T\(parts[1])Z") : nil, "\(stat.stdout)\(stat.stderr)"
            )
            let apiStarted = try #require(try await E2E.engineTime("\(project.name)-api-1", "StartedAt"))
            #expect(apiStarted >= made, "api started before db's image healthcheck could pass")
        }
    }

    @Test func aRelaunchStartsAStoppedContainerAndAdoptsTheRunningOnes() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                    \(Self.healthy(after: 0.2))
                      api:
                    \(Self.healthy(after: 0.2, dependsOn: ["db"], extra: "\n    deploy: {replicas: 2}"))
                    """)
            #expect(try await launch(project).status == 0)
            // One replica stopped, one still running: the relaunch must start the stopped one, not just wait.
            _ = try await E2E.docker(["stop", "-t", "1", "\(project.name)-api-1"])
            let again = try await launch(project)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("already running"))
            let running = try await E2E.docker(["inspect", "--format", "{{.State.Running}}", "\(project.name)-api-1"])
            #expect(running.stdout.hasPrefix("true"))
        }
    }

    @Test func anOccupiedPortStopsTheLaunchInPreflightWithNothingCreated() async throws {
        try await E2E.withProject { project in
            let (descriptor, port) = try Sockets.listen(host: "127.0.0.1")
            defer { close(descriptor) }
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      web:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        ports: ["127.0.0.1:\(port):80"]
                    """)
            let result = try await launch(project)
            #expect(result.status == 2)
            #expect(result.stderr.contains("web wants port \(port), held by"))
            #expect(result.stderr.contains("nothing was started"))
            let left = try await resources(project)
            #expect(left.containers.isEmpty && left.networks.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: project.root + "/.env.demo"))
        }
    }

    @Test func ctrlCMidLaunchRollsBackAndExits130() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      slow:
                    \(Self.healthy(after: 30))
                      after:
                    \(Self.healthy(after: 0.1, dependsOn: ["slow"]))
                    """)
            let stderr = Pipe()
            let process = try project.spawn(["demo"], stderr: stderr)
            // Wait until the slow service's container runs, then press Ctrl-C.
            #expect(await E2E.eventually { await E2E.isRunning("\(project.name)-slow-1") })
            process.interrupt()
            process.waitUntilExit()
            let talk = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 130, "\(talk)")
            #expect(talk.contains("interrupted"))
            #expect(talk.contains("rollback"))
            let left = try await resources(project)
            #expect(left.containers.isEmpty)
            #expect(left.networks.isEmpty)
        }
    }
}
