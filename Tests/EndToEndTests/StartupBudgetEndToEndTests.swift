import Foundation
import LaunchKit
import Testing

/// Starved services on a real engine: the diagnosis names what the container got, and the limit that would fit.
@Suite("startup budgets against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct StartupBudgetEndToEndTests {
    static let image = Busybox.image
    /// A check that never passes, so the service runs into its deadline while it works.
    static let neverHealthy = #"healthcheck: {test: ["CMD", "false"], interval: 1s, timeout: 1s, retries: 3, start_period: 60s}"#

    func launch(_ project: TestProject) async throws -> (status: Int32, failure: [String: Any], stderr: String) {
        let result = try await project.launch(["demo", "--json"])
        let json = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
        let service = (json["services"] as? [[String: Any]])?.first { $0["name"] as? String == "app" }
        return (result.status, (service?["failure"] as? [String: Any]) ?? [:], result.stderr)
    }

    @Test func aServiceStarvedOfCPUFailsNamingThrottlingTheLimitAndALimitThatFits() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, timeout: 4s}",
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]
                        cpus: 0.05
                        \(Self.neverHealthy)
                    """)
            let (status, failure, stderr) = try await launch(project)
            #expect(status == 1)
            #expect(failure["failure"] as? String == "deadline")
            let pressure = (failure["pressure"] as? [String]) ?? []
            #expect(pressure.contains { $0.hasPrefix("CPU throttled in ") && $0.hasSuffix("limit 0.05 CPU)") })
            let resources = try #require(failure["resources"] as? [String: Any])
            #expect(resources["cpu_limit"] as? Double == 0.05)
            #expect(((resources["cpu_throttled_periods"] as? Int) ?? 0) > 0)
            #expect(
                (failure["next_step"] as? String)?.hasPrefix(
                    "raise app's CPU limit (deploy.resources.limits.cpus) from 0.05 to at least 0.1") == true)
            #expect(stderr.contains("resources:"))
            #expect(stderr.contains("CPU throttled in "))
        }
    }

    @Test func aServicePressedAgainstItsMemoryLimitNamesUsageAndLimit() async throws {
        try await E2E.withProject { project in
            // tail holds the whole line until its input ends, which the sleep keeps from happening.
            try project.writeProfile(
                extra: "health: {retries: 0, timeout: 4s}",
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; (head -c 28000000 /dev/zero; sleep 3600) | tail > /dev/null & wait"]
                        mem_limit: 32m
                        \(Self.neverHealthy)
                    """)
            let (status, failure, _) = try await launch(project)
            #expect(status == 1)
            #expect(failure["failure"] as? String == "deadline")
            let pressure = (failure["pressure"] as? [String]) ?? []
            #expect(pressure.contains { $0.hasPrefix("memory peaked at ") && $0.contains(" MiB of its 32 MiB limit (") })
            let resources = try #require(failure["resources"] as? [String: Any])
            #expect(resources["memory_limit_bytes"] as? Int == 32 << 20)
            #expect(
                (failure["next_step"] as? String)?.hasPrefix("raise app's memory limit (deploy.resources.limits.memory) from 32 MiB to ")
                    == true)
        }
    }

    @Test func anOOMKillNamesTheLimitAndSuggestsOne() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, timeout: 30s}",
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: ["sh", "-c", "head -c 64000000 /dev/zero | tail"]
                        mem_limit: 16m
                        memswap_limit: 16m
                        \(Self.neverHealthy)
                    """)
            let (status, failure, _) = try await launch(project)
            #expect(status == 1)
            #expect(failure["failure"] as? String == "oom")
            #expect((failure["pressure"] as? [String])?.contains("OOM-killed at the 16 MiB limit") == true)
            #expect(
                (failure["next_step"] as? String)?.hasPrefix(
                    "raise app's memory limit (deploy.resources.limits.memory) from 16 MiB to at least 32 MiB") == true)
        }
    }

    /// Three real runs, then the plan: p50/p95 per service, a deadline below p95 is a warning, and `learned` uses them.
    @Test func afterAFewRunsThePlanShowsP50AndP95AndWarnsOfADeadlineBelowP95() async throws {
        try await E2E.withProject { project in
            let stack = """
                services:
                  app:
                    image: \(Self.image)
                    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1.5; touch /tmp/ok; sleep 3600 & wait"]
                    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 10s, retries: 3, start_period: 30s}
                """
            try project.writeProfile(extra: "health: {retries: 0, timeout: 20s}", stack: stack)
            for _ in 0..<3 {
                let run = try await project.launch(["demo", "--json"])
                #expect(run.status == 0)
                let down = try await project.launch(["down", "demo"])
                #expect(down.status == 0)
            }
            let plan = try await project.launch(["plan", "demo", "--json"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
            let app = try #require((json["services"] as? [[String: Any]])?.first { $0["name"] as? String == "app" })
            let history = try #require(app["history"] as? [String: Any])
            #expect(history["runs"] as? Int == 3)
            // It sleeps 1.5 s before its check can pass: no run was faster.
            #expect(((history["p95_seconds"] as? Double) ?? 0) >= 1.5)
            #expect(((json["warnings"] as? [String]) ?? []).allSatisfy { !$0.contains("below its p95") })
            let text = try await project.launch(["plan", "demo"])
            #expect(text.stdout.contains("HISTORY"))
            #expect(text.stdout.contains("over 3 runs"))

            try project.writeProfile(extra: "health: {retries: 0, timeout: 1s, stability: 500ms}", stack: stack)
            let tight = try await project.launch(["plan", "demo"])
            #expect(tight.stdout.contains("warning: app: deadline 1s is below its p95 time to ready"))
            #expect(tight.stdout.contains("it would have failed 3 of the last 3 runs"))

            try project.writeProfile(extra: "health: {retries: 0, timeout: learned}", stack: stack)
            let learned = try await project.launch(["plan", "demo", "--json"])
            let learnedJSON = try #require(try JSONSerialization.jsonObject(with: Data(learned.stdout.utf8)) as? [String: Any])
            let learnedApp = try #require((learnedJSON["services"] as? [[String: Any]])?.first { $0["name"] as? String == "app" })
            #expect(learnedApp["deadline_learned"] as? Bool == true)
            #expect(learnedApp["deadline_seconds"] as? Double == LearnedDeadline.floor.seconds)
        }
    }
}
