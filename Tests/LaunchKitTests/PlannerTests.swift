import Testing

@testable import LaunchKit

@Suite("Plans")
struct PlannerTests {
    private func plan(gpuFixture: String?, composeMissing: Bool = true) async throws -> (LaunchPlan, RecordingRunner) {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                gpu: {mode: optional, single: gpu-single.yml, dual: gpu-dual.yml}
                services: {core: [db], optional: [web]}
                secrets: {DB_PASSWORD: {length: 24}}
                """)
        let runner = RecordingRunner()
        if let gpuFixture {
            runner.on(
                ["nvidia-smi", "--query-gpu"], ProcessOutput(status: 0, stdout: try Fixture.text("nvidia-smi/\(gpuFixture)/query-gpu.csv")))
            runner.on(
                [
                    "nvidia-smi",
                    "--query-gpu=index,name,uuid,memory.total,memory.used,memory.free,utilization.gpu,driver_version,pci.bus_id,compute_cap",
                ],
                ProcessOutput(status: 0, stdout: try Fixture.text("nvidia-smi/\(gpuFixture)/query-gpu.csv")))
            runner.on(
                ["nvidia-smi", "topo", "-m"],
                ProcessOutput(status: 0, stdout: (try? Fixture.text("nvidia-smi/\(gpuFixture)/topo-m.txt")) ?? ""))
            // MIG list, compute apps, P2P: details these plans do not depend on.
            runner.on(["nvidia-smi"], ProcessOutput(status: 0))
        } else {
            runner.onMissing("nvidia-smi")
        }
        runner.onMissing("docker")
        runner.onMissing("docker-compose")
        let context = LaunchContext(runner: runner, environment: [:], console: CapturedOutput().console(), workingDirectory: project.root)
        let profile = try project.catalog().profile(named: "demo")
        return (try await Planner(context: context, layout: project.layout).plan(profile), runner)
    }

    @Test(arguments: [
        ("h100-x2-nvlink", "compose/gpu-dual.yml"), ("h100-x1", "compose/gpu-single.yml"), ("a6000-x2-pcie", "compose/gpu-dual.yml"),
    ])
    func overlayFollowsTheGPUCount(fixture: String, overlay: String) async throws {
        let (plan, _) = try await plan(gpuFixture: fixture)
        #expect(plan.composeFiles == ["compose/app.yml", overlay])
        #expect(plan.stack.service("web")?.dependsOn.first?.condition == .healthy)
    }

    @Test func withoutGPUsOrComposeThePlanStillReadsTheFiles() async throws {
        let (plan, runner) = try await plan(gpuFixture: nil)
        #expect(plan.composeFiles == ["compose/app.yml"])
        #expect(plan.overlay.choice == .noOverlay)
        #expect(plan.modelSource.hasPrefix("compose files"))
        #expect(plan.levels == [["db"], ["web"]])
        #expect(plan.services.map(\.serviceClass) == [.core, .optional])
        #expect(plan.envFile.exists == false)
        #expect(plan.envFile.missingSecrets == ["DB_PASSWORD"])
        #expect(plan.commands.first?.contains("--env-file") == true)
        // Only detection, the optimistic `config` (which failed: no docker) and reading the image's own HEALTHCHECK
        // were tried; nothing that changes anything.
        let dockerCalls = runner.calls.filter { $0.executable == "docker" }.map {
            $0.arguments.contains("config") ? "config" : $0.arguments.joined(separator: " ")
        }
        #expect(
            Set(dockerCalls) == [
                "compose version --short", "config", "image inspect --format {{json .Config.Healthcheck}} local/busybox:latest",
            ])
        let text = PlanRenderer.render(plan).joined(separator: "\n")
        #expect(text.contains("0      db       core      healthy"))
        let json = try JSONOutput.encode(plan)
        #expect(json.contains("\"schema\" : 1"))
        #expect(json.contains("\"levels\""))
    }

    @Test func anImageHealthcheckIsParsedAsTheEngineWritesIt() {
        let json = #"{"Test":["CMD-SHELL","pg_isready -U postgres"],"Interval":10000000000,"Timeout":5000000000,"Retries":5}"#
        guard case .check(let check) = ImageHealthcheck.parse(json) else {
            Issue.record("not parsed")
            return
        }
        let healthcheck = Healthcheck(image: check)
        #expect(healthcheck.test == ["CMD-SHELL", "pg_isready -U postgres"])
        #expect(healthcheck.interval == .seconds(10) && healthcheck.timeout == .seconds(5) && healthcheck.retries == 5)
        #expect(healthcheck.startPeriod == .zero)
        #expect(ImageHealthcheck.parse("null") == ImageHealthcheck.none)
        #expect(ImageHealthcheck.parse(#"{"Test":["NONE"]}"#) == ImageHealthcheck.none)
    }

    @Test func serviceHealthyOnAServiceWithoutAnyHealthcheckIsRefused() throws {
        var stack = ComposeStack(services: [
            ComposeService(name: "db", image: "postgres:16"),
            ComposeService(name: "web", image: "web:1", dependsOn: [Dependency(service: "db", condition: .healthy)]),
        ])
        #expect(throws: ConfigurationError.self) {
            _ = try Planner.checkHealthyConditions(&stack, imageChecks: ["db": ImageHealthcheck.none], file: "compose/app.yml")
        }
        // Not pulled yet: its image may bring one, decided after the pull.
        _ = try Planner.checkHealthyConditions(&stack, imageChecks: ["db": .absent], file: "compose/app.yml")
        do {
            _ = try Planner.checkHealthyConditions(&stack, imageChecks: ["db": ImageHealthcheck.none], file: "compose/app.yml")
        } catch {
            #expect(error.exitCode == .invalidConfiguration)
            #expect(error.problems.first?.message.contains("web waits for db to be healthy") == true)
        }
    }

    @Test func anAbsentWellKnownImageGetsOneWarningWithTheCheckToAdd() {
        let stack = ComposeStack(services: [ComposeService(name: "db", image: "postgres:16")])
        let warnings = Planner.healthcheckWarnings(stack, imageChecks: ["db": .absent], profile: Profile.fixture())
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("decided after the pull") == true)
        #expect(warnings.first?.contains("pg_isready") == true, "\(warnings)")
    }

    @Test func variableNamesAreComposesOwnASCIINames() {
        #expect(Interpolation.references(in: "${É} ${OK_1} $Ä").map(\.name) == ["OK_1"])
    }

    @Test func aDisabledHealthcheckMeansNoneWhateverTheImageDeclares() async throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/app.yml",
            """
            services:
              api:
                image: checked/image:1
                healthcheck: {disable: true}
              web:
                image: checked/image:1
                healthcheck: {test: ["NONE"]}
              db:
                image: checked/image:1
            """)
        let stack = try ComposeModelReader.read(files: [project.root + "/compose/app.yml"], lookup: { _ in nil })
        #expect(stack.service("api")?.healthcheckDisabled == true)
        #expect(stack.service("web")?.healthcheckDisabled == true)
        #expect(stack.service("db")?.healthcheckDisabled == false)
        let runner = RecordingRunner()
        runner.on(["docker", "image", "inspect"], ProcessOutput(status: 0, stdout: #"{"Test":["CMD","true"],"Interval":1000000000}"#))
        let context = LaunchContext(runner: runner, environment: [:], console: CapturedOutput().console(), workingDirectory: project.root)
        let checks = await Planner(context: context, layout: project.layout).imageHealthchecks(stack)
        #expect(checks["api"] == ImageHealthcheck.none)
        #expect(checks["web"] == ImageHealthcheck.none)
        guard case .check? = checks["db"] else {
            Issue.record("db should keep its image's check: \(String(describing: checks["db"]))")
            return
        }
        let applied = Planner.applying(checks, to: stack)
        let rules = Dictionary(
            uniqueKeysWithValues: applied.services.map { service in
                (service.name, ReadinessRule(service: service, policy: .defaults, isJob: false, history: nil).kind)
            })
        #expect(
            rules.mapValues { if case .stable = $0 { "stable" } else { "\($0)" } } == ["api": "stable", "web": "stable", "db": "healthy"])
    }

    @Test func anOptionalHealthyDependencyWithoutAHealthcheckIsSkippedAsComposeDoes() throws {
        var stack = ComposeStack(services: [
            ComposeService(name: "bar", image: "nginx:alpine"),
            ComposeService(name: "foo", image: "bash", dependsOn: [Dependency(service: "bar", condition: .healthy, required: false)]),
        ])
        let warnings = try Planner.checkHealthyConditions(&stack, imageChecks: ["bar": ImageHealthcheck.none], file: "compose.yml")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("optional (required: false), foo waits only for it to start") == true)
        #expect(stack.service("foo")?.dependsOn.first?.condition == .started)
        // Required, it is still refused before anything starts.
        stack.services[1].dependsOn = [Dependency(service: "bar", condition: .healthy)]
        #expect(throws: ConfigurationError.self) {
            _ = try Planner.checkHealthyConditions(&stack, imageChecks: ["bar": ImageHealthcheck.none], file: "compose.yml")
        }
    }
}
