import Testing

@testable import LaunchKit

@Suite("Compose model, graph and commands")
struct ComposeModelTests {
    @Test func readsRealComposeConfigJSON() throws {
        let stack = try ComposeModelReader.read(config: try Fixture.text("compose/demo-config.json"))
        #expect(stack.serviceNames == ["db", "web"])
        let db = try #require(stack.service("db"))
        #expect(db.healthcheck?.interval == .seconds(1))
        #expect(db.healthcheck?.retries == 3)
        #expect(db.ports == [PublishedPort(hostIP: "127.0.0.1", published: 18080, target: 80)])
        let web = try #require(stack.service("web"))
        #expect(web.dependsOn == [Dependency(service: "db", condition: .healthy)])
        #expect(web.healthcheck == nil)
    }

    @Test func readsRawFilesWithMergeAndInterpolation() throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/a.yml",
            """
            services:
              api:
                image: "example/api:${TAG:-1.0}"
                ports: ["${PORT:-8080}:80"]
                depends_on: [db]
                healthcheck: {test: "wget -q localhost", interval: 5s, start_period: 1m}
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
              db:
                image: postgres:16
                volumes: [pgdata:/var/lib/postgresql/data, ./init:/init]
            volumes: {pgdata: {}}
            """)
        try project.write(
            "compose/b.yml",
            """
            services:
              api:
                ports: ["127.0.0.1:9090:9090/udp"]
                deploy: {replicas: 3}
            """)
        let stack = try ComposeModelReader.read(
            files: [project.root + "/compose/a.yml", project.root + "/compose/b.yml"],
            lookup: { ["TAG": "2.5"][$0] })
        let api = try #require(stack.service("api"))
        #expect(api.image == "example/api:2.5")
        #expect(
            api.ports == [
                PublishedPort(published: 8080, target: 80), PublishedPort(hostIP: "127.0.0.1", published: 9090, target: 9090, proto: "udp"),
            ])
        #expect(api.healthcheck?.test == ["CMD-SHELL", "wget -q localhost"])
        #expect(api.healthcheck?.startPeriod == .seconds(60))
        #expect(api.healthcheck?.timeout == .seconds(30))  // engine default
        #expect(api.gpuCount == 2)
        #expect(api.replicas == 3)
        #expect(stack.service("db")?.volumes == ["pgdata"])
        #expect(stack.volumes == ["pgdata"])
    }

    @Test func interpolationFollowsComposeRules() {
        let lookup: (String) -> String? = { ["SET": "v", "EMPTY": ""][$0] }
        #expect(
            Interpolation.substitute("${SET} $SET ${MISSING:-d} ${EMPTY:-d} ${EMPTY-d} $$SET ${SET:+alt}", lookup) == "v v d d  $SET alt")
        let references = Interpolation.references(in: "${A} ${B:-x} $C ${D:?must} $$E")
        #expect(references.map(\.name) == ["A", "B", "C", "D"])
        #expect(references.map(\.hasDefault) == [false, true, false, false])
    }

    @Test func shortPortSyntax() {
        #expect(ComposeModelReader.shortPorts("80") == [])
        #expect(
            ComposeModelReader.shortPorts("8000-8001:9000-9001") == [
                PublishedPort(published: 8000, target: 9000), PublishedPort(published: 8001, target: 9001),
            ])
        #expect(ComposeModelReader.shortPorts("[::1]:53:53/udp") == [PublishedPort(hostIP: "::1", published: 53, target: 53, proto: "udp")])
    }

    private func stack(_ edges: [String: [String]]) -> ComposeStack {
        ComposeStack(
            services: edges.map { name, deps in
                ComposeService(name: name, dependsOn: deps.map { Dependency(service: $0, condition: .healthy) })
            })
    }

    @Test func levelsFollowTheLongestDependencyChain() throws {
        let graph = try DependencyGraph(
            stack([
                "a": [], "b": ["a"], "c": ["b"], "d": ["c"], "x": [], "y": ["x", "a"], "z": ["d", "y"],
            ]))
        #expect(graph.levels == [["a", "x"], ["b", "y"], ["c"], ["d"], ["z"]])
        #expect(graph.startOrder.first == "a")
        #expect(graph.transitiveDependents(of: "b") == ["c", "d", "z"])
        #expect(graph.dependents(of: "a") == ["b", "y"])
    }

    @Test func cyclesAreRejectedWithTheCycleNamed() {
        #expect(throws: DependencyCycle(services: ["a", "b", "c", "a"])) {
            try DependencyGraph(stack(["a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]]))
        }
        #expect(throws: DependencyCycle(services: ["s", "s"])) { try DependencyGraph(stack(["s": ["s"]])) }
    }

    @Test func deadlineComesFromTheHealthcheck() {
        let check = Healthcheck(test: ["CMD", "true"], interval: .seconds(2), timeout: .seconds(1), startPeriod: .seconds(10), retries: 3)
        #expect(check.deadline(margin: .seconds(2)) == .seconds(21))
        let service = ComposeService(name: "s", healthcheck: check)
        var policy = Profile.HealthPolicy.defaults
        #expect(ReadinessRule(service: service, policy: policy, isJob: false).deadline == .seconds(21))
        policy.timeout = .seconds(5)
        #expect(ReadinessRule(service: service, policy: policy, isJob: false).deadline == .seconds(5))
        #expect(ReadinessRule(service: ComposeService(name: "n"), policy: .defaults, isJob: false).description == "running 2s")
        #expect(ReadinessRule(service: ComposeService(name: "j"), policy: .defaults, isJob: true).description == "exit 0")
    }

    @Test func composeCommandsAreArgumentArrays() {
        let compose = Compose(project: "demo", files: ["/p/compose/a.yml", "/p/compose/b.yml"], envFile: "/p/.env.demo")
        let prefix = [
            "compose", "--project-name", "demo", "--file", "/p/compose/a.yml", "--file", "/p/compose/b.yml", "--env-file", "/p/.env.demo",
        ]
        #expect(compose.config().argv == ["docker"] + prefix + ["config", "--format", "json"])
        #expect(compose.create().arguments == prefix + ["up", "--no-start", "--no-build", "--pull", "never"])
        // Creating is bounded by the work: a minute plus two seconds a container.
        #expect(Compose.createDeadline(containers: 10) == .seconds(80) && Compose.createDeadline(containers: 0) == .seconds(62))
        #expect(compose.down().arguments == prefix + ["down", "--remove-orphans", "--timeout", "10"])
        #expect(compose.down(removeVolumes: true).arguments.last == "--volumes")
        #expect(
            compose.logs(services: ["db"], follow: true, tail: 40).arguments == prefix + [
                "logs", "--no-color", "--follow", "--tail", "40", "db",
            ])
        let v1 = Compose(flavor: .standalone(path: "docker-compose", majorVersion: 1), project: "demo", files: ["/a.yml"], envFile: nil)
        #expect(v1.config().argv == ["docker-compose", "--project-name", "demo", "--file", "/a.yml", "config"])
        #expect(compose.config().description.hasPrefix("docker compose --project-name demo --file /p/compose/a.yml"))
        #expect(Command("echo", ["it's"]).description == "echo 'it'\\''s'")
    }

    @Test func composeDetectionPrefersThePlugin() async {
        let runner = RecordingRunner()
        runner.on(["docker", "compose", "version", "--short"], ProcessOutput(status: 0, stdout: "2.26.1-4\n"))
        let detection = await ComposeDetector(runner: runner).detect()
        #expect(detection?.flavor == .plugin(docker: "docker"))
        #expect(detection?.version == "2.26.1-4")

        let standalone = RecordingRunner()
        standalone.on(["docker", "compose"], ProcessOutput(status: 1, stderr: "docker: 'compose' is not a docker command."))
        standalone.on(["docker-compose", "version", "--short"], ProcessOutput(status: 0, stdout: "1.29.2\n"))
        let v1 = await ComposeDetector(runner: standalone).detect()
        #expect(v1?.flavor == .standalone(path: "docker-compose", majorVersion: 1))
        #expect(v1?.flavor.supportsJSONConfig == false)

        let none = RecordingRunner()
        none.onMissing("docker")
        none.onMissing("docker-compose")
        #expect(await ComposeDetector(runner: none).detect() == nil)
    }
}
