import Foundation
import LaunchKit
import Testing

@Suite("plan, list and env against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct PlanEndToEndTests {
    static let environments = ["dev", "staging", "production", "testing", "performance", "monitoring", "optimized", "first-run"]

    /// For every shipped environment and every GPU situation, the plan's file list is accepted by Compose.
    @Test(arguments: ["none", "h100-x1", "h100-x2-nvlink"])
    func shippedEnvironmentsResolveWithEveryOverlay(gpus: String) async throws {
        var environment: [String: String] = [:]
        var fake: String?
        if gpus != "none" {
            let smi = try E2E.fakeNvidiaSMI(gpus)
            environment["PATH"] = smi.path
            fake = smi.directory
        } else {
            environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"  // no nvidia-smi here
        }
        defer { if let fake { try? FileManager.default.removeItem(atPath: fake) } }
        for name in Self.environments {
            let result = try await E2E.launch(["plan", name, "--json"], in: E2E.packageRoot, environment: environment)
            // A GPU-required environment on a machine without GPUs is planned, printed, and refused (exit 2).
            let refused = gpus == "none" && ["staging", "production", "optimized"].contains(name)
            #expect(result.status == (refused ? 2 : 0), "plan \(name): \(result.stderr)")
            if refused { #expect(result.stderr.contains("preflight would refuse \(name) (exit 2)"), "\(result.stderr)") }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(json["model_source"] as? String == "docker compose config")
            let files = try #require(json["compose_files"] as? [String])
            let overlay = try #require(json["overlay"] as? [String: Any])
            let expectedOverlay: String? =
                switch (name, gpus) {
                case ("testing", _), ("performance", _): nil
                case (_, "h100-x2-nvlink"): "docker-compose.multi-gpu.yml"
                case (_, "h100-x1"): "docker-compose.single-gpu.yml"
                case ("staging", _), ("production", _), ("optimized", _): nil  // GPU required, no CPU fallback
                default: "docker-compose.cpu.yml"
                }
            #expect(overlay["file"] as? String == expectedOverlay, "\(name) with \(gpus)")
            let arguments =
                ["compose", "--project-name", "plan-check"] + files.flatMap { ["--file", E2E.packageRoot + "/" + $0] } + [
                    "config", "--quiet",
                ]
            let config = try await E2E.docker(arguments)
            #expect(config.status == 0, "docker compose config rejected \(name): \(config.stderr)")
        }
    }

    @Test func aBusyboxStackIsPlannedFromComposeConfig() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {core: [db], optional: [web]}\nsecrets: {TOKEN: {length: 20}}",
                stack: """
                    services:
                      db:
                        image: \(Busybox.image)
                        command: ["sleep", "3600"]
                        healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 1s, retries: 2, start_period: 3s}
                        ports: ["127.0.0.1:0:80"]
                      migrate:
                        image: \(Busybox.image)
                        command: ["true"]
                        depends_on: {db: {condition: service_healthy}}
                      web:
                        image: \(Busybox.image)
                        command: ["sleep", "3600"]
                        environment: {TOKEN: "${TOKEN}"}
                        depends_on:
                          db: {condition: service_healthy}
                          migrate: {condition: service_completed_successfully}
                    """)
            let result = try await project.launch(["plan", "demo", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(plan["levels"] as? [[String]] == [["db"], ["migrate"], ["web"]])
            #expect(plan["project"] as? String == project.name)
            let services = try #require(plan["services"] as? [[String: Any]])
            let byName = Dictionary(uniqueKeysWithValues: services.map { ($0["name"] as? String ?? "", $0) })
            #expect(byName["db"]?["readiness"] as? String == "healthy")
            #expect(byName["db"]?["deadline_seconds"] as? Double == 9)  // 3 + 2 × (1 + 1) + 2
            #expect(byName["migrate"]?["readiness"] as? String == "exit 0")
            #expect(byName["web"]?["class"] as? String == "optional")
            #expect(byName["web"]?["readiness"] as? String == "running 2s")

            let text = try await project.launch(["demo", "--dry-run"])
            #expect(text.status == 0)
            #expect(text.stdout.contains("Plan for demo"))
            #expect(text.stdout.contains("up --no-start"))
        }
    }

    @Test func envCreatesSecretsWithoutPrintingThem() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "variables: {MODE: fast}\nsecrets: {DB_PASSWORD: {length: 32}, API_KEY: {length: 40, prefix: \"sk-\"}}",
                stack: "services:\n  s:\n    image: \(Busybox.image)\n")
            let first = try await project.launch(["env", "demo"])
            #expect(first.status == 0)
            let text = try project.read(".env.demo")
            let values = EnvFile(parsing: text).values
            let secret = try #require(values["DB_PASSWORD"])
            let key = try #require(values["API_KEY"])
            #expect(secret.count == 32 && key.hasPrefix("sk-") && key.count == 43)
            #expect(!first.all.contains(secret) && !first.all.contains(key))
            #expect(first.stderr.contains("generated 2 secret(s): DB_PASSWORD, API_KEY (values not shown)"))
            #expect(AtomicFile.mode(of: project.root + "/.env.demo") == 0o600)
            let second = try await project.launch(["env", "demo"])
            #expect(second.stderr.contains("is complete; nothing changed"))
            #expect(try project.read(".env.demo") == text)
        }
    }

    @Test func badInputGetsDocumentedExitCodes() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(stack: "services:\n  s:\n    image: \(Busybox.image)\n")
            let unknown = try await project.launch(["plan", "dmeo"])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("unknown environment `dmeo`"))
            #expect(unknown.stderr.contains("did you mean `demo`?"))

            try project.write("environments/broken.yml", "name: broken\ncompose: {project: x, files: [nope.yml]}\nhealth: {retrys: 2}\n")
            let broken = try await project.launch(["plan", "broken"])
            #expect(broken.status == 65)
            #expect(broken.stderr.contains("environments/broken.yml:2"))
            #expect(broken.stderr.contains("environments/broken.yml:3:10: unknown key `retrys` in health"))

            try project.write(
                "compose/cycle.yml",
                """
                services:
                  a: {image: \(Busybox.image), depends_on: [b]}
                  b: {image: \(Busybox.image), depends_on: [a]}
                """)
            try project.write("environments/cycle.yml", "name: cycle\ncompose: {project: \(project.name), files: [cycle.yml]}\n")
            let cycle = try await project.launch(["plan", "cycle"])
            #expect(cycle.status == 65)
            #expect(cycle.stderr.contains("cycle"))

            let elsewhere = try await E2E.launch(["list"], in: "/")
            #expect(elsewhere.status == 64)
            #expect(elsewhere.stderr.contains("--project-dir"))
        }
    }
}
