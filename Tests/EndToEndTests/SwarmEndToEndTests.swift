import Foundation
import LaunchKit
import Testing

/// `launch <env> --engine swarm` on a single-node swarm the test makes (and leaves again, only if it made it),
/// each test with its own stack `launch-e2e-<random>`, everything it created removed at the end.
@Suite("launch on a real swarm (single node; two nodes where set up)", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct SwarmEndToEndTests {
    /// Makes this engine a single-node swarm when it is not one, runs `body`, and leaves the swarm only if it made it.
    static func withSwarm<T>(_ body: () async throws -> T) async throws -> T {
        let state = try await E2E.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        var made = false
        if state == "inactive" {
            let initialized = try await E2E.docker(["swarm", "init", "--advertise-addr", "127.0.0.1"])
            try #require(initialized.succeeded, "docker swarm init: \(initialized.stderr)")
            made = true
        }
        do {
            let result = try await body()
            if made { _ = try? await E2E.docker(["swarm", "leave", "--force"]) }
            return result
        } catch {
            if made { _ = try? await E2E.docker(["swarm", "leave", "--force"]) }
            throw error
        }
    }

    /// The stack's services, networks, configs and secrets by the label stack deploy puts on them; then its
    /// volumes (named `<stack>_<volume>` on the node).
    static func removeStack(_ name: String) async {
        let label = "label=com.docker.stack.namespace=\(name)"
        for kind in [["service", "ls", "-q"], ["config", "ls", "-q"], ["secret", "ls", "-q"]] {
            let ids = ((try? await E2E.docker(kind + ["--filter", label]))?.stdout ?? "").split(whereSeparator: \.isNewline).map(
                String.init)
            if !ids.isEmpty { _ = try? await E2E.docker([kind[0], "rm"] + ids) }
        }
        // Networks and volumes are in use until the services' tasks are gone: retry, bounded. On every node: a task
        // on node B leaves its containers and volumes there.
        for host in [nil] + (TwoNode.nodeB.map { [$0] } ?? []) {
            for _ in 0..<60 {
                func listed(_ arguments: [String]) async -> [String] {
                    ((try? await E2E.docker(arguments + ["--filter", label], host: host))?.stdout ?? "").split(whereSeparator: \.isNewline)
                        .map(String.init)
                }
                let containers = await listed(["ps", "-aq"])
                if !containers.isEmpty { _ = try? await E2E.docker(["rm", "-f"] + containers, host: host) }
                let networks = host == nil ? await listed(["network", "ls", "-q"]) : []
                if !networks.isEmpty { _ = try? await E2E.docker(["network", "rm"] + networks) }
                let volumes = await listed(["volume", "ls", "-q"])
                if !volumes.isEmpty { _ = try? await E2E.docker(["volume", "rm", "-f"] + volumes, host: host) }
                if containers.isEmpty && networks.isEmpty && volumes.isEmpty { break }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// What `arguments` list on every node the tests can reach (this engine, and node B on a two-node swarm).
    static func namesOnEveryNode(_ arguments: [String]) async throws -> [String] {
        var all = try await names(arguments)
        if let nodeB = TwoNode.nodeB {
            all += try await E2E.docker(arguments, host: nodeB).stdout.split(whereSeparator: \.isNewline).map(String.init)
        }
        return Array(Set(all)).sorted()
    }

    static func withStack<T>(_ body: (TestProject) async throws -> T) async throws -> T {
        try await withSwarm {
            try await E2E.withProject { project in
                do {
                    let result = try await body(project)
                    await removeStack(project.name)
                    return result
                } catch {
                    await removeStack(project.name)
                    throw error
                }
            }
        }
    }

    /// The newest task of `service` with that desired state: `field` of it (a time), as the engine says it.
    static func taskTime(service: String, desired: String, field: String) async throws -> Date {
        let ids = try await E2E.docker(["service", "ps", "-q", "--no-trunc", "--filter", "desired-state=\(desired)", service]).stdout
            .split(whereSeparator: \.isNewline).map(String.init)
        let times = try await E2E.docker(["inspect", "--format", "{{json \(field)}}"] + ids).stdout.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        // RFC 3339 with nanoseconds: whole seconds, then the fraction.
        let parsed = times.compactMap { text -> Date? in
            guard let whole = try? Date(String(text.prefix(19)) + "Z", strategy: .iso8601) else { return nil }
            let fraction = text.dropFirst(19).drop { $0 == "." }.prefix { $0.isNumber }
            return whole.addingTimeInterval(Double("0." + fraction) ?? 0)
        }
        return try #require(parsed.max(), "\(service): \(times)")
    }

    static func names(_ arguments: [String]) async throws -> [String] {
        try await E2E.docker(arguments).stdout.split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    static func service(_ json: [String: Any], _ name: String) -> [String: Any]? {
        (json["services"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    static let stack = """
        services:
          db:
            image: \(Busybox.image)
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 10s, retries: 3}
          migrate:
            image: \(Busybox.image)
            command: ["sh", "-c", "echo migrated"]
            depends_on: {db: {condition: service_healthy}}
          app:
            image: \(Busybox.image)
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            depends_on: {migrate: {condition: service_completed_successfully}}
        """

    @Test func aHealthyStackWithAMigrationJobComesUpInOrderThenStatusAndDown() async throws {
        try await Self.withStack { project in
            try project.writeProfile(extra: "health: {stability: 1s}", stack: Self.stack)
            let doctor = try await project.launch(["doctor", "demo", "--engine", "swarm", "--json", "--no-network"])
            let checks = (Self.json(doctor.stdout)["checks"] as? [[String: Any]]) ?? []
            #expect(checks.first { $0["id"] as? String == "swarm.manager" }?["status"] as? String == "ok", "\(doctor.stdout)")
            #expect(checks.first { $0["id"] as? String == "swarm.nodes" }?["status"] as? String == "ok")
            let result = try await project.launch(["demo", "--engine", "swarm", "--json", "--no-cleanup"])
            let json = Self.json(result.stdout)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(json["outcome"] as? String == "success")
            let db = try #require(Self.service(json, "db"))
            let migrate = try #require(Self.service(json, "migrate"))
            let app = try #require(Self.service(json, "app"))
            #expect(db["readiness"] as? String == "healthcheck")
            #expect(migrate["readiness"] as? String == "exit 0")
            #expect(app["readiness"] as? String == "stable")
            // Each was scaled up only once what it depends on was ready.
            let dbReady = try #require(db["ready_at"] as? Double)
            let migrateStarted = try #require(migrate["started_at"] as? Double)
            let migrateReady = try #require(migrate["ready_at"] as? Double)
            let appStarted = try #require(app["started_at"] as? Double)
            #expect(migrateStarted >= dbReady)
            #expect(appStarted >= migrateReady)
            // The engine agrees: the job completed once, the services run.
            let completed = try await E2E.docker(["service", "ps", "--format", "{{.CurrentState}}", "\(project.name)_migrate"]).stdout
            #expect(completed.contains("Complete"))

            // A second launch is an update (app changed): the job runs again first, and app's new version starts only
            // once it completed, as on a first deploy.
            try project.write(
                "compose/stack.yml",
                Self.stack.replacingOccurrences(of: "echo migrated", with: "sleep 2; echo migrated")
                    .replacingOccurrences(
                        of: "trap 'exit 0' TERM; sleep 3600 & wait\"]\n    depends_on: {migrate",
                        with: "trap 'exit 0' TERM; sleep 3600 & wait\"]\n    environment: {VERSION: \"2\"}\n    depends_on: {migrate"))
            let again = try await project.launch(["demo", "--engine", "swarm", "--json", "--no-cleanup"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("jobs first, then app"), "\(again.stderr)")
            let update = Self.json(again.stdout)
            #expect(Self.service(update, "migrate")?["readiness"] as? String == "exit 0")
            let migrated = try #require(Self.service(update, "migrate")?["ready_at"] as? Double, "\(update)")
            let rolled = try #require(Self.service(update, "app")?["started_at"] as? Double, "\(update)")
            #expect(rolled >= migrated, "app rolled at \(rolled)s, the job completed at \(migrated)s")
            // The engine agrees: app's new task was created after the job's new task completed.
            let completedAt = try await Self.taskTime(service: "\(project.name)_migrate", desired: "complete", field: ".Status.Timestamp")
            let createdAt = try await Self.taskTime(service: "\(project.name)_app", desired: "running", field: ".CreatedAt")
            #expect(createdAt >= completedAt, "app's task created \(createdAt), migrate completed \(completedAt)")
            // And the job ran once per launch: the second deploy (for app) leaves it out, or it would run again.
            let runs = try await E2E.docker(["service", "ps", "-q", "\(project.name)_migrate"]).stdout.split(whereSeparator: \.isNewline)
            #expect(runs.count == 2, "migrate's tasks: \(runs)")

            let status = try await project.launch(["status", "demo", "--engine", "swarm", "--json"])
            let statusJSON = Self.json(status.stdout)
            #expect(statusJSON["kind"] as? String == "launch-status" && statusJSON["engine"] as? String == "swarm")
            let services = try #require((statusJSON["environments"] as? [[String: Any]])?.first?["services"] as? [[String: Any]])
            #expect(services.map { $0["name"] as? String ?? "" }.sorted() == ["app", "db", "migrate"])
            #expect(services.first { $0["name"] as? String == "db" }?["healthy"] as? Int == 1)

            let down = try await project.launch(["down", "demo", "--engine", "swarm"])
            #expect(down.status == 0, "\(down.stderr)")
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
            #expect(try await Self.names(["network", "ls", "-q", "--filter", label]) == [])
        }
    }

    @Test func aCoreFailureOnTheFirstDeployRemovesWhatTheRunCreatedButVolumes() async throws {
        try await Self.withStack { project in
            // `engine: swarm` in the profile, no flag.
            try project.writeProfile(
                extra: "engine: swarm\nhealth: {stability: 2s}",
                stack: """
                    services:
                      db:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        volumes: [data:/data]
                      api:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "echo cannot reach the database >&2; exit 3"]
                        depends_on: [db]
                    volumes:
                      data: {}
                    """)
            let result = try await project.launch(["demo", "--json", "--no-cleanup"])
            let json = Self.json(result.stdout)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(json["outcome"] as? String == "failed")
            let api = try #require(Self.service(json, "api"))
            let failure = try #require(api["failure"] as? [String: Any])
            // Said as a compose launch says it, with the swarm's own words kept as evidence.
            #expect(failure["reason"] as? String == "exited with code 3", "\(failure)")
            // Exit 3 is a failure a retry can help: the swarm replaced the task health.retries (2) times first.
            #expect(api["retries"] as? Int == 2, "\(api)")
            #expect((failure["probes"] as? [String])?.contains { $0.contains("non-zero exit (3)") } == true, "\(failure)")
            #expect((failure["log_tail"] as? [String])?.contains { $0.contains("cannot reach the database") } == true)
            let rollback = try #require(json["rollback"] as? [String: Any])
            #expect((rollback["removed_services"] as? [String])?.sorted() == ["\(project.name)_api", "\(project.name)_db"])
            #expect((rollback["removed_networks"] as? [String]) == ["\(project.name)_default"])
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
            #expect(try await Self.names(["network", "ls", "-q", "--filter", label]) == [])
            // The volume is data: it stays.
            #expect(
                try await Self.namesOnEveryNode(["volume", "ls", "--format", "{{.Name}}", "--filter", label]) == ["\(project.name)_data"])
        }
    }

    /// health.retries on a swarm: a task that fails on its first attempt (exit 3) is replaced by the swarm after
    /// health.backoff, and the service is ready on its second; the run says the retry.
    @Test func aTaskThatFailsOnceIsRetriedAndTheServiceIsReadyOnItsSecondAttempt() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra: "health: {stability: 1s, retries: 1, backoff: 1s}",
                stack: """
                    services:
                      flaky:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "if [ -f /data/once ]; then trap 'exit 0' TERM; sleep 3600 & wait; else touch /data/once; echo first attempt fails; exit 3; fi"]
                        volumes: [data:/data]
                        deploy: {placement: {constraints: ["node.role == manager"]}}
                    volumes:
                      data: {}
                    """)
            let result = try await project.launch(["demo", "--engine", "swarm", "--json", "--no-cleanup"])
            #expect(result.status == 0, "\(result.all)")
            #expect(result.stderr.contains("retry 1/1: the swarm replaces the task"), "\(result.all)")
            let json = Self.json(result.stdout)
            #expect(json["outcome"] as? String == "success", "\(json)")
            #expect(Self.service(json, "flaky")?["retries"] as? Int == 1, "\(json)")
            _ = try await project.launch(["down", "demo", "--engine", "swarm"])
        }
    }

    @Test func aFailingHealthcheckReadsTheSameOnOneMachineAndOnTheSwarm() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      api:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo api listening on 8080; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD-SHELL", "echo probe-says-upstream-refused; exit 1"], interval: 500ms, timeout: 5s, retries: 2}
                    """)
            var diagnoses: [String: [String: Any]] = [:]
            for engine in ["compose", "swarm"] {
                let result = try await project.launch(
                    ["demo", "--json", "--no-cleanup", "--no-network"] + (engine == "swarm" ? ["--engine", "swarm"] : []))
                #expect(result.status == 1, "\(engine): \(result.stderr)")
                let api = try #require(Self.service(Self.json(result.stdout), "api"), "\(engine): \(result.stdout)")
                diagnoses[engine] = try #require(api["failure"] as? [String: Any], "\(engine): \(api)")
            }
            let compose = try #require(diagnoses["compose"]), swarm = try #require(diagnoses["swarm"])
            for key in ["reason", "failure", "classification", "next_step", "health"] {
                #expect(
                    compose[key] as? String == swarm[key] as? String, "\(key): compose \(compose[key] ?? "-") / swarm \(swarm[key] ?? "-")")
            }
            #expect(compose["failure"] as? String == "unhealthy")
            for (engine, diagnosis) in diagnoses {
                #expect(
                    (diagnosis["probes"] as? [String])?.contains { $0.contains("probe-says-upstream-refused") } == true,
                    "\(engine): \(diagnosis)")
                #expect(
                    (diagnosis["log_tail"] as? [String])?.contains { $0.contains("api listening on 8080") } == true,
                    "\(engine): \(diagnosis)")
            }
            // The swarm run still rolled back everything it made.
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
        }
    }

    static func updateStack(version: String, healthy: Bool) -> String {
        """
        services:
          db:
            image: \(Busybox.image)
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 10s, retries: 3}
          api:
            image: \(Busybox.image)
            environment: {VERSION: "\(version)"}
            command: ["sh", "-c", "trap 'exit 0' TERM; echo api $$VERSION; \(healthy ? "touch /tmp/ok; " : "echo cannot reach the database >&2; ")sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 10s, retries: 2}
            depends_on: {db: {condition: service_healthy}}
        """
    }

    /// The `VERSION` the api service's spec runs, and how many of its tasks run now.
    static func apiVersion(_ stack: String) async throws -> (version: String, running: Int) {
        let env = try await E2E.docker(["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "\(stack)_api"])
            .stdout
        let version = env.contains("VERSION=") ? String(env.split(separator: "VERSION=")[1].prefix { $0.isNumber }) : ""
        let states = try await E2E.docker([
            "service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", "\(stack)_api",
        ]).stdout
        return (version, states.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("Running") }.count)
    }

    @Test func anUpdateRollsOverAndAFailedOneEndsWithThePreviousVersionRunningAndHealthy() async throws {
        try await Self.withStack { project in
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 1s}", stack: Self.updateStack(version: "1", healthy: true))
            // The plan says what a launch would do on the swarm: deploy first, update once it runs.
            let planned = Self.json(try await project.launch(["plan", "demo", "--json"]).stdout)["swarm"] as? [String: Any]
            #expect(planned?["action"] as? String == "deploy", "\(String(describing: planned))")
            let first = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(first.status == 0, "\(first.stderr)")
            let replanned = Self.json(try await project.launch(["plan", "demo", "--json"]).stdout)["swarm"] as? [String: Any]
            #expect(replanned?["action"] as? String == "update" && replanned?["running"] as? [String] == ["api", "db"])

            // An update that changes nothing: every service is judged where it runs, no task is replaced.
            let same = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(same.status == 0, "\(same.stderr)")
            #expect(same.stderr.contains("update of a running stack"), "\(same.stderr)")

            // A good update rolls api over to version 2.
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 1s}", stack: Self.updateStack(version: "2", healthy: true))
            let good = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(good.status == 0, "\(good.stderr)")
            #expect(Self.service(Self.json(good.stdout), "api")?["readiness"] as? String == "healthcheck")
            #expect(try await Self.apiVersion(project.name) == ("2", 1))
            // Its logs come from every task through the swarm, the stack's name dropped from each line.
            let logs = try await project.launch(["logs", "demo", "api"])
            #expect(logs.status == 0, "\(logs.stderr)")
            #expect(
                logs.stdout.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("api.1@") && $0.hasSuffix("| api 2") },
                "\(logs.stdout)")

            // A bad one (version 3 never gets healthy): the swarm rolls it back, launch says so with the evidence
            // and exits 1, and version 2 runs, healthy.
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 1s}", stack: Self.updateStack(version: "3", healthy: false))
            let bad = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(bad.status == 1, "\(bad.stderr)")
            let json = Self.json(bad.stdout)
            #expect(json["outcome"] as? String == "failed")
            let failure = try #require(Self.service(json, "api")?["failure"] as? [String: Any])
            #expect((failure["reason"] as? String)?.contains("its rolling update failed") == true, "\(failure)")
            #expect((failure["reason"] as? String)?.contains("rolled it back to the previous spec") == true, "\(failure)")
            let rollback = try #require(json["rollback"] as? [String: Any])
            #expect(rollback["restored_services"] as? [String] == ["\(project.name)_api"], "\(rollback)")
            #expect((rollback["errors"] as? [String]) == [], "\(rollback)")
            #expect(bad.stderr.contains("to the previous spec (running and healthy)"), "\(bad.stderr)")
            #expect(try await Self.apiVersion(project.name) == ("2", 1))
            let status = Self.json(try await project.launch(["status", "demo", "--json"]).stdout)
            let services = try #require((status["environments"] as? [[String: Any]])?.first?["services"] as? [[String: Any]])
            #expect(services.first { $0["name"] as? String == "api" }?["healthy"] as? Int == 1, "\(status)")
        }
    }

    /// A failed update puts back what it changed even where no task was replaced: db scaled from 1 to 2 replicas
    /// beside a bad api is back at 1 after the rollback.
    @Test func aFailedUpdateAlsoPutsBackAChangeThatReplacedNoTask() async throws {
        try await Self.withStack { project in
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 1s}", stack: Self.updateStack(version: "1", healthy: true))
            let first = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(first.status == 0, "\(first.stderr)")
            let scaled = Self.updateStack(version: "2", healthy: false)
                .replacingOccurrences(of: "retries: 3}\n", with: "retries: 3}\n    deploy: {replicas: 2}\n")
            #expect(scaled.contains("replicas: 2"))
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 1s}", stack: scaled)
            let bad = try await project.launch(["demo", "--json", "--no-cleanup"])
            #expect(bad.status == 1, "\(bad.stderr)")
            let rollback = try #require(Self.json(bad.stdout)["rollback"] as? [String: Any])
            #expect(rollback["restored_services"] as? [String] == ["\(project.name)_api", "\(project.name)_db"], "\(rollback)")
            #expect((rollback["errors"] as? [String]) == [], "\(rollback)")
            let replicas = try await E2E.docker([
                "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", "\(project.name)_db",
            ]).stdout
            #expect(replicas.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(replicas)")
        }
    }

    /// A compose GPU reservation on a swarm is a reservation of the `NVIDIA-GPU` generic resource. CI's API-1.44 engine
    /// advertises two (pretend) GPUs, the 20.10 one none: each engine shows one side of the check for real.
    @Test func aGPUReservationIsScheduledOnNodesThatAdvertiseGPUsAndRefusedBeforehandElsewhere() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra: "engine: swarm\nhealth: {stability: 1s}",
                stack: """
                    services:
                      llm:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        deploy:
                          resources:
                            reservations:
                              devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]
                    """)
            // The most GPUs one node advertises (on a two-node swarm, node B's pretend two).
            var advertised = 0
            for node in try await Self.names(["node", "ls", "-q"]) {
                let resources = try await E2E.docker([
                    "node", "inspect", node, "--format", "{{json .Description.Resources.GenericResources}}",
                ])
                advertised = max(advertised, resources.stdout.components(separatedBy: "NVIDIA-GPU").count - 1)
            }
            let doctor = Self.json(try await project.launch(["doctor", "demo", "--json", "--no-network"]).stdout)
            let checks = (doctor["checks"] as? [[String: Any]]) ?? []
            let gpu = checks.first { $0["id"] as? String == "swarm.gpu" }
            // This machine's driver and toolkit are not the nodes': not checked on a swarm.
            #expect(checks.first { $0["id"] as? String == "gpu.requests" } == nil)
            #expect(checks.first { $0["id"] as? String == "gpu.host" }?["status"] as? String == "skip")
            let result = try await project.launch(["demo", "--no-cleanup"])
            if advertised >= 2 {
                #expect(gpu?["status"] as? String == "ok", "\(String(describing: gpu))")
                #expect(result.status == 0, "\(result.stderr)")
                // The swarm handed the task two of the node's GPUs, by the ids the node advertises.
                // On the node that advertises them: this engine, or node B.
                var env = ""
                for host in [nil] + (TwoNode.nodeB.map { [$0] } ?? []) {
                    let container = try await E2E.docker(
                        ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(project.name)_llm"], host: host
                    ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    if !container.isEmpty {
                        env = try await E2E.docker(["inspect", "--format", "{{json .Config.Env}}", container], host: host).stdout
                    }
                }
                let assigned = env.split(separator: "\"").first { $0.hasPrefix("DOCKER_RESOURCE_NVIDIA-GPU=") }
                #expect(assigned.map { $0.split(separator: "=")[1].split(separator: ",").count } == 2, "\(env)")
            } else {
                #expect(gpu?["status"] as? String == "fail", "\(String(describing: gpu))")
                #expect(result.status == 2, "\(result.stderr)")
                #expect(
                    result.stderr.contains("swarm.gpu: llm needs 2 GPUs on one node; no schedulable node advertises NVIDIA-GPU"),
                    "\(result.stderr)")
                let label = "label=com.docker.stack.namespace=\(project.name)"
                #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
            }
        }
    }

    @Test func theGPUOverlayFollowsTheNodesGPUsNotThisMachines() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra:
                    "engine: swarm\nhealth: {stability: 1s}\ngpu: {mode: optional, dual: gpu-dual.yml, single: gpu-single.yml, none: gpu-cpu.yml}",
                stack: """
                    services:
                      llm:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                    """)
            for (file, overlay) in [("gpu-dual.yml", "dual"), ("gpu-single.yml", "single"), ("gpu-cpu.yml", "cpu")] {
                try project.write("compose/\(file)", "services:\n  llm:\n    environment: {OVERLAY: \(overlay)}\n")
            }
            // The swarm's answer, read as launch reads it (named and discrete resources, every schedulable node).
            let nodes = try await EngineClient(environment: ProcessInfo.processInfo.environment).listNodes()
            let advertised = nodes.filter(\.schedulable).map { $0.genericResources["NVIDIA-GPU"] ?? 0 }.max() ?? 0
            // This machine answers differently from the swarm's nodes, so the overlay shows whose GPUs decided.
            let (expected, local) =
                advertised >= 2 ? ("dual", "h100-x1") : (advertised == 1 ? ("single", "h100-x2-nvlink") : ("cpu", "h100-x2-nvlink"))
            let smi = try E2E.fakeNvidiaSMI(local)
            defer { try? FileManager.default.removeItem(atPath: smi.directory) }
            let env = ["PATH": smi.path]

            let plan = Self.json(try await project.launch(["plan", "demo", "--json"], environment: env).stdout)
            let overlay = plan["overlay"] as? [String: Any]
            #expect(overlay?["file"] as? String == "gpu-\(expected).yml", "\(String(describing: overlay))")
            #expect((overlay?["reason"] as? String)?.contains("swarm node") == true, "\(String(describing: overlay))")
            let early = try await project.launch(["config", "demo"], environment: env)
            #expect(early.status == 64 && early.stderr.contains("env demo` creates it"), "\(early.all)")
            let result = try await project.launch(["demo", "--no-cleanup"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            // The service's own spec: the same on whichever node its task runs.
            let variables = try await E2E.docker(
                ["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "\(project.name)_llm"]
            ).stdout
            #expect(variables.contains("OVERLAY=\(expected)"), "\(variables)")
            let config = try await project.launch(["config", "demo"], environment: env)
            #expect(config.stdout.contains("OVERLAY: \(expected)"), "\(config.all)")

            // A profile that requires a GPU is refused before anything changes when no node advertises one.
            if advertised == 0 {
                try project.write("environments/gpu.yml", "name: gpu\nextends: demo\ngpu: {mode: required}\n")
                let refused = try await project.launch(["gpu", "--no-cleanup"], environment: env)
                #expect(refused.status == 2, "\(refused.all)")
                #expect(refused.stderr.contains("swarm.overlay: this profile requires a GPU"), "\(refused.stderr)")
                #expect(refused.stderr.contains("no schedulable swarm node advertises NVIDIA-GPU"), "\(refused.stderr)")
            }
        }
    }

    @Test func aPlacementNoNodeMeetsIsRefusedBeforeAnythingIsCreated() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra: "engine: swarm",
                stack: """
                    services:
                      app:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        deploy: {placement: {constraints: ["node.role == manager", "node.labels.\(project.name) == yes"]}}
                    """)
            let result = try await project.launch(["demo", "--no-cleanup"])
            #expect(result.status == 2, "\(result.stderr)")
            #expect(
                result.stderr.contains("swarm.placement: app: no schedulable node meets node.labels.\(project.name) == yes"),
                "\(result.stderr)")
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
        }
    }

    /// `launch watch --engine swarm`: a task that crashes is reported with the task's own error and its container's
    /// last line, the swarm reschedules it, and the service is ready again with the time it was down.
    @Test func watchingASwarmStackReportsATaskFailureAndTheRescheduledRecovery() async throws {
        try await Self.withStack { project in
            try project.writeProfile(
                extra: "health: {stability: 1s}",
                stack: """
                    services:
                      api:
                        image: \(Busybox.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; while [ ! -f /tmp/crash ]; do sleep 0.1; done; echo api crashing now; exit 3"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 500ms, timeout: 5s, retries: 2}
                        deploy: {restart_policy: {condition: on-failure, delay: 1s}}
                    """)
            let up = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup", "--no-network"])
            try #require(up.status == 0, "\(up.stderr)")
            let watch = try WatchedLaunch(project, ["watch", "demo", "--engine", "swarm", "--json"])
            defer { watch.stop() }
            #expect(
                await watch.waitFor { $0.contains { $0["event"] as? String == "initial" && $0["to"] as? String == "ready" } },
                "\(watch.all)")
            // Its task's container, on whichever node the swarm placed it.
            var task: (id: String, host: String?)?
            for host in [nil] + (TwoNode.nodeB.map { [$0] } ?? []) where task == nil {
                let found = try await E2E.docker(
                    ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(project.name)_api"], host: host
                )
                .stdout.split(whereSeparator: \.isNewline).first.map(String.init)
                if let found { task = (found, host) }
            }
            let running = try #require(task)
            _ = try await E2E.docker(["exec", running.id, "touch", "/tmp/crash"], host: running.host)
            let loss = try #require(await watch.first { $0["from"] as? String == "ready" }, "\(watch.all)")
            #expect(loss["engine"] as? String == "swarm")
            #expect((loss["state"] as? String)?.contains("non-zero exit (3)") == true, "\(loss)")
            // Every verdict names its node: where the task failed, and where it runs once it is back.
            let failedOn = try #require(loss["failed_on"] as? String, "\(loss)")
            #expect((loss["text"] as? String)?.contains("on node \(failedOn)") == true, "\(loss)")
            let diagnosis = try #require(loss["diagnosis"] as? [String: Any], "\(loss)")
            #expect((diagnosis["log_tail"] as? [String])?.contains("api crashing now") == true, "\(diagnosis)")
            #expect(
                (diagnosis["next_step"] as? String)?.contains("docker service ps --no-trunc \(project.name)_api") == true, "\(diagnosis)")
            let back = try #require(await watch.first { $0["to"] as? String == "ready" && $0["down_seconds"] != nil }, "\(watch.all)")
            #expect((back["engine_restarts"] as? Int ?? 0) >= 1, "\(back)")
            #expect((back["nodes"] as? [String])?.isEmpty == false, "\(back)")
            #expect(await watch.interrupt() == 0)
        }
    }
}
