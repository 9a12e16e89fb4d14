import Foundation
import LaunchKit
import Testing

/// The readiness semantics that Docker Compose's own e2e fixtures exposed, on the real engine: an optional
/// dependency without a healthcheck, a disabled image healthcheck, one crash under `restart: on-failure`, and a
/// service without a healthcheck that exits around its stability window.
@Suite("Readiness semantics Compose's fixtures exposed", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ReadinessSemanticsEndToEndTests {
    static let image = Busybox.image
    static let serve = #"["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"#

    @Test func anOptionalHealthyDependencyWithoutAHealthcheckIsSkippedAsComposeSkipsIt() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 500ms}",
                stack: """
                    services:
                      bar:
                        image: \(Self.image)
                        command: \(Self.serve)
                      foo:
                        image: \(Self.image)
                        command: \(Self.serve)
                        depends_on:
                          bar: {condition: service_healthy, required: false}
                    """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 0, "\(plan.all)")
            #expect(plan.all.contains("foo waits only for it to start"), "\(plan.all)")
            let result = try await project.report()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.service("foo")?["state"] as? String == "ready")
            #expect(result.service("bar")?["state"] as? String == "ready")
        }
    }

    @Test func aDisabledHealthcheckOverAnImageHealthcheckMeansNone() async throws {
        try await E2E.withProject { project in
            // The image's own check can never pass: only `disable: true` lets this stack come up.
            let tag = "\(project.name)-hc:1"
            try project.write("image/Dockerfile", "FROM \(Self.image)\nHEALTHCHECK --interval=250ms --timeout=1s --retries=1 CMD false\n")
            let built = try await E2E.runner.run(
                Command("docker", ["build", "-q", "-t", tag, project.root + "/image"], environment: ["DOCKER_BUILDKIT": "0"]))
            try #require(built.succeeded, "\(built.stderr)")
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 500ms}",
                stack: """
                    services:
                      api:
                        image: \(tag)
                        command: \(Self.serve)
                        healthcheck: {disable: true}
                    """)
            let result = try await project.report()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.readiness("api") == "stable")
        }
    }

    @Test func oneCrashUnderOnFailureIsThePolicyAtWorkNotARestartLoop() async throws {
        try await E2E.withProject { project in
            // retries 0: the engine's one restart must not spend a launch retry.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 500ms}",
                stack: """
                    services:
                      worker:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; if [ ! -f /tmp/crashed ]; then touch /tmp/crashed; sleep 0.3; exit 1; fi; touch /tmp/ok; sleep 3600 & wait"]
                        restart: on-failure
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 2s, retries: 3}
                    """)
            let result = try await project.report()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(["probe", "healthcheck"].contains(result.readiness("worker") ?? ""), "\(result.json)")
            let restarts = try await E2E.docker(["inspect", "--format", "{{.RestartCount}}", "\(project.name)-worker-1"])
            #expect(restarts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
    }

    @Test func aCrashLoopIsNamedWithItsCountAndSpan() async throws {
        try await E2E.withProject { project in
            // It exits at once, and the window is long: even a saturated host cannot stretch one run past it.
            try project.writeProfile(
                extra: "health: {retries: 5, stability: 3s}",
                stack: """
                    services:
                      flaky:
                        image: \(Self.image)
                        command: ["sh", "-c", "exit 3"]
                        restart: always
                    """)
            let result = try await project.report()
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.failure("flaky") == "restart-loop", "\(result.json)")
            #expect(result.stderr.contains("exited 3 times in a row within"), "\(result.stderr)")
        }
    }

    /// Judged by how long the run lasted on the engine's clock: over the window is ready, under it an exit.
    @Test(arguments: [("2.4", "2s", true), ("0.8", "2s", false)])
    func aServiceWithoutAHealthcheckThatExitsNearItsWindow(runs: String, window: String, ready: Bool) async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: \(window)}",
                stack: """
                    services:
                      brief:
                        image: \(Self.image)
                        command: ["sleep", "\(runs)"]
                        restart: "no"
                    """)
            let result = try await project.report()
            if ready {
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.readiness("brief") == "stable")
            } else {
                #expect(result.status == 1, "\(result.stderr)")
                #expect(result.failure("brief") == "exited(0)", "\(result.json)")
            }
        }
    }
}
