import Foundation
import LaunchKit
import Testing

/// Readiness from the service's own check, run by launch inside the container faster than the engine's interval.
@Suite("Exec-probe readiness against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ReadinessEndToEndTests {
    static let image = Busybox.image

    func launch(_ project: TestProject) async throws -> E2E.Report { try await project.report() }

    @Test func aServiceReadyLongBeforeItsFirstScheduledProbeIsReadyAtOnce() async throws {
        try await E2E.withProject { project in
            // The engine probes every 30 s; the profile caps every deadline at 10 s. Only launch's own run of the
            // same check can make db ready in time — and api, which waits for db healthy, starts right after.
            try project.writeProfile(
                extra: "health: {retries: 0, timeout: 10s, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ok; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 30s, timeout: 2s, retries: 3}
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.readiness("db") == "probe")
            #expect(result.service("api")?["state"] as? String == "ready")
        }
    }

    @Test func aProbeThatTimesOutNeverMakesAServiceReady() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "sleep", "5"], interval: 2s, timeout: 500ms, retries: 2}
                        # The engine's verdict decides, not launch's derived deadline, however slowly a loaded host execs.
                        labels: {launch.timeout: 60s}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.failure("db") == "unhealthy", "\(result.stderr)")
        }
    }

    @Test func aProbeCommandMissingFromTheImageLeavesTheVerdictToTheEngine() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "/usr/bin/pg_isready"], interval: 2s, timeout: 1s, retries: 2}
                        labels: {launch.timeout: 60s}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("its healthcheck cannot run"), "\(result.stderr)")
            #expect(result.failure("db") == "unhealthy")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.isEmpty)
        }
    }
}
