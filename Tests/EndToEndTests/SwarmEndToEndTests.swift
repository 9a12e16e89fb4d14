import Foundation
import LaunchKit
import Testing

/// `launch <env> --engine swarm` on a single-node swarm the test makes (and leaves again, only if it made it),
/// each test with its own stack `launch-e2e-<random>`, everything it created removed at the end.
@Suite("launch on a real single-node swarm", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct SwarmEndToEndTests {
    /// Makes this engine a single-node swarm when it is not one, runs `body`, and leaves the swarm only if it made it.
    static func withSwarm<T>(_ body: () async throws -> T) async throws -> T {
        let state = try await E2E.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
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
            let ids = ((try? await E2E.docker(kind + ["--filter", label]))?.stdout ?? "").split(whereSeparator: \.isNewline).map(String.init)
            if !ids.isEmpty { _ = try? await E2E.docker([kind[0], "rm"] + ids) }
        }
        // Networks and volumes are in use until the services' tasks are gone: retry, bounded.
        for _ in 0..<60 {
            let containers = ((try? await E2E.docker(["ps", "-aq", "--filter", label]))?.stdout ?? "").split(whereSeparator: \.isNewline).map(String.init)
            if !containers.isEmpty { _ = try? await E2E.docker(["rm", "-f"] + containers) }
            let networks = ((try? await E2E.docker(["network", "ls", "-q", "--filter", label]))?.stdout ?? "").split(whereSeparator: \.isNewline).map(String.init)
            if !networks.isEmpty { _ = try? await E2E.docker(["network", "rm"] + networks) }
            let volumes = ((try? await E2E.docker(["volume", "ls", "-q", "--filter", label]))?.stdout ?? "").split(whereSeparator: \.isNewline).map(String.init)
            if !volumes.isEmpty { _ = try? await E2E.docker(["volume", "rm", "-f"] + volumes) }
            if containers.isEmpty && networks.isEmpty && volumes.isEmpty { return }
            try? await Task.sleep(for: .milliseconds(250))
        }
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

            // A second launch would deploy the held file over the running stack: refused, nothing changed.
            let again = try await project.launch(["demo", "--engine", "swarm", "--no-cleanup"])
            #expect(again.status == 2)
            #expect(again.stderr.contains("already deployed"))

            let status = try await project.launch(["status", "demo", "--engine", "swarm", "--json"])
            let statusJSON = Self.json(status.stdout)
            let services = try #require(statusJSON["services"] as? [[String: Any]])
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
            try project.writeProfile(extra: "engine: swarm\nhealth: {stability: 2s}", stack: """
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
            #expect((failure["reason"] as? String)?.contains("non-zero exit (3)") == true)
            #expect((failure["log_tail"] as? [String])?.contains { $0.contains("cannot reach the database") } == true)
            let rollback = try #require(json["rollback"] as? [String: Any])
            #expect((rollback["removed_services"] as? [String])?.sorted() == ["\(project.name)_api", "\(project.name)_db"])
            #expect((rollback["removed_networks"] as? [String]) == ["\(project.name)_default"])
            let label = "label=com.docker.stack.namespace=\(project.name)"
            #expect(try await Self.names(["service", "ls", "-q", "--filter", label]) == [])
            #expect(try await Self.names(["network", "ls", "-q", "--filter", label]) == [])
            // The volume is data: it stays.
            #expect(try await Self.names(["volume", "ls", "--format", "{{.Name}}", "--filter", label]) == ["\(project.name)_data"])
        }
    }
}
