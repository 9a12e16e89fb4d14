import Foundation
import LaunchKit
import Testing

/// Compose profiles and `include:` on a real engine: what the environment names runs, nothing else does.
@Suite("Compose profiles and include against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ComposeProfilesEndToEndTests {
    static let image = Busybox.image
    static let policy = "health: {retries: 0, backoff: 200ms, stability: 1s}"
    static let sleeper = #"["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"#

    static func serviceNames(_ stdout: String) throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        return (json?["services"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
    }

    static func containers(_ project: TestProject) async throws -> [String] {
        let output = try await E2E.docker([
            "ps", "-a", "--filter", "label=com.docker.compose.project=\(project.name)",
            "--format", "{{.Label \"com.docker.compose.service\"}}",
        ])
        return output.stdout.split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    @Test func aNamedCoreServiceBehindAnInactiveProfileIsActivatedAndOthersStayOff() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {core: [app, worker]}\n" + Self.policy,
                stack: """
                    services:
                      app: {image: \(Self.image), command: \(Self.sleeper)}
                      worker: {image: \(Self.image), command: \(Self.sleeper), profiles: [work]}
                      debug: {image: \(Self.image), command: \(Self.sleeper), profiles: [debug]}
                    """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 0, "\(plan.all)")
            #expect(plan.stdout.contains("`work` activated: the environment names worker"), "\(plan.all)")
            #expect(plan.stdout.contains("Services (2;"), "\(plan.all)")
            let up = try await project.launch(["demo", "--no-network", "--json"])
            #expect(up.status == 0, "\(up.all)")
            #expect(try Self.serviceNames(up.stdout) == ["app", "worker"])
            #expect(try await Self.containers(project) == ["app", "worker"])
        }
    }

    /// What Compose itself says the services are, run in the project's compose/ directory with `extra` arguments.
    static func composeServices(_ project: TestProject, _ extra: [String] = []) async throws -> [String] {
        let output = try await E2E.runner.run(
            Command(
                "docker",
                ["compose", "--project-name", project.name, "--file", project.root + "/compose/stack.yml"] + extra + [
                    "config", "--services",
                ],
                workingDirectory: project.root + "/compose"))
        #expect(output.succeeded, "\(output.stderr)")
        return output.stdout.split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    @Test func aProfileThatArrivesThroughAMergeKeyIsActivatedForANamedService() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {core: [app, vllm]}\n" + Self.policy,
                stack: """
                    x-gpu: &gpu {profiles: [gpu]}
                    services:
                      app: {image: \(Self.image), command: \(Self.sleeper)}
                      vllm: {<<: *gpu, image: \(Self.image), command: \(Self.sleeper)}
                      other: {<<: *gpu, image: \(Self.image), command: \(Self.sleeper)}
                    """)
            let plan = try await project.launch(["plan", "demo", "--json"])
            #expect(plan.status == 0, "\(plan.all)")
            let planned = try Self.serviceNames(plan.stdout)
            #expect(planned == ["app", "other", "vllm"], "\(plan.all)")
            #expect(planned == (try await Self.composeServices(project, ["--profile", "gpu"])))
        }
    }

    @Test func anInterpolatedComposeProfilesInDotEnvGivesTheServicesComposeGives() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app: {image: \(Self.image), command: \(Self.sleeper)}
                      es: {image: \(Self.image), command: \(Self.sleeper), profiles: [elasticsearch]}
                      infinity: {image: \(Self.image), command: \(Self.sleeper), profiles: [infinity]}
                      cpu-worker: {image: \(Self.image), command: \(Self.sleeper), profiles: [cpu]}
                      gpu-worker: {image: \(Self.image), command: \(Self.sleeper), profiles: [gpu]}
                    """)
            // As RAGFlow's .env writes it: the profiles come from variables defined above them.
            try project.write("compose/.env", "DOC_ENGINE=elasticsearch\nDEVICE=cpu\nCOMPOSE_PROFILES=${DOC_ENGINE},${DEVICE}\n")
            let plan = try await project.launch(["plan", "demo", "--json"])
            #expect(plan.status == 0, "\(plan.all)")
            let planned = try Self.serviceNames(plan.stdout)
            #expect(planned == ["app", "cpu-worker", "es"], "\(plan.all)")
            #expect(planned == (try await Self.composeServices(project)))
        }
    }

    @Test func aNamedServiceComposeDoesNotDefineIsAnErrorWithItsLine() async throws {
        try await E2E.withProject { project in
            // The base file defines `legacy`; the override removes it (Compose's `!reset`), so Compose has no such service.
            try project.write("compose/override.yml", "services:\n  legacy: !reset null\n")
            try project.writeProfile(
                extra: "services:\n  core: [app]\n  optional: [legacy]\n" + Self.policy,
                stack: """
                    services:
                      app: {image: \(Self.image), command: \(Self.sleeper)}
                      legacy: {image: \(Self.image), command: \(Self.sleeper)}
                    """)
            try project.write(
                "environments/demo.yml",
                (try project.read("environments/demo.yml")).replacingOccurrences(
                    of: "files: [stack.yml]", with: "files: [stack.yml, override.yml]"))
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 65, "\(plan.all)")
            #expect(plan.stderr.contains("service `legacy` is named by this environment but Compose does not define it"), "\(plan.all)")
            #expect(plan.stderr.contains("environments/demo.yml:7"), "\(plan.all)")
        }
    }

    /// NVIDIA RAG's `.env` line `export NVIDIA_API_KEY=${NGC_API_KEY}` finds the key in the profile's env file, as it
    /// would in an exported shell variable: the container gets the key, not a blank.
    @Test func theProjectsDotEnvResolvesFromTheProfilesEnvFileAsFromTheShell() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "secrets: {NGC_API_KEY: {length: 24}}\n" + Self.policy,
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: \(Self.sleeper)
                        environment: {NVIDIA_API_KEY: "${NVIDIA_API_KEY}"}
                    """)
            try project.write("compose/.env", "export NVIDIA_API_KEY=${NGC_API_KEY}\n")
            let up = try await project.launch(["demo", "--no-network"])
            #expect(up.status == 0, "\(up.all)")
            let key = try #require(EnvFile(parsing: try project.read(".env.demo")).values["NGC_API_KEY"])
            let seen = try await E2E.docker(["exec", "\(project.name)-app-1", "sh", "-c", "echo \"$NVIDIA_API_KEY\""])
            #expect(seen.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key)
            // The shell still wins over the env file.
            let shell = try await project.launch(["config", "demo", "--show-secrets"], environment: ["NGC_API_KEY": "from-the-shell"])
            #expect(shell.stdout.contains("NVIDIA_API_KEY: from-the-shell"), "\(shell.all)")
        }
    }

    @Test func everyMissingRequiredVariableIsNamedAtItsLineWithWhereToSetIt() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "secrets: {SESSION_SECRET: {length: 16}}\n" + Self.policy,
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: \(Self.sleeper)
                        environment:
                          DB_PASSWORD: ${DB_PASSWORD:?set the database password}
                          API_KEY: ${API_KEY?}
                          SESSION_SECRET: ${SESSION_SECRET:?}
                    """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 65, "\(plan.all)")
            #expect(plan.stderr.contains("compose/stack.yml:6:1: required variable DB_PASSWORD is not set"), "\(plan.stderr)")
            #expect(plan.stderr.contains("compose/stack.yml:7:1: required variable API_KEY is not set"), "\(plan.stderr)")
            #expect(plan.stderr.contains("(2 problems)"), "\(plan.stderr)")
            #expect(plan.stderr.contains("set DB_PASSWORD=… in .env.demo"), "\(plan.stderr)")
            // A secret launch writes into the env file is not missing.
            #expect(!plan.stderr.contains("SESSION_SECRET"), "\(plan.stderr)")
            // Doctor still runs every check it can, and fails on each variable.
            let doctor = try await project.launch(["doctor", "demo", "--json", "--no-network"])
            #expect(doctor.status == 2, "\(doctor.all)")
            let report = try DoctorEndToEndTests.Report(doctor)
            #expect(report.status("variable.DB_PASSWORD") == "fail")
            #expect(report.evidence("variable.API_KEY").hasPrefix("compose/stack.yml:7:1: required by the stack"))
            #expect(report.status("docker.daemon") == "ok", "\(doctor.stdout)")
        }
    }

    @Test func theProfileKeyTheFlagAndComposeProfilesActivateProfiles() async throws {
        try await E2E.withProject { project in
            try project.write(
                "compose/stack.yml",
                """
                services:
                  app: {image: \(Self.image), command: \(Self.sleeper)}
                  debug: {image: \(Self.image), command: \(Self.sleeper), profiles: [debug]}
                  metrics: {image: \(Self.image), command: \(Self.sleeper), profiles: [metrics]}
                  extra: {image: \(Self.image), command: \(Self.sleeper), profiles: [extra]}
                """)
            try project.write(
                "environments/demo.yml",
                """
                name: demo
                compose: {project: \(project.name), files: [stack.yml], profiles: [metrics]}
                env_file: .env.demo
                \(Self.policy)
                """)
            let plain = try await project.launch(["plan", "demo", "--json"])
            #expect(plain.status == 0, "\(plain.all)")
            #expect(try Self.serviceNames(plain.stdout) == ["app", "metrics"])
            let flagged = try await project.launch(
                ["plan", "demo", "--json", "--profile", "debug"], environment: ["COMPOSE_PROFILES": "extra"])
            #expect(try Self.serviceNames(flagged.stdout) == ["app", "debug", "extra", "metrics"], "\(flagged.all)")
            let up = try await project.launch(["demo", "--no-network", "--profile", "debug"])
            #expect(up.status == 0, "\(up.all)")
            #expect(try await Self.containers(project) == ["app", "debug", "metrics"])
        }
    }

    @Test func servicesFromAnIncludedFileAreClassifiedAndAwaited() async throws {
        try await E2E.withProject { project in
            try project.write(
                "compose/db/db.yml",
                """
                services:
                  db:
                    image: \(Self.image)
                    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 3600 & wait"]
                    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, timeout: 10s, retries: 30}
                """)
            try project.writeProfile(
                extra: "services: {core: [db, web]}\n" + Self.policy,
                stack: """
                    include:
                      - db/db.yml
                    services:
                      web:
                        image: \(Self.image)
                        command: \(Self.sleeper)
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let plan = try await project.launch(["plan", "demo", "--json"])
            #expect(plan.status == 0, "\(plan.all)")
            #expect(try Self.serviceNames(plan.stdout) == ["db", "web"])
            #expect(plan.stdout.contains("\"readiness\" : \"healthy\""), "\(plan.all)")
            let up = try await project.launch(["demo", "--no-network", "--json"])
            #expect(up.status == 0, "\(up.all)")
            #expect(try await E2E.engineHealth("\(project.name)-db-1") == "healthy")
        }
    }

    @Test func aBadSettingInAnIncludedFileNamesThatFileAndLine() async throws {
        try await E2E.withProject { project in
            try project.write(
                "compose/db/db.yml",
                """
                services:
                  db:
                    image: \(Self.image)
                    labels: {launch.timeout: "soon"}
                """)
            try project.writeProfile(extra: Self.policy, stack: "include: [db/db.yml]\nservices:\n  web: {image: \(Self.image)}\n")
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 65, "\(plan.all)")
            #expect(plan.all.contains("compose/db/db.yml:4"), "\(plan.all)")
        }
    }

    @Test func aServiceWithoutAnyHealthcheckIsAPlanWarningNamingTheCheckToAdd() async throws {
        try await E2E.withProject { project in
            // The vLLM image is never pulled: `plan` reads the model and asks the engine whether the image is here.
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app: {image: \(Self.image), command: \(Self.sleeper)}
                      llm:
                        image: vllm/vllm-openai:v0.6.3
                        depends_on: {app: {condition: service_started, required: false}}
                    """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 0, "\(plan.all)")
            #expect(plan.stdout.contains("warning: app has no healthcheck"), "\(plan.all)")
            #expect(plan.stdout.contains("running is not serving"), "\(plan.all)")
            // Not pulled yet: one warning, with the check to add if the image brings none.
            #expect(plan.stdout.contains(#"warning: llm: image vllm/vllm-openai:v0.6.3 is not present"#), "\(plan.all)")
            #expect(plan.stdout.contains(#"http://localhost:8000/health"#), "\(plan.all)")
            let json = try await project.launch(["plan", "demo", "--json"])
            #expect(json.stdout.contains("app (service_started, optional)"), "\(json.all)")
        }
    }

    @Test func aContainerNameAnotherProjectHoldsFailsDoctorNamingThatProject() async throws {
        try await E2E.withProject { project in
            let held = "\(project.name)-held", other = "\(project.name)-other"
            let created = try await E2E.docker([
                "create", "--name", held, "--label", "com.docker.compose.project=\(other)", Self.image, "true",
            ])
            #expect(created.status == 0, "\(created.stderr)")
            do {
                try project.writeProfile(
                    extra: Self.policy,
                    stack: """
                        services:
                          db: {image: \(Self.image), command: \(Self.sleeper), container_name: \(held)}
                        """)
                let doctor = try await project.launch(["doctor", "demo", "--no-network", "--no-gpu-smoke"])
                #expect(doctor.status == 2, "\(doctor.all)")
                #expect(
                    doctor.all.contains("container name \(held) is already held by a container of compose project `\(other)`"),
                    "\(doctor.all)")
                #expect(doctor.all.contains("floating tags"), "\(doctor.all)")
            } catch {
                _ = try? await E2E.docker(["rm", "-f", held])
                throw error
            }
            _ = try? await E2E.docker(["rm", "-f", held])
        }
    }

    /// Builds use the classic builder here (this engine has no buildx), as Compose does with DOCKER_BUILDKIT=0.
    static let classicBuilder = ["DOCKER_BUILDKIT": "0"]

    @Test func aChangedBuildContextIsRebuiltAndWhatRunsIsTheEdit() async throws {
        try await E2E.withProject { project in
            // The label makes every image this test builds (the superseded, untagged ones too) the fixture's to remove.
            try project.write(
                "compose/app/Dockerfile",
                """
                FROM \(Self.image)
                LABEL launch.e2e=\(project.name)
                COPY message.txt /message.txt
                CMD ["sh", "-c", "trap 'exit 0' TERM; echo message=$(cat /message.txt); sleep 3600 & wait"]
                """)
            try project.write("compose/app/message.txt", "one")
            try project.write("compose/app/.dockerignore", "notes.txt\n")
            try project.write("compose/app/notes.txt", "a")
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app:
                        build: {context: ./app}
                        image: \(project.name)-app
                    """)
            let first = try await project.launch(["demo", "--no-network"], environment: Self.classicBuilder)
            #expect(first.status == 0, "\(first.all)")
            #expect(first.all.contains("app (build (image missing))"), "\(first.all)")
            let label = try await E2E.docker([
                "image", "inspect", "--format", "{{index .Config.Labels \"launch.context-hash\"}}", "\(project.name)-app",
            ])
            #expect(label.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 64, "\(label.stdout)")

            // An ignored file changes nothing; a sent one makes the plan say so.
            try project.write("compose/app/notes.txt", "b")
            let unchanged = try await project.launch(["plan", "demo"])
            #expect(unchanged.stdout.contains("keep (context unchanged)"), "\(unchanged.all)")
            try project.write("compose/app/message.txt", "two")
            let changed = try await project.launch(["plan", "demo"])
            #expect(changed.stdout.contains("build (context changed)"), "\(changed.all)")

            // --no-build keeps the old image; the next plain launch runs the edit.
            let kept = try await project.launch(["demo", "--no-network", "--no-build"], environment: Self.classicBuilder)
            #expect(kept.status == 0, "\(kept.all)")
            #expect(!kept.all.contains("building app"), "\(kept.all)")
            let second = try await project.launch(["demo", "--no-network"], environment: Self.classicBuilder)
            #expect(second.status == 0, "\(second.all)")
            #expect(second.all.contains("app (build (context changed))"), "\(second.all)")
            let logs = try await project.launch(["logs", "demo", "app"])
            #expect(logs.all.contains("message=two"), "\(logs.all)")
            let forced = try await project.launch(["demo", "--no-network", "--build"], environment: Self.classicBuilder)
            #expect(forced.status == 0, "\(forced.all)")
            #expect(forced.all.contains("building app"), "\(forced.all)")
        }
    }

    /// A build arg is part of what is built: changing it rebuilds, and what runs is the new value.
    @Test func aChangedBuildArgIsRebuiltAndRuns() async throws {
        try await E2E.withProject { project in
            try project.write(
                "compose/app/Dockerfile",
                """
                FROM \(Self.image)
                LABEL launch.e2e=\(project.name)
                ARG MODE=none
                RUN echo "$MODE" > /mode.txt
                CMD ["sh", "-c", "trap 'exit 0' TERM; echo mode=$(cat /mode.txt); sleep 3600 & wait"]
                """)
            func stack(_ mode: String) throws {
                try project.writeProfile(
                    extra: Self.policy,
                    stack: """
                        services:
                          app:
                            build: {context: ./app, args: {MODE: \(mode)}}
                            image: \(project.name)-app
                        """)
            }
            try stack("fast")
            let first = try await project.launch(["demo", "--no-network"], environment: Self.classicBuilder)
            #expect(first.status == 0, "\(first.all)")
            #expect(try await project.launch(["plan", "demo"]).stdout.contains("keep (context unchanged)"))
            try stack("slow")
            let changed = try await project.launch(["plan", "demo"])
            #expect(changed.stdout.contains("build (context changed)"), "\(changed.all)")
            let second = try await project.launch(["demo", "--no-network"], environment: Self.classicBuilder)
            #expect(second.status == 0, "\(second.all)")
            let logs = try await project.launch(["logs", "demo", "app"])
            #expect(logs.all.contains("mode=slow"), "\(logs.all)")
        }
    }

    @Test func pullPolicyNeverRefusesAMissingImageBeforeAnythingStarts() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app: {image: \(project.name)-absent:1, pull_policy: never, command: \(Self.sleeper)}
                    """)
            let up = try await project.launch(["demo", "--no-network"])
            #expect(up.status == 2, "\(up.all)")
            #expect(up.all.contains("pull_policy: never"), "\(up.all)")
            #expect(try await Self.containers(project).isEmpty)
        }
    }

    @Test func lifecycleKeysTheInstalledComposeIgnoresAreNamedWithTheVersionThatWould() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      app:
                        image: \(Self.image)
                        command: \(Self.sleeper)
                        pre_stop:
                          - command: [echo, bye]
                    """)
            let version = try await E2E.docker(["compose", "version", "--short"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.status == 0, "\(plan.all)")
            if ComposeLifecycle.isAtLeast(version, "2.30.0") {
                #expect(!plan.stdout.contains("`pre_stop` of app"), "\(plan.all)")
            } else {
                #expect(
                    plan.stdout.contains(
                        "`pre_stop` of app (compose/stack.yml:5) needs Compose 2.30.0 or newer; the installed \(version) ignores it"),
                    "\(plan.all)")
            }
        }
    }

    @Test func aFailedOptionalDependencyDoesNotBlockItsDependent() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "services: {core: [web], optional: [cache]}\n" + Self.policy,
                stack: """
                    services:
                      cache: {image: \(Self.image), command: ["sh", "-c", "exit 3"]}
                      web:
                        image: \(Self.image)
                        command: \(Self.sleeper)
                        depends_on: {cache: {condition: service_started, required: false}}
                    """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.stdout.contains("cache:started(optional)"), "\(plan.all)")
            let up = try await project.launch(["demo", "--no-network", "--json"])
            #expect(up.status == 0, "\(up.all)")
            let json = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
            let services = json?["services"] as? [[String: Any]] ?? []
            let states = Dictionary(
                uniqueKeysWithValues: services.compactMap { service in
                    (service["name"] as? String).map { ($0, service["state"] as? String ?? "") }
                })
            #expect(states == ["cache": "failed", "web": "ready"], "\(up.all)")
            #expect(json?["outcome"] as? String == "degraded", "\(up.all)")
        }
    }
}
