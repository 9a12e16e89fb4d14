import Foundation
import Testing

@testable import LaunchKit

@Suite("Compose profiles and include")
struct ComposeProfilesTests {
    @Test func aNamedServiceBehindAnInactiveProfileActivatesItsFirstProfile() {
        let selection = ComposeProfileSelection.decide(
            requested: ["debug"], named: ["app", "worker", "tools"],
            serviceProfiles: ["worker": ["work", "batch"], "tools": ["debug"], "extra": ["extra"]])
        #expect(selection.active == ["debug", "work"])
        #expect(selection.activations == [.init(service: "worker", profile: "work")])
    }

    @Test func requestedProfilesKeepTheirOrderWithoutRepeats() {
        let selection = ComposeProfileSelection.decide(
            requested: ComposeProfileSelection.split(" a, b ,,a") + ["b", "c"], named: [], serviceProfiles: [:])
        #expect(selection.active == ["a", "b", "c"])
        #expect(selection.activations.isEmpty)
    }

    @Test func theWildcardActivatesEverything() {
        let selection = ComposeProfileSelection.decide(requested: ["*"], named: ["worker"], serviceProfiles: ["worker": ["work"]])
        #expect(selection.active == ["*"])
        #expect(selection.activations.isEmpty)
    }

    @Test func everyComposeCommandCarriesTheProfiles() {
        var compose = Compose(project: "demo", files: ["/p/compose/app.yml"], envFile: "/p/.env.demo")
        compose.profiles = ["work", "debug"]
        #expect(
            compose.config().arguments == [
                "compose", "--project-name", "demo", "--file", "/p/compose/app.yml", "--profile", "work", "--profile", "debug",
                "--env-file", "/p/.env.demo", "config", "--format", "json",
            ])
        #expect(compose.down().arguments.contains("--profile"))
    }

    @Test func includedFilesFollowTheirIncluderAndTheirServicesCount() throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/app.yml",
            """
            include:
              - db/db.yml
              - path: [tools.yml]
            services:
              web: {image: local/busybox:latest}
            """)
        try project.write("compose/db/db.yml", "services:\n  db:\n    image: local/busybox:latest\n    profiles: [data]\n")
        try project.write("compose/tools.yml", "include: [app.yml]\nservices:\n  tools: {image: local/busybox:latest}\n")
        let files = ComposeFileSet.expandingIncludes([project.root + "/compose/app.yml"])
        #expect(files.map(project.layout.display) == ["compose/app.yml", "compose/db/db.yml", "compose/tools.yml"])
        #expect(ComposeFileSet.serviceProfiles([project.root + "/compose/app.yml"]) == ["db": ["data"]])
        try project.write(
            "environments/demo.yml",
            """
            name: demo
            compose: {project: demo, files: [app.yml], profiles: [extra]}
            services: {core: [db, tools], optional: [web]}
            """)
        let profile = try project.catalog().profile(named: "demo")
        #expect(profile.compose.profiles == ["extra"])
    }

    @Test func thePlanActivatesTheProfileOfANamedServiceAndSaysSo() async throws {
        let project = try TemporaryProject()
        try project.write("compose/.env", "COMPOSE_PROFILES=fromdotenv\n")
        try project.write(
            "compose/app.yml",
            """
            services:
              web: {image: local/busybox:latest}
              worker: {image: local/busybox:latest, profiles: [work]}
              debug: {image: local/busybox:latest, profiles: [debug]}
            """)
        try project.write(
            "environments/demo.yml",
            """
            name: demo
            compose: {project: demo, files: [app.yml], profiles: [extra]}
            gpu: {mode: none}
            services: {core: [worker, web]}
            """)
        let runner = RecordingRunner()
        runner.onMissing("docker")
        runner.onMissing("docker-compose")
        let context = LaunchContext(runner: runner, environment: [:], console: CapturedOutput().console(), workingDirectory: project.root)
        let plan = try await Planner(context: context, layout: project.layout).plan(try project.catalog().profile(named: "demo"))
        #expect(plan.composeProfiles.active == ["fromdotenv", "extra", "work"])
        #expect(plan.composeCommand.profiles == ["fromdotenv", "extra", "work"])
        let text = PlanRenderer.render(plan).joined(separator: "\n")
        #expect(text.contains("`work` activated: the environment names worker"))
    }
}

@Suite("Plan and doctor truths: healthchecks to add, optional dependencies, container names, floating tags")
struct ServiceTruthTests {
    @Test(arguments: [
        ("vllm/vllm-openai:v0.6.3", "http://localhost:8000/health"),
        ("ghcr.io/huggingface/text-generation-inference:2.4", "http://localhost:80/health"),
        ("ollama/ollama", "\"ollama\", \"list\""),
        ("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3", "/v1/health/ready"),
        ("nvcr.io/nvidia/tritonserver:24.08-py3", "/v2/health/ready"),
        ("ghcr.io/berriai/litellm:main-stable", "/health/liveliness"),
        ("postgres:16", "pg_isready"),
        ("redis:7-alpine", "redis-cli"),
        ("qdrant/qdrant:v1.12.0", "6333"),
        ("minio/minio", "\"mc\", \"ready\", \"local\""),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", "_cluster/health"),
    ])
    func wellKnownImagesGetTheirDocumentedCheck(image: String, expected: String) throws {
        let suggestion = try #require(HealthcheckSuggestion.suggestion(forImage: image))
        #expect(suggestion.test.contains(expected))
    }

    @Test func unknownImagesGetNoInventedCheck() {
        #expect(HealthcheckSuggestion.suggestion(forImage: "local/busybox:latest") == nil)
        #expect(HealthcheckSuggestion.suggestion(forImage: "example.com/postgres-exporter:1") == nil)
        #expect(
            HealthcheckSuggestion.warning(service: "app", image: "local/busybox:latest", stability: "2s").contains("running is not serving")
        )
    }

    @Test(arguments: [
        ("postgres", true), ("postgres:latest", true), ("ghcr.io/x/y:main", true), ("localhost:5000/app", true),
        ("localhost:5000/app:1.2", false), ("postgres:16", false), ("postgres@sha256:abc", false),
    ])
    func floatingTags(image: String, floating: Bool) {
        #expect(ImageChecks.isFloating(image) == floating)
    }

    @Test func floatingTagsAreListedOncePerImageWithTheirServices() throws {
        var services = (0..<40).map { ComposeService(name: "s\($0)", image: "local/busybox:latest") }
        services += [ComposeService(name: "db", image: "postgres"), ComposeService(name: "pinned", image: "redis:7.4")]
        let result = try #require(ImageChecks.floatingTags(ComposeStack(services: services)))
        #expect(result.status == .warn)
        #expect(
            result.evidence
                == "floating tags: postgres (db), local/busybox:latest (s0, s1, s10 and 37 more): a later pull may run different code")
        #expect(ImageChecks.floatingTags(ComposeStack(services: [ComposeService(name: "pinned", image: "redis:7.4")])) == nil)
    }

    @Test func aContainerNameHeldByAnotherProjectFailsNamingIt() {
        let held = ContainerNameChecks.check(service: "db", name: "pg", project: "demo", lines: "pg-old\tx\npg\tother\n")
        #expect(held.status == .fail)
        #expect(held.evidence.contains("compose project `other`"))
        #expect(ContainerNameChecks.check(service: "db", name: "pg", project: "demo", lines: "pg\tdemo\n").status == .ok)
        #expect(ContainerNameChecks.check(service: "db", name: "pg", project: "demo", lines: "pg-old\tdemo\n").status == .ok)
        #expect(ContainerNameChecks.check(service: "db", name: "pg", project: "demo", lines: nil).status == .skip)
        #expect(
            ContainerNameChecks.check(service: "db", name: "pg", project: "demo", lines: "pg\t\n").evidence.contains(
                "outside any compose project"))
    }

    @Test func optionalDependenciesShowAsOptionalAndContainerNamesAreRead() throws {
        let stack = try ComposeModelReader.read(
            config: """
                {"services": {"web": {"image": "a", "container_name": "web-1",
                  "depends_on": {"cache": {"condition": "service_started", "required": false}}},
                  "cache": {"image": "b"}}}
                """)
        #expect(stack.service("web")?.containerName == "web-1")
        #expect(stack.service("web")?.dependsOn.first?.required == false)
    }
}

@Suite("Build contexts")
struct BuildContextTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesTheStandardVectors(text: String, hex: String) {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == hex)
    }

    @Test func sha256OfALongInputFedInPieces() {
        var hasher = SHA256()
        for _ in 0..<1000 { hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(
            hasher.finalize().map { String(format: "%02x", $0) }.joined()
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256AgreesWhateverPiecesTheInputComesIn() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 127, 128, 129, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var whole = SHA256()
            whole.update(bytes)
            let expected = whole.finalize()
            var pieces = SHA256()
            var offset = 0
            while offset < bytes.count {
                let size = Int.random(in: 1...70, using: &generator)
                let end = min(bytes.count, offset + size)
                pieces.update(Array(bytes[offset..<end]))
                offset = end
            }
            #expect(pieces.finalize() == expected, "length \(length)")
        }
    }

    @Test func dockerignoreFollowsTheBuildersRules() {
        let ignore = DockerIgnore(text: "# comment\n*.log\n/build\nnode_modules\n**/*.tmp\n!keep.log\ndocs/*/draft.md\n")
        #expect(ignore.excludes("app.log"))
        #expect(!ignore.excludes("keep.log"))
        #expect(!ignore.excludes("sub/app.log"))  // `*` stays in one component, anchored at the context
        #expect(ignore.excludes("build/out.bin"))
        #expect(ignore.excludes("node_modules/x/index.js"))
        #expect(ignore.excludes("a/b/c.tmp"))
        #expect(ignore.excludes("c.tmp"))
        #expect(ignore.excludes("docs/v1/draft.md"))
        #expect(!ignore.excludes("docs/draft.md"))
        #expect(!ignore.excludes("main.swift"))
    }

    @Test func theHashFollowsSentFilesOnly() throws {
        let project = try TemporaryProject()
        try project.write("app/Dockerfile", "FROM local/busybox:latest\nCOPY . /app\n")
        try project.write("app/message.txt", "one")
        try project.write("app/.dockerignore", "ignored.txt\n")
        try project.write("app/ignored.txt", "a")
        let context = BuildContext(directory: project.root + "/app", dockerfile: project.root + "/app/Dockerfile")
        let first = try #require(context.hash())
        try project.write("app/ignored.txt", "b")
        #expect(context.hash() == first)
        try project.write("app/message.txt", "two")
        let second = try #require(context.hash())
        #expect(second != first)
        #expect(BuildDecision.decide(imageLabel: first, contextHash: second) == .changed)
        #expect(BuildDecision.decide(imageLabel: second, contextHash: second) == .unchanged(hash: second))
        #expect(BuildDecision.decide(imageLabel: "", contextHash: second) == .changed)
        #expect(BuildDecision.decide(imageLabel: nil, contextHash: second) == .missing)
        #expect(BuildDecision.changed.description == "build (context changed)")
        #expect(BuildContext(directory: project.root + "/nowhere", dockerfile: "Dockerfile").hash() == nil)
    }

    @Test func aSettledFileIsReadOnceAndItsDigestKeptLikeGitsIndex() throws {
        let project = try TemporaryProject()
        try project.write("app/Dockerfile", "FROM local/busybox:latest\nCOPY . /app\n")
        try project.write("app/model.bin", "weights-1")
        try project.write("app/.launch/cache/x.json", "launch's own state")
        let later = Date().addingTimeInterval(10)
        let context = BuildContext(directory: project.root + "/app", dockerfile: project.root + "/app/Dockerfile")
        let cache = try #require(BuildContextCache.for(context: context.directory, layout: project.layout))
        let first = try #require(context.hash(cache: cache, excluding: project.root + "/app/.launch", now: later))
        #expect(cache.load().keys.sorted() == ["Dockerfile", "model.bin"])
        #expect(AtomicFile.mode(of: cache.path) == 0o600)
        // launch's own state inside the context is not part of it.
        try project.write("app/.launch/cache/x.json", "changed")
        #expect(context.hash(cache: cache, excluding: project.root + "/app/.launch", now: later) == first)
        // Unchanged: the cached digest stands (and agrees with reading the file).
        #expect(context.hash(cache: cache, excluding: project.root + "/app/.launch", now: later) == first)
        // Rewritten in place with the old modification time put back: the change time still moved, so it is read again.
        let status = try #require(FileStatus(project.root + "/app/model.bin"))
        let handle = try #require(FileHandle(forWritingAtPath: project.root + "/app/model.bin"))
        try handle.write(contentsOf: Data("weights-2".utf8))
        try handle.close()
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: Double(status.modifiedNanoseconds) / 1e9)],
            ofItemAtPath: project.root + "/app/model.bin")
        let edited = try #require(context.hash(cache: cache, excluding: project.root + "/app/.launch", now: later.addingTimeInterval(10)))
        #expect(edited != first)
        #expect(edited == context.hash(excluding: project.root + "/app/.launch"))
    }

    @Test func aFileChangedWithinTheLastSecondsIsNotCached() throws {
        let project = try TemporaryProject()
        try project.write("app/Dockerfile", "FROM local/busybox:latest\n")
        try project.write("app/fresh.txt", "now")
        let context = BuildContext(directory: project.root + "/app", dockerfile: project.root + "/app/Dockerfile")
        let cache = try #require(BuildContextCache.for(context: context.directory, layout: project.layout))
        _ = context.hash(cache: cache)
        #expect(cache.load()["fresh.txt"] == nil)
    }

    @Test func buildArgsAndTargetArePartOfTheHash() throws {
        let project = try TemporaryProject()
        try project.write("app/Dockerfile", "FROM local/busybox:latest\nARG MODE\n")
        func context(_ build: String) throws -> BuildContext {
            let stack = try ComposeModelReader.read(
                config: #"{"services": {"app": {"build": {"context": "\#(project.root)/app"\#(build)}}}}"#)
            return try #require(stack.service("app")?.buildContext)
        }
        let plain = try #require(try context("").hash())
        let fast = try #require(try context(#", "args": {"MODE": "fast", "LEVEL": "1"}"#).hash())
        let slow = try #require(try context(#", "args": {"MODE": "slow", "LEVEL": "1"}"#).hash())
        let reordered = try #require(try context(#", "args": {"LEVEL": "1", "MODE": "fast"}"#).hash())
        let target = try #require(try context(#", "args": {"MODE": "fast", "LEVEL": "1"}, "target": "prod""#).hash())
        #expect(Set([plain, fast, slow, target]).count == 4, "a changed arg or target is another image")
        #expect(fast == reordered, "the order args are written in does not matter")
        // A context without other build keys hashes as it always did: images built before keep their label.
        #expect(plain == BuildContext(directory: project.root + "/app", dockerfile: project.root + "/app/Dockerfile").hash())
        // Never printed: a build arg may carry a secret.
        #expect(!(try JSONOutput.encode(try context(#", "args": {"TOKEN": "s3cr3t"}"#))).contains("s3cr3t"))
    }

    @Test func buildContextAndPullPolicyAreReadFromTheModel() throws {
        let stack = try ComposeModelReader.read(
            config: """
                {"services": {"app": {"build": {"context": "/srv/app", "dockerfile": "Dockerfile.dev"}, "pull_policy": "build"},
                  "db": {"image": "postgres:16", "pull_policy": "always"}, "rel": {"build": "./rel"}}}
                """)
        #expect(stack.service("app")?.buildContext == BuildContext(directory: "/srv/app", dockerfile: "/srv/app/Dockerfile.dev"))
        #expect(stack.service("app")?.pullPolicy == "build")
        #expect(stack.service("db")?.pullPolicy == "always")
        #expect(stack.service("rel")?.builds == true)
        #expect(stack.service("rel")?.buildContext == nil)
    }
}

@Suite("Lifecycle keys against the installed Compose")
struct ComposeLifecycleTests {
    @Test(arguments: [
        ("2.26.1-4", "2.30.0", false), ("2.30.0", "2.30.0", true), ("2.31", "2.30.0", true), ("2.20.0", "2.17.0", true),
        ("1.29.2", "2.17.0", false), ("2.9.0", "2.17.0", false),
    ])
    func versions(installed: String, needed: String, ok: Bool) {
        #expect(ComposeLifecycle.isAtLeast(installed, needed) == ok)
    }

    @Test func usesAreFoundWithTheirLinesAndWarnedAboutByVersion() throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/app.yml",
            """
            services:
              db: {image: local/busybox:latest}
              app:
                image: local/busybox:latest
                post_start:
                  - command: [echo, hi]
                depends_on:
                  db: {condition: service_started, required: false, restart: true}
            """)
        let uses = ComposeLifecycle.uses([project.root + "/compose/app.yml"], display: project.layout.display)
        #expect(uses.map(\.key) == ["post_start", "depends_on.required", "depends_on.restart"])
        #expect(uses.first.map { "\($0.location.file):\($0.location.line)" } == "compose/app.yml:5")
        let old = ComposeLifecycle.warnings(uses, composeVersion: "2.16.0")
        #expect(old.count == 3)
        #expect(old[0] == "`post_start` of app (compose/app.yml:5) needs Compose 2.30.0 or newer; the installed 2.16.0 ignores it")
        let new = ComposeLifecycle.warnings(uses, composeVersion: "2.30.3")
        #expect(new.count == 1)
        #expect(new[0].contains("launch starts containers through the Engine API"))
    }
}
