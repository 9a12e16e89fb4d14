import Foundation
import Testing
import Yams

@testable import LaunchKit

/// Per-service commands, config, completions, version and the newcomer's rough edges, without Docker.
@Suite("Day two and first contact")
struct DayTwoTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    let compose = Compose(project: "p", files: ["/r/compose/a.yml"], envFile: "/r/.env.demo")

    @Test func perServiceComposeCommandsAreArgumentArrays() {
        let prefix = ["docker", "compose", "--project-name", "p", "--file", "/r/compose/a.yml", "--env-file", "/r/.env.demo"]
        #expect(
            compose.create(services: ["api"], recreate: true).argv == prefix + ["up", "--no-start", "--no-build", "--pull", "never", "api"])
        #expect(
            compose.create(services: ["db", "api"], recreate: false).argv
                == prefix + ["up", "--no-start", "--no-build", "--pull", "never", "--no-recreate", "db", "api"])
        #expect(compose.configHashes(services: ["api", "worker"]).argv == prefix + ["config", "--hash", "api,worker"])
        #expect(ServiceControl.parseHashes("api 549f13af\nworker 0b1c\n") == ["api": "549f13af", "worker": "0b1c"])
        #expect(
            compose.exec(service: "api", arguments: ["sh", "-c", "exit 3"], tty: false).argv
                == prefix + ["exec", "--no-TTY", "api", "sh", "-c", "exit 3"])
        #expect(compose.exec(service: "api", arguments: ["sh"], tty: true).argv == prefix + ["exec", "api", "sh"])
        #expect(compose.configYAML().argv == prefix + ["config"])
        #expect(Docker().logs(container: "c1", follow: true, since: "10m").argv == ["docker", "logs", "--follow", "--since", "10m", "c1"])
    }

    @Test func aReproduceHintCarriesTheFilesAndTheEnvFile() {
        let diagnostics = Diagnostics(
            client: EngineClient(endpoint: EngineEndpoint(socketPath: "/nonexistent")), redact: .none,
            environment: "demo", project: "p", compose: compose)
        let step = diagnostics.nextStep(service: "api", failure: .exited(code: 1), hasProbes: false, hasLogs: true)
        #expect(step.contains("`docker compose --project-name p --file /r/compose/a.yml --env-file /r/.env.demo up api`"))
    }

    static func graph(_ yaml: String) throws -> DependencyGraph {
        try DependencyGraph(ComposeModelReader.read(config: yaml))
    }

    static let stack = """
        services:
          db: {image: x}
          migrate: {image: x, depends_on: {db: {condition: service_healthy}}}
          api: {image: x, depends_on: {db: {condition: service_healthy}, migrate: {condition: service_completed_successfully}}}
          worker: {image: x, depends_on: {api: {condition: service_healthy, restart: true}}}
          ui: {image: x, depends_on: {api: {condition: service_started}}}
        """

    @Test func restartTakesTheDependentsThatAskForIt() throws {
        let graph = try Self.graph(Self.stack)
        #expect(graph.dependencies["worker"]?.first?.restart == true)
        #expect(graph.dependencies["ui"]?.first?.restart == false)
        #expect(ServiceControl.restartSet(["api"], graph: graph) == ["api", "worker"])
        #expect(ServiceControl.restartSet(["db"], graph: graph) == ["db"])
    }

    @Test func settledDependenciesStayOutOfTheWaitedSubStack() throws {
        let graph = try Self.graph(Self.stack)
        #expect(ServiceControl.scope(["worker"], graph: graph) { _ in true } == ["worker"])
        #expect(ServiceControl.scope(["worker"], graph: graph) { $0 != "api" } == ["api", "worker"])
        #expect(ServiceControl.scope(["worker"], graph: graph) { _ in false } == ["db", "migrate", "api", "worker"])
    }

    @Test func anUnknownServiceIsAUsageErrorWithASuggestion() {
        #expect(throws: UsageError.self) { try ServiceControl.validate(["apu"], known: ["api", "db"], environment: "demo") }
        do {
            try ServiceControl.validate(["apu"], known: ["api", "db"], environment: "demo")
        } catch let error as UsageError {
            #expect(error.exitCode == .usage)
            #expect(error.hint == "did you mean `api`?")
        } catch { Issue.record("\(error)") }
    }

    /// Secrets the profile's env file does not know: the stack's own `env_file:`s and `.env` land in `environment`,
    /// and URLs carry passwords. None of them reaches `launch config`.
    @Test func configRedactsEverySourceOfASecretAndPasswordsInURLs() throws {
        let yaml = """
            name: p
            services:
              litellm:
                environment:
                  LITELLM_MASTER_KEY: sk-from-the-stacks-own-env-file
                  POSTGRES_PASSWORD: from-dot-env-9
                  DATABASE_URL: postgres://app:from-dot-env-9@db:5432/app
                  CACHE_URL: redis://:hunter22@redis:6379/0
                  MODE: fast
                  SHORT_KEY: abc
                command: [sh, -c, "psql postgres://app:from-dot-env-9@db/app"]
              web:
                image: nginx
                labels: {mirror: "https://user:mirror-pass@registry.example/v2"}
            """
        let redacted = try ResolvedConfig.redacted(yaml, redact: .none)
        for secret in ["sk-from-the-stacks-own-env-file", "from-dot-env-9", "hunter22", "mirror-pass"] {
            #expect(!redacted.contains(secret), "\(secret) in:\n\(redacted)")
        }
        let tree = try #require(try Yams.load(yaml: redacted) as? [String: Any])
        let services = try #require(tree["services"] as? [String: Any])
        let environment = try #require((services["litellm"] as? [String: Any])?["environment"] as? [String: Any])
        #expect(environment["DATABASE_URL"] as? String == "postgres://app:***@db:5432/app")
        #expect(environment["CACHE_URL"] as? String == "redis://:***@redis:6379/0")
        #expect(environment["MODE"] as? String == "fast")
        #expect(environment["SHORT_KEY"] as? String == "abc", "a short value under a secret-looking key is a setting, not a secret")
    }

    @Test func configRedactionKeepsTheYAMLValid() throws {
        let yaml = """
            name: p
            services:
              api:
                environment:
                  API_TOKEN: qs-secret-value-123
                  MODE: fast
                command: [sh, -c, "echo qs-secret-value-123"]
            """
        let redacted = try ResolvedConfig.redacted(yaml, redact: Redactor(values: ["qs-secret-value-123"]))
        #expect(!redacted.contains("qs-secret-value-123"))
        let tree = try #require(try Yams.load(yaml: redacted) as? [String: Any])
        let api = (tree["services"] as? [String: Any])?["api"] as? [String: Any]
        #expect((api?["environment"] as? [String: Any])?["API_TOKEN"] as? String == "***")
        #expect((api?["environment"] as? [String: Any])?["MODE"] as? String == "fast")
        #expect(api?["command"] as? [String] == ["sh", "-c", "echo ***"])
    }

    @Test func theVersionIsTheChangelogsNewestHeading() throws {
        let changelog = try String(contentsOfFile: Self.packageRoot + "/CHANGELOG.md", encoding: .utf8)
        let heading = try #require(changelog.split(separator: "\n").first { $0.hasPrefix("## ") })
        let version = heading.dropFirst(3).split(separator: " ").first.map(String.init)
        #expect(version == Version.current)
    }

    @Test func completionOffersEnvironmentsAndTheirServices() {
        let quickstart = Self.packageRoot + "/examples/quickstart"
        #expect(
            CompletionCandidates.environments(words: ["launch", "restart", ""], workingDirectory: quickstart) == ["demo", "first-run"])
        #expect(
            CompletionCandidates.services(words: ["launch", "restart", "demo", ""], workingDirectory: quickstart)
                == ["api", "db", "migrate", "worker"])
        #expect(
            CompletionCandidates.services(
                words: ["launch", "exec", "--project-dir", quickstart, "demo", "a"], workingDirectory: "/") == [
                    "api", "db", "migrate", "worker",
                ])
        #expect(CompletionCandidates.services(words: ["launch", "restart", "nope", ""], workingDirectory: quickstart).isEmpty)
        #expect(CompletionCandidates.environments(words: ["launch", "up", ""], workingDirectory: "/").isEmpty)
    }

    @Test func theQuickstartsGitignoreIsCompleteSoRunningItChangesNoTrackedFile() throws {
        let layout = ProjectLayout(root: Self.packageRoot + "/examples/quickstart")
        let catalog = ProfileCatalog.load(layout)
        for profile in catalog.profiles {
            #expect(EnvProvisioner(layout: layout, profile: profile).missingGitignoreLines() == [], "\(profile.name)")
        }
    }

    @Test func anEnclosingRepositorysGitignoreCounts() throws {
        let repository = try TemporaryProject()
        try FileManager.default.createDirectory(atPath: repository.root + "/.git", withIntermediateDirectories: true)
        try repository.write(".gitignore", ".env.*\n.launch/\n.*.launch-*\n/anchored-only-here\n")
        let inner = repository.root + "/examples/stack"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
        #expect(EnvProvisioner.inheritedPatterns(above: inner) == [".env.*", ".launch/", ".*.launch-*"])
        // Outside any repository nothing is inherited.
        let loose = try TemporaryProject()
        #expect(EnvProvisioner.inheritedPatterns(above: loose.root).isEmpty)
    }

    @Test func reportLinesKeepEachFixWithItsCheck() {
        let lines = RunRenderer.errorLines(
            "preflight failed: nothing was started\nport.1: api wants 1\n      fix: stop it\nimage.x: unreachable\n      fix: pull it")
        #expect(
            lines == [
                "error: preflight failed: nothing was started", "  port.1: api wants 1", "      fix: stop it", "  image.x: unreachable",
                "      fix: pull it",
            ])
        #expect(RunRenderer.errorLines("old; joined") == ["error: old; joined"])
    }

    @Test func envJSONIsSnakeCaseWithASchema() throws {
        let outcome = EnvProvisioner.Outcome(
            path: ".env.demo", created: true, addedVariables: ["MODE"], addedSecrets: ["API_TOKEN"], fixedMode: false, addedGitignore: false
        )
        let object = try #require(try JSONSerialization.jsonObject(with: Data(JSONOutput.encode(outcome).utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "kind", "schema", "path", "created", "changed", "added_variables", "added_secrets", "fixed_mode", "added_gitignore",
            ])
        #expect(object["schema"] as? Int == 1)
        #expect(object["added_secrets"] as? [String] == ["API_TOKEN"])
    }

    @Test func aPullNoRegistryAnswersPointsAtTheQuickstart() {
        let failure = PhaseFailure(
            phase: "images", summary: "pulling images for api failed (exit 1); nothing was started",
            evidence: ["Error response from daemon: ..."], hint: "check the network")
        let explained = Launcher.pullFailure(failure, unreachable: ["ghcr.io: connection refused"], registries: 1)
        #expect(explained.summary.contains("no registry answers"))
        #expect(explained.evidence.first == "registry ghcr.io: connection refused")
        #expect(explained.hint?.contains("launch --project-dir examples/quickstart demo") == true)
        #expect(explained.exitCode == .preflightFailed)
        // One registry answered: the failure is something else (credentials, a missing tag); left as it was.
        #expect(Launcher.pullFailure(failure, unreachable: ["ghcr.io: refused"], registries: 2).summary == failure.summary)
    }

    @Test func theQuickstartsOwnImageMissingIsNeverAnsweredWithTheQuickstart() {
        let failure = PhaseFailure(phase: "images", summary: "pulling images failed", evidence: [], hint: nil)
        let explained = Launcher.pullFailure(
            failure, unreachable: ["registry-1.docker.io: no answer"], registries: 1, images: [Launcher.quickstartImage])
        let hint = explained.hint ?? ""
        #expect(!hint.contains("examples/quickstart demo"), "circular: \(hint)")
        #expect(hint.contains(".ci/docker-engine.sh up"))
        // Preflight's fix line for the same image says the same, not "run the quickstart".
        let check = ImageChecks.check(
            image: Launcher.quickstartImage, services: ["api"], present: false,
            registry: ImageChecks.registry(for: Launcher.quickstartImage),
            reachability: .unreachable("connection refused"))
        #expect(check.remediation?.contains("examples/quickstart demo") == false, "\(check.remediation ?? "")")
        #expect(check.remediation?.contains(".ci/docker-engine.sh up") == true)
    }

    @Test func aFakeRunnerRunsInteractiveCommandsToCompletion() async throws {
        let runner = RecordingRunner()
        runner.on(["docker", "compose"], ProcessOutput(status: 7))
        #expect(try await runner.interactive(compose.exec(service: "api", arguments: ["false"], tty: false)) == 7)
    }
}
