import Foundation
import Testing

@testable import LaunchKit

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Preflight checks")
struct PreflightTests {
    // MARK: Docker

    static let down = EngineEndpoint(socketPath: "/nonexistent.sock", source: .dockerHost)

    @Test func aMissingSocketIsDiagnosedAsNotRunningNamingDockerHost() {
        let facts = EngineFacts(endpoint: Self.down, problem: .engine(.socketMissing("/nonexistent.sock")))
        let check = DockerChecks.daemon(facts)
        #expect(check.status == .fail)
        #expect(
            check.evidence == "the Docker daemon is not running: no socket at /nonexistent.sock (unix:///nonexistent.sock (DOCKER_HOST))")
        #expect(check.remediation?.contains("unset DOCKER_HOST") == true)
    }

    @Test func permissionDeniedIsItsOwnDiagnosis() {
        let endpoint = EngineEndpoint(socketPath: "/var/run/docker.sock")
        let facts = EngineFacts(endpoint: endpoint, problem: .engine(.permissionDenied("/var/run/docker.sock")))
        let check = DockerChecks.daemon(facts)
        #expect(check.status == .fail)
        #expect(check.evidence.hasPrefix("permission denied on /var/run/docker.sock"))
        #expect(!check.evidence.contains("not running"))
        #expect(check.remediation?.contains("docker group") == true)
        #expect(check.remediation?.contains("never needs sudo") == true)
    }

    @Test func composeSaysWhichImplementationLaunchUses() {
        let plugin = DockerChecks.compose(flavor: .plugin(docker: "docker"), version: "2.26.1")
        #expect(plugin.status == .ok)
        #expect(plugin.evidence == "docker compose (v2 plugin) 2.26.1; launch will run `docker compose`")
        let v1 = DockerChecks.compose(flavor: .standalone(path: "docker-compose", majorVersion: 1), version: "1.29.2")
        #expect(v1.status == .warn)
        #expect(v1.evidence.hasPrefix("docker-compose (standalone v1) 1.29.2"))
        let none = DockerChecks.compose(flavor: nil, version: nil)
        #expect(none.status == .fail)
        #expect(none.remediation != nil)
    }

    @Test func theNvidiaRuntimeIsReadFromDockerInfo() throws {
        func facts(_ runtimes: String) throws -> EngineFacts {
            let info = try JSONDecoder().decode(
                EngineInfo.self, from: Data(#"{"DockerRootDir":"/var/lib/docker","Runtimes":{\#(runtimes)}}"#.utf8))
            return EngineFacts(endpoint: EngineEndpoint(socketPath: "/var/run/docker.sock"), info: info)
        }
        let present = DockerChecks.nvidiaRuntime(try facts(#""nvidia":{},"runc":{}"#), environment: ["PATH": "/nonexistent"])
        #expect(present.status == .ok)
        let missing = DockerChecks.nvidiaRuntime(try facts(#""runc":{}"#), environment: ["PATH": "/nonexistent"])
        #expect(missing.status == .fail)
        #expect(missing.remediation?.contains("nvidia-container-toolkit") == true)
    }

    // MARK: GPUs (fixtures shared with GPUTests)

    private func probe(_ folder: String) throws -> GPUProbe {
        if let code = try? Fixture.text("nvidia-smi/\(folder)/exit-code") {
            return .failed(
                status: Int32(code.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1,
                message: try Fixture.text("nvidia-smi/\(folder)/stdout.txt"))
        }
        var inventory = GPUInventory(gpus: GPUInventory.parseQuery(try Fixture.text("nvidia-smi/\(folder)/query-gpu.csv")))
        if inventory.count > 1 {
            inventory.link01 = GPUInventory.parseTopology(try Fixture.text("nvidia-smi/\(folder)/topo-m.txt"))
        }
        return .found(inventory)
    }

    private func profile(_ gpu: Profile.GPUSettings) throws -> Profile {
        let project = try TemporaryProject()
        try project.writeDemo()
        var profile = try project.catalog().profile(named: "demo")
        profile.gpu = gpu
        return profile
    }

    @Test func twoGPUsWithNVLinkAreReportedWithTheDualOverlay() throws {
        let settings = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: "cpu.yml")
        let probe = try probe("h100-x2-nvlink")
        let checks = GPUChecks.plan(try profile(settings), probe: probe, overlay: OverlayDecision.decide(settings, probe: probe))
        #expect(checks.map(\.id) == ["gpu.devices", "gpu.nvlink", "gpu.overlay"])
        #expect(checks[0].evidence == "2 × NVIDIA H100 80GB HBM3, 79.6 GiB each (driver 580.159.04)")
        #expect(checks[1].status == .ok)
        #expect(checks[1].evidence == "NVLink ×18 (NV18)")
        #expect(checks[2].evidence.hasSuffix("dual-GPU overlay → compose/dual.yml"))
    }

    @Test func twoGPUsWithoutNVLinkAreAWarningNotAFailure() throws {
        let checks = GPUChecks.machine(try probe("a6000-x2-pcie"))
        #expect(checks.map(\.status) == [.ok, .warn])
        #expect(checks[1].evidence.contains("PCIe (SYS)"))
    }

    @Test func oneGPUSaysSingleGPUFallback() throws {
        let settings = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let probe = try probe("h100-x1")
        let checks = GPUChecks.plan(try profile(settings), probe: probe, overlay: OverlayDecision.decide(settings, probe: probe))
        #expect(checks.map(\.id) == ["gpu.devices", "gpu.overlay"])
        #expect(checks[1].evidence == "1 GPU found (NVIDIA H100 80GB HBM3): single-GPU fallback → compose/single.yml")
    }

    @Test func aDriverMismatchIsItsOwnDiagnosisAndFailsARequiredProfile() throws {
        let settings = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let probe = try probe("driver-mismatch")
        let checks = GPUChecks.plan(try profile(settings), probe: probe, overlay: OverlayDecision.decide(settings, probe: probe))
        #expect(checks[0].status == .warn)
        #expect(checks[0].evidence.contains("Driver/library version mismatch"))
        #expect(checks[0].evidence.contains("kernel module and its libraries differ"))
        #expect(checks[1].status == .fail)
        #expect(checks[1].remediation?.hasPrefix("reboot") == true)
    }

    @Test func noGPUIsNotADriverProblem() throws {
        let checks = GPUChecks.machine(try probe("no-gpu"))
        #expect(checks.map(\.status) == [.ok])
        #expect(checks[0].evidence == "nvidia-smi finds no GPU (exit 6: No devices were found)")
        let required = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let overlay = OverlayDecision.decide(required, probe: .notInstalled)
        let failing = GPUChecks.plan(try profile(required), probe: .notInstalled, overlay: overlay)
        #expect(failing.last?.status == .fail)
        #expect(failing.last?.evidence.contains("nvidia-smi is not on PATH") == true)
        // A required profile is never pointed at a CPU overlay: that would contradict its mode.
        #expect(failing.last?.remediation == "run demo on a machine with an NVIDIA GPU and driver")
    }

    @Test func aProfileWithoutGPUsSkipsGPUChecks() throws {
        let settings = Profile.GPUSettings(mode: .none, dual: nil, single: nil, none: nil)
        let checks = GPUChecks.plan(
            try profile(settings), probe: .notInstalled, overlay: OverlayDecision.decide(settings, probe: .notInstalled))
        #expect(checks.map(\.status) == [.skip])
    }

    // MARK: Host

    @Test func memoryBelowTheRequirementFailsWithARemedy() throws {
        let profile = try profile(Profile.GPUSettings(mode: .none, dual: nil, single: nil, none: nil))
        let low = HostChecks.memory(available: ByteSize(bytes: 6 << 30), required: ByteSize(bytes: 10 << 30), profile: profile)
        #expect(low.status == .fail)
        #expect(low.evidence == "only 6.0 GiB available (MemAvailable), demo requires 10.0 GiB")
        #expect(low.remediation?.contains("requires.memory in environments/demo.yml") == true)
        let enough = HostChecks.memory(available: ByteSize(bytes: 12 << 30), required: ByteSize(bytes: 10 << 30), profile: profile)
        #expect(enough.status == .ok)
    }

    @Test func requiredPathsAreCheckedRelativeToTheRoot() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        try project.write("configs/app.yaml", "x: 1\n")
        try project.write("models.txt", "not a directory\n")
        var profile = try project.catalog().profile(named: "demo")
        profile.requires.paths = ["configs/app.yaml", "models/", "models.txt/"]
        let check = try #require(HostChecks.paths(profile, layout: project.layout))
        #expect(check.status == .fail)
        #expect(check.evidence == "models/ is missing; models.txt/ is a file, not a directory")
    }

    // MARK: Env file and variables

    @Test func malformedEnvLinesAreNamedByNumberNeverByContent() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        try project.write(".env.demo", "# comment\nGOOD=1\nPASSWORD hunter2-secret\n\nexport OK=2\n=nokey\n")
        var profile = try project.catalog().profile(named: "demo")
        profile.envFile = ".env.demo"
        let check = VariableChecks.envFile(profile, layout: project.layout, options: PreflightOptions())
        #expect(check.status == .fail)
        #expect(check.evidence == "2 lines are not KEY=VALUE: .env.demo:3, .env.demo:6")
        #expect(!check.evidence.contains("hunter2"))
    }

    @Test func variablesWithoutDefaultsAreFoundWithTheirLines() throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/a.yml",
            """
            # ${IN_A_COMMENT} is not interpolated
            services:
              web:
                image: "nginx:${TAG:-latest}"
                environment:
                  TOKEN: ${API_TOKEN}
                  HOME_DIR: $HOME_DIR
                  LITERAL: "$$NOT_A_VARIABLE"
                  STRICT: ${STRICT:?must be set}
                  ALT: ${ALT:+x}
            """)
        let required = VariableChecks.requiredVariables(files: [("compose/a.yml", project.root + "/compose/a.yml")])
        #expect(required.map(\.name) == ["API_TOKEN", "HOME_DIR", "STRICT"])
        #expect(required.map(\.location.line) == [6, 7, 9])
    }

    @Test func variablesCountTheEnvFileTheEnvironmentAndWhatLaunchWillGenerate() async throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                env_file: .env.demo
                secrets: {DB_PASSWORD: {length: 24}}
                """)
        try project.write(
            "compose/app.yml",
            """
            services:
              db: {image: "local/busybox:latest", environment: {P: "${DB_PASSWORD}", U: "${DB_USER}", K: "${API_KEY}", H: "${FROM_SHELL}"}}
            """)
        try project.write(".env.demo", "DB_USER=app\n")
        let runner = RecordingRunner()
        runner.onMissing("docker")
        runner.onMissing("docker-compose")
        let context = LaunchContext(
            runner: runner, environment: ["FROM_SHELL": "1"], console: CapturedOutput().console(), workingDirectory: project.root)
        let plan = try await Planner(context: context, layout: project.layout).plan(try project.catalog().profile(named: "demo"))
        let check = VariableChecks.variables(plan, layout: project.layout, environment: ["FROM_SHELL": "1"], options: PreflightOptions())
        // Compose leaves an unset ${API_KEY} blank with a warning: so does doctor, with where it is used.
        #expect(check.status == .warn)
        #expect(check.evidence == "not set, so Compose uses a blank string: API_KEY (compose/app.yml:2:94)")
        #expect(check.remediation?.hasPrefix("add API_KEY to .env.demo") == true)
        let strict = VariableChecks.variables(
            plan, layout: project.layout, environment: ["FROM_SHELL": "1"],
            options: PreflightOptions(network: false, envFileWillBeCreated: false))
        #expect(strict.evidence.contains("DB_PASSWORD"))
    }

    // MARK: Ports

    static let demoProject = "demo"

    private func container(_ name: String, project: String, port: Int) throws -> ContainerSummary {
        let json = """
            {"Id":"\(name)-id","Names":["/\(name)"],"Image":"x","State":"running","Status":"Up","Created":1,
             "Labels":{"com.docker.compose.project":"\(project)"},
             "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":\(port),"Type":"tcp"}]}
            """
        return try JSONDecoder().decode(ContainerSummary.self, from: Data(json.utf8))
    }

    private func localFacts(_ containers: [ContainerSummary]) throws -> EngineFacts {
        let info = try JSONDecoder().decode(EngineInfo.self, from: Data(#"{"ServerVersion":"20.10"}"#.utf8))
        return EngineFacts(
            endpoint: EngineEndpoint(socketPath: "/var/run/docker.sock"), info: info,
            runningContainers: containers)
    }

    /// A listening socket on a free port of 127.0.0.1, closed by the caller.
    private func listen() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && Glibc.listen(descriptor, 1) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        try #require(bound)
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func aHeldPortFailsNamingPortServiceAndProcess() throws {
        let (descriptor, port) = try listen()
        defer { close(descriptor) }
        let wanted = PortChecks.Wanted(hostIP: "127.0.0.1", port: port, proto: "tcp", services: ["web"])
        #expect(PortProbe.bind(host: "127.0.0.1", port: port, proto: "tcp") == .inUse)
        let check = PortChecks.check(wanted, project: Self.demoProject, facts: try localFacts([]), proc: ProcFS())
        #expect(check.status == .fail)
        #expect(check.id == "port.127.0.0.1:\(port)")
        #expect(check.evidence.hasPrefix("web wants port \(port), held by "))
        #expect(check.evidence.contains("(pid \(getpid()))"))
        #expect(check.remediation?.contains("publish web on another host port") == true)
    }

    @Test func aPortOfThisProjectsOwnContainerIsNotAConflict() throws {
        let (descriptor, port) = try listen()
        defer { close(descriptor) }
        let wanted = PortChecks.Wanted(hostIP: "", port: port, proto: "tcp", services: ["web"])
        let own = PortChecks.check(
            wanted, project: Self.demoProject, facts: try localFacts([try container("demo-web-1", project: "demo", port: port)]),
            proc: ProcFS())
        #expect(own.status == .ok)
        #expect(own.evidence == "published by this project's own container demo-web-1")
        let other = PortChecks.check(
            wanted, project: Self.demoProject, facts: try localFacts([try container("shop-web-1", project: "shop", port: port)]),
            proc: ProcFS())
        #expect(other.status == .fail)
        #expect(other.evidence == "web wants port \(port), held by another container: shop-web-1 (compose project shop)")
    }

    @Test func portsAreGroupedAndSharedPortsFail() throws {
        let stack = ComposeStack(services: [
            ComposeService(name: "a", ports: [PublishedPort(published: 8080, target: 80), PublishedPort(published: 0, target: 81)]),
            ComposeService(name: "b", ports: [PublishedPort(hostIP: "0.0.0.0", published: 8080, target: 80)]),
            ComposeService(name: "c", ports: [PublishedPort(hostIP: "127.0.0.1", published: 53, target: 53, proto: "udp")]),
        ])
        let wanted = PortChecks.wanted(stack)
        #expect(wanted.map(\.id) == ["port.127.0.0.1:53/udp", "port.8080"])
        #expect(wanted[1].services == ["a", "b"])
        let check = PortChecks.check(wanted[1], project: "demo", facts: try localFacts([]), proc: ProcFS())
        #expect(check.status == .fail)
        #expect(check.evidence == "a and b both publish host port 8080: only one can have it")
    }

    // MARK: Images

    @Test(arguments: [
        ("nginx:1.27.3-alpine", "registry-1.docker.io", 443),
        ("vllm/vllm-openai:v0.6.4.post1", "registry-1.docker.io", 443),
        ("docker.io/library/redis:7", "registry-1.docker.io", 443),
        ("ghcr.io/berriai/litellm:main-v1.52.14", "ghcr.io", 443),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.15.3", "docker.elastic.co", 443),
        ("localhost:5000/team/app", "localhost", 5000),
        ("registry.example.com:8443/app@sha256:abc", "registry.example.com", 8443),
        ("local/busybox:latest", "registry-1.docker.io", 443),
    ])
    func registryHostsFollowDockersRule(image: String, host: String, port: Int) {
        #expect(ImageChecks.registry(for: image) == ImageChecks.Registry(host: host, port: port))
    }

    @Test func missingImagesWarnOfflineAndFailWhenTheRegistryIsUnreachable() {
        let registry = ImageChecks.registry(for: "nginx:1")
        let offline = ImageChecks.check(image: "nginx:1", services: ["web"], present: false, registry: registry, reachability: .notChecked)
        #expect(offline.status == .warn)
        let unreachable = ImageChecks.check(
            image: "nginx:1", services: ["web"], present: false, registry: registry,
            reachability: ImageChecks.reachability(.timedOut, timeout: .milliseconds(1500)))
        #expect(unreachable.status == .fail)
        #expect(unreachable.evidence == "nginx:1 is not present locally and registry-1.docker.io is unreachable (no answer within 1.5s)")
        let present = ImageChecks.check(image: "nginx:1", services: ["web"], present: true, registry: registry, reachability: .notChecked)
        #expect(present.status == .ok)
    }

    @Test func aClosedPortIsRefusedNotTimedOut() async throws {
        // Loopback only: a port nothing listens on (bound, never listening) answers with a reset at once.
        let (descriptor, port) = try listen()
        close(descriptor)
        #expect(await TCPProbe.connect(host: "127.0.0.1", port: port, timeout: .seconds(5)) == .refused)
    }

    // MARK: Profile checks

    private func verdict(_ outcome: HTTPProbe.Outcome, expected: [Int] = [200]) throws -> CheckResult {
        ProfileChecks.verdict(
            outcome, id: "preflight.openai-key", name: "OpenAI key", request: "GET https://api.example.com/v1/models",
            expected: expected, timeout: .seconds(3), credentials: ["OPENAI_API_KEY"],
            profile: try profile(Profile.GPUSettings(mode: .none, dual: nil, single: nil, none: nil)),
            redact: Redactor(values: ["sk-live-123456"]))
    }

    @Test func httpStatusesBecomeMessagesAPersonCanActOn() throws {
        let ok = try verdict(.response(status: 200, body: "{}", milliseconds: 42))
        #expect(ok.status == .ok)
        #expect(ok.evidence == "HTTP 200 from GET https://api.example.com/v1/models in 42ms")

        let rejected = try verdict(.response(status: 401, body: "bad key sk-live-123456", milliseconds: 40))
        #expect(rejected.status == .fail)
        #expect(rejected.evidence == "the key is rejected (HTTP 401) by GET https://api.example.com/v1/models")
        #expect(rejected.remediation?.hasPrefix("check OPENAI_API_KEY in .env.") == true)

        #expect(try verdict(.response(status: 403, body: "", milliseconds: 1)).evidence.hasPrefix("the key is rejected (HTTP 403)"))
        #expect(try verdict(.response(status: 429, body: "", milliseconds: 1)).status == .warn)

        let wrong = try verdict(.response(status: 404, body: "no such\n  route for sk-live-123456", milliseconds: 1))
        #expect(wrong.status == .fail)
        #expect(wrong.evidence == "HTTP 404 (expected 200) from GET https://api.example.com/v1/models: no such route for ***")

        let long = try verdict(.response(status: 500, body: String(repeating: "x", count: 500), milliseconds: 1))
        #expect(long.evidence.hasSuffix(String(repeating: "x", count: 200) + "…"))

        let slow = try verdict(.timedOut)
        #expect(slow.evidence == "no answer within 3s from GET https://api.example.com/v1/models")

        #expect(try verdict(.response(status: 204, body: "", milliseconds: 1), expected: []).status == .ok)
    }

    @Test func checkIDsAreSlugs() {
        #expect(ProfileChecks.id("OpenAI key") == "preflight.openai-key")
        #expect(ProfileChecks.id("  Postgres on the host!") == "preflight.postgres-on-the-host")
    }

    @Test func conditionalAndOfflineChecksAreSkipped() async throws {
        let profile = try profile(Profile.GPUSettings(mode: .none, dual: nil, single: nil, none: nil))
        let spec = PreflightCheckSpec(
            name: "Key", when: "API_KEY",
            kind: .tcp(.init(host: "127.0.0.1", port: 9, timeout: .milliseconds(100))))
        let unset = await ProfileChecks.run(spec, profile: profile, values: [:], redact: .none, network: true)
        #expect(unset.status == .skip)
        #expect(unset.evidence == "API_KEY is not set")
        let offline = await ProfileChecks.run(spec, profile: profile, values: ["API_KEY": "x"], redact: .none, network: false)
        #expect(offline.status == .skip)
    }

    // MARK: A whole run

    @Test func aWholeRunKeepsAStableOrderAndStartsNoProcessOfItsOwn() async throws {
        let project = try TemporaryProject()
        let port = try listen()
        close(port.descriptor)
        try project.write(
            "compose/app.yml",
            """
            services:
              web: {image: "local/busybox:latest", ports: ["127.0.0.1:\(port.port):80"]}
            """)
        try project.write(
            "environments/demo.yml",
            """
            name: demo
            compose: {project: demo, files: [app.yml]}
            env_file: .env.demo
            requires: {memory: 1KiB, paths: [configs/]}
            preflight:
              - name: Local thing
                tcp: {host: 127.0.0.1, port: 9, timeout: 200ms}
            """)
        let runner = RecordingRunner()
        runner.onMissing("docker")
        runner.onMissing("docker-compose")
        let context = LaunchContext(
            runner: runner, environment: ["DOCKER_HOST": "unix:///nonexistent.sock", "PATH": "/nonexistent"],
            console: CapturedOutput().console(), workingDirectory: project.root)
        let plan = try await Planner(context: context, layout: project.layout).plan(try project.catalog().profile(named: "demo"))
        let planningCalls = runner.calls.count

        let report = await Preflight(context: context, layout: project.layout)
            .run(plan, probe: plan.gpuProbe, options: PreflightOptions(network: false))
        #expect(
            report.checks.map(\.id) == [
                "docker.cli", "docker.daemon", "compose", "gpu", "memory", "disk", "paths", "env.file", "env.variables",
                "port.127.0.0.1:\(port.port)", "images", "images.tags", "preflight.local-thing",
            ])
        // local/busybox:latest is a floating tag: a warning, never a failure.
        #expect(report.checks.map(\.status) == [.fail, .fail, .fail, .skip, .ok, .ok, .fail, .ok, .ok, .ok, .skip, .warn, .skip])
        #expect(report.failures.allSatisfy { $0.remediation != nil })
        #expect(report.failed)
        #expect(report.overlay?.choice == .noOverlay)
        #expect(runner.calls.count == planningCalls, "preflight ran \(runner.calls.dropFirst(planningCalls).map(\.description))")
    }

    // MARK: Report and renderer

    static let report = PreflightReport(
        environment: "dev", project: "multimodal-dev",
        checks: [
            CheckResult(
                id: "docker.daemon", title: "Docker daemon", status: .ok, evidence: "Docker Engine 20.10.24", durationSeconds: 0.0012),
            CheckResult(id: "gpu.nvlink", title: "GPU0↔GPU1 link", status: .warn, evidence: "no NVLink", remediation: "use NVLink"),
            CheckResult(
                id: "port.8080", title: "port 8080 (nginx)", status: .fail, evidence: "nginx wants port 8080, held by python3 (pid 7)",
                remediation: "stop it"),
            CheckResult(id: "preflight.openai-key", title: "OpenAI key", status: .skip, evidence: "OPENAI_API_KEY is not set"),
        ],
        durationSeconds: 0.21)

    @Test func plainLinesForCI() {
        let lines = PreflightRenderer.lines(Self.report, layout: .plain)
        #expect(
            lines == [
                "Preflight for dev (project multimodal-dev)",
                "ok   docker.daemon: Docker Engine 20.10.24",
                "warn gpu.nvlink: no NVLink",
                "     fix: use NVLink",
                "FAIL port.8080: nginx wants port 8080, held by python3 (pid 7)",
                "     fix: stop it",
                "skip preflight.openai-key: OPENAI_API_KEY is not set",
                "1 ok, 1 warning, 1 failed, 1 skipped in 210ms: fix the failed check before launching; nothing was started",
            ])
    }

    @Test func aTableOnATerminal() {
        let lines = PreflightRenderer.lines(Self.report, layout: .table)
        #expect(lines[1] == "  STATUS  CHECK              EVIDENCE")
        #expect(lines[2] == "  ok      Docker daemon      Docker Engine 20.10.24")
        #expect(lines[5] == "  FAIL    port 8080 (nginx)  nginx wants port 8080, held by python3 (pid 7)")
        #expect(lines[6] == "          → stop it")
        let captured = CapturedOutput()
        PreflightRenderer.render(Self.report, console: captured.console(interactive: true))
        #expect(captured.stdout.contains("STATUS  CHECK"))
        #expect(captured.stderr.isEmpty)
    }

    @Test func theJSONSchemaIsStable() throws {
        let json = try JSONOutput.encode(Self.report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "kind", "schema", "environment", "project", "overlay", "ok", "failed", "warnings", "counts", "duration_seconds", "checks",
            ])
        #expect(object["schema"] as? Int == 1)
        #expect(object["failed"] as? Bool == true)
        #expect(object["counts"] as? [String: Int] == ["ok": 1, "warn": 1, "fail": 1, "skip": 1])
        let checks = try #require(object["checks"] as? [[String: Any]])
        #expect(Set(checks[0].keys) == ["id", "title", "status", "evidence", "remediation", "duration_seconds"])
        #expect(checks[0]["remediation"] is NSNull)
        #expect(checks[0]["duration_seconds"] as? Double == 0.0012)
    }
}
