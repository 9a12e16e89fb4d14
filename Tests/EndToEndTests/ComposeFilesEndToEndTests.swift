import Foundation
import LaunchKit
import Testing

/// The compose files users really have: required secrets, Compose's own `.env`, image healthchecks, impossible
/// conditions, and `--json` on every failure.
@Suite("Real users' compose files against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ComposeFilesEndToEndTests {
    static let image = Busybox.image
    static let policy = "health: {retries: 0, backoff: 200ms, stability: 1s}"

    @Test func requiredSecretsWorkOnAFreshCheckoutAndNeverLeak() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "secrets: {DB_PASSWORD: {length: 24}}\n" + Self.policy,
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo started with $${#DB_PASSWORD}-char password; sleep 3600 & wait"]
                        environment:
                          DB_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env.demo}
                    """)
            let envPath = project.root + "/.env.demo"
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 0, "\(plan.all)")
            let doctor = try await project.launch(["doctor", "demo", "--no-network"])
            #expect(doctor.status == 0, "\(doctor.all)")
            // Neither wrote anything.
            #expect(!FileManager.default.fileExists(atPath: envPath))
            let up = try await project.launch(["demo", "--no-network"])
            #expect(up.status == 0, "\(up.all)")
            let attributes = try FileManager.default.attributesOfItem(atPath: envPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let secret = try #require(
                try project.read(".env.demo").split(separator: "\n").first { $0.hasPrefix("DB_PASSWORD=") }?
                    .dropFirst("DB_PASSWORD=".count))
            let logs = try await project.launch(["logs", "demo", "db"])
            for output in [plan.all, doctor.all, up.all, logs.all] { #expect(!output.contains(secret)) }
        }
    }

    @Test func composesOwnDotEnvIsReadBeneathTheProfilesEnvFile() async throws {
        try await E2E.withProject { project in
            // IMAGE and GREETING come from compose/.env, as Compose reads it; the profile's env file overrides GREETING.
            try project.write("compose/.env", "IMAGE=\(Self.image)\nGREETING=from-dotenv\nCOMPOSE_PROFILES=extra\n")
            try project.write(".env.demo", "GREETING=from-profile\n")
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app:
                        image: ${IMAGE}
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo greeting=$$GREETING; sleep 3600 & wait"]
                        environment: {GREETING: "${GREETING}"}
                      sidecar:
                        image: ${IMAGE}
                        profiles: [extra]
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                    """)
            let up = try await project.launch(["demo", "--no-network", "--json"])
            #expect(up.status == 0, "\(up.all)")
            let json = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
            let names = (json?["services"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
            // COMPOSE_PROFILES from .env activates the sidecar, as it does for `docker compose up`.
            #expect(names == ["app", "sidecar"])
            var logs = try await project.launch(["logs", "demo", "app"])
            _ = await E2E.eventually(within: .seconds(10)) {
                logs = (try? await project.launch(["logs", "demo", "app"])) ?? logs
                return logs.all.contains("greeting=from-profile")
            }
            #expect(logs.all.contains("greeting=from-profile"), "\(logs.all)")
        }
    }

    @Test func serviceHealthyOnAServiceWithoutAHealthcheckIsRefusedBeforeAnythingStarts() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                      web:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let up = try await project.launch(["demo", "--no-network", "--json"])
            #expect(up.status == 65, "\(up.all)")
            #expect(up.stderr.contains("web waits for db to be healthy"))
            let json = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
            #expect((json?["error"] as? [String: Any])?["code"] as? String == "invalid_configuration")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.isEmpty)
        }
    }

    @Test func anImageHealthcheckThatNeverPassesFailsTheLaunch() async throws {
        // An image with its own HEALTHCHECK (built locally from the test image; removed at the end).
        let tag = "launch-e2e-hc-\(UUID().uuidString.prefix(8).lowercased()):1"
        let context = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-img-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM \(Self.image)\nHEALTHCHECK --interval=250ms --timeout=1s --retries=2 CMD false\nCMD [\"sleep\", \"3600\"]\n"
            .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
        let built = try await E2E.runner.run(Command("docker", ["build", "-q", "-t", tag, context], environment: ["DOCKER_BUILDKIT": "0"]))
        try #require(built.succeeded, "\(built.stderr)")
        defer {
            try? FileManager.default.removeItem(atPath: context)
        }
        do {
            try await E2E.withProject { project in
                try project.writeProfile(
                    extra: Self.policy,
                    stack: """
                        services:
                          api:
                            image: \(tag)
                        """)
                let plan = try await project.launch(["plan", "demo", "--json"])
                let planJSON = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
                let readiness =
                    ((planJSON?["services"] as? [[String: Any]])?.first)?["ready_when"] as? String
                    ?? ((planJSON?["services"] as? [[String: Any]])?.first)?["readiness"] as? String
                #expect(readiness == "healthy", "\(plan.stdout)")
                let up = try await project.launch(["demo", "--no-network"])
                #expect(up.status == 1, "\(up.all)")
                #expect(up.stderr.contains("unhealthy"))
                let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
                #expect(left.stdout.isEmpty)
            }
        } catch {
            _ = try? await E2E.docker(["rmi", "-f", tag])
            throw error
        }
        _ = try? await E2E.docker(["rmi", "-f", tag])
    }

    @Test func everyFailureClassPrintsOneJSONDocument() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {backoff: 99999h}", stack: "services: {a: {image: \(Self.image)}}\n")
            for (arguments, code) in [
                (["nosuchenv", "--json"], "usage"), (["plan", "demo", "--bogus", "--json"], "usage"),
                (["demo", "--json"], "invalid_configuration"), (["plan", "demo", "--json"], "invalid_configuration"),
            ] {
                let result = try await project.launch(arguments)
                let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                #expect((json?["error"] as? [String: Any])?["code"] as? String == code, "\(arguments): \(result.all)")
            }
        }
    }
}
