import Foundation
import Testing

@testable import LaunchKit

@Suite("Profile loading")
struct ProfileLoaderTests {
    @Test func loadsAValidProfileWithDefaults() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        let profile = try project.catalog().profile(named: "demo")
        #expect(profile.compose.project == "demo")
        #expect(profile.compose.files == ["app.yml"])
        #expect(profile.envFile == ".env.demo")
        #expect(profile.gpu.mode == .none)
        #expect(profile.health.retries == 2)
        #expect(profile.health.backoff == .seconds(5))
        #expect(profile.cleanup.reclaimablePercent == 30)
        #expect(profile.services.serviceClass(of: "web") == .optional)
        #expect(profile.services.serviceClass(of: "unlisted") == .core)
    }

    @Test func readsEveryKeyOfTheSchema() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                aliases: [dm]
                summary: Everything
                compose: {project: demo-x, files: [app.yml]}
                env_file: .env.custom
                variables: {MODE: fast, LEVEL: "3"}
                secrets:
                  DB_PASSWORD: {length: 32}
                  API_KEY: {length: 40, prefix: "sk-"}
                gpu: {mode: optional, single: gpu-single.yml, dual: gpu-dual.yml}
                services: {core: [db], stretch: [web]}
                requires: {memory: 2GiB, disk: 500MB, paths: [compose/]}
                health: {timeout: 10m, retries: 4, backoff: 250ms, require_healthcheck: true, stability: 3s}
                cleanup: {reclaimable_percent: 45}
                urls: {Web: "http://localhost:8080", Admin: "http://localhost:9000"}
                preflight:
                  - name: key
                    when: API_KEY
                    http: {url: "https://example.invalid/v1/models", headers: {Authorization: "Bearer ${API_KEY}"}, expect: [200, 204], timeout: 2s}
                  - name: db
                    tcp: {host: 127.0.0.1, port: 5432}
                """)
        let profile = try project.catalog().profile(named: "dm")
        #expect(profile.name == "demo")
        #expect(profile.envFile == ".env.custom")
        #expect(profile.variables.map(\.key) == ["MODE", "LEVEL"])
        #expect(profile.secrets == [.init(key: "DB_PASSWORD", length: 32, prefix: ""), .init(key: "API_KEY", length: 40, prefix: "sk-")])
        #expect(profile.gpu == .init(mode: .optional, dual: "gpu-dual.yml", single: "gpu-single.yml", none: nil))
        #expect(profile.requires.memory == ByteSize(bytes: 2 * 1024 * 1024 * 1024))
        #expect(profile.requires.disk == ByteSize(bytes: 500_000_000))
        #expect(profile.health.timeout == .seconds(600))
        #expect(profile.health.backoff == .milliseconds(250))
        #expect(profile.health.requireHealthcheck)
        #expect(profile.cleanup.reclaimablePercent == 45)
        #expect(profile.urls.map(\.name) == ["Web", "Admin"])
        #expect(profile.preflight.count == 2)
        guard case .http(let http) = profile.preflight[0].kind else {
            Issue.record("expected an http check")
            return
        }
        #expect(http.expect == [200, 204])
        #expect(http.method == "GET")
        #expect(http.timeout == .seconds(2))
        #expect(profile.preflight[0].when == "API_KEY")
    }

    private func problems(_ profile: String, extra: [String: String] = [:]) throws -> [ConfigProblem] {
        let project = try TemporaryProject()
        try project.writeDemo(profile: profile)
        for (path, text) in extra { try project.write(path, text) }
        do {
            _ = try project.catalog().profile(named: "demo")
            Issue.record("expected the profile to be rejected")
            return []
        } catch let error as ConfigurationError {
            return error.problems
        }
    }

    @Test func unknownKeySuggestsTheKnownOne() throws {
        let found = try problems("name: demo\ncompose: {project: demo, files: [app.yml]}\nsecretz: {}\n")
        #expect(found.count == 1)
        #expect(found[0].message == "unknown key `secretz` in the profile")
        #expect(found[0].hint == "did you mean `secrets`?")
        #expect(found[0].location == SourceLocation(file: "environments/demo.yml", line: 3, column: 1))
    }

    @Test func unknownNestedKeyIsReportedWithItsLine() throws {
        let found = try problems("name: demo\ncompose:\n  project: demo\n  files: [app.yml]\nhealth:\n  retrys: 3\n")
        #expect(found.map(\.message) == ["unknown key `retrys` in health"])
        #expect(found[0].hint == "did you mean `retries`?")
        #expect(found[0].location.line == 6)
    }

    @Test func missingComposeFileIsNamed() throws {
        let found = try problems("name: demo\ncompose:\n  project: demo\n  files:\n    - app.yml\n    - apps.yml\n")
        #expect(found.map(\.message) == ["compose file `compose/apps.yml` does not exist"])
        #expect(found[0].location.line == 6)
        #expect(found[0].hint == "did you mean `app.yml`?")
    }

    @Test func serviceThatNoComposeFileDefines() throws {
        let found = try problems("name: demo\ncompose: {project: demo, files: [app.yml]}\nservices:\n  optional: [webb]\n")
        #expect(found.map(\.message) == ["service `webb` is not defined by any of this profile's compose files"])
        #expect(found[0].hint == "did you mean `web`?")
        #expect(found[0].location.line == 4)
    }

    @Test func serviceInTwoClasses() throws {
        let found = try problems("name: demo\ncompose: {project: demo, files: [app.yml]}\nservices: {core: [db], stretch: [db]}\n")
        #expect(found.map(\.message) == ["service `db` is listed as both core and stretch"])
    }

    @Test func malformedYAMLPointsAtTheLine() throws {
        let found = try problems("name: demo\ncompose: {project: demo, files: [app.yml]\nsummary: x\n")
        #expect(found.count == 1)
        #expect(found[0].message.hasPrefix("malformed YAML"))
        #expect(found[0].location.line >= 2)
    }

    @Test func nameMustMatchTheFile() throws {
        let found = try problems("name: other\ncompose: {project: demo, files: [app.yml]}\n")
        #expect(found.map(\.message) == ["name `other` differs from the file name `demo`"])
    }

    @Test func badValuesAreExplained() throws {
        let found = try problems(
            """
            name: demo
            compose: {project: Demo!, files: [app.yml]}
            gpu: {mode: sometimes}
            health: {timeout: soon, retries: -1}
            requires: {memory: lots}
            secrets: {short: {length: 4}}
            """)
        let messages = found.map(\.message)
        #expect(messages.contains("compose.project `Demo!` is not a valid compose project name"))
        #expect(messages.contains("gpu.mode must be required, optional or none, not `sometimes`"))
        #expect(messages.contains("health.timeout is not a duration: `soon`"))
        #expect(messages.contains("health.retries must be a whole number from 0 to 20, not `-1`"))
        #expect(messages.contains("requires.memory is not a size: `lots`"))
        #expect(messages.contains("secrets.short.length must be a whole number from 8 to 4096, not `4`"))
    }

    @Test func optionalGPUWithoutOverlayIsAConfigErrorButRequiredIsNot() throws {
        let found = try problems("name: demo\ncompose: {project: demo, files: [app.yml]}\ngpu: {mode: optional}\n")
        #expect(found.map(\.message) == ["gpu.mode is optional but no overlay is named"])
        // The compose files reserve the GPUs themselves.
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\ngpu: {mode: required}\n")
        #expect(try project.catalog().profile(named: "demo").gpu.mode == .required)
    }

    @Test func extendsCycleIsNamed() throws {
        let found = try problems(
            "name: demo\nextends: b\ncompose: {project: demo, files: [app.yml]}\n",
            extra: ["environments/b.yml": "name: b\nextends: demo\ncompose: {project: b, files: [app.yml]}\n"])
        #expect(found.count == 1)
        #expect(found[0].message == "`extends` cycle: demo -> b -> demo")
    }

    @Test func extendsUnknownProfileSuggests() throws {
        let found = try problems(
            "name: demo\nextends: bse\ncompose: {project: demo, files: [app.yml]}\n",
            extra: ["environments/base.yml": "name: base\ncompose: {project: base, files: [app.yml]}\n"])
        #expect(found.map(\.message) == ["`extends: bse` names no profile in environments/"])
        #expect(found[0].hint == "did you mean `base`?")
    }

    @Test func extendsOverridesKeysMergesMapsAndReplacesLists() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                aliases: [dm]
                summary: Base
                compose: {project: demo, files: [app.yml]}
                variables: {A: "1", B: "2"}
                services: {core: [db], optional: [web]}
                health: {retries: 5, backoff: 1s}
                """)
        try project.write(
            "environments/child.yml",
            """
            name: child
            extends: demo
            variables: {B: "20", C: "30"}
            services: {core: [db, web]}
            health: {retries: 1}
            """)
        let child = try project.catalog().profile(named: "child")
        #expect(child.compose.project == "demo")
        #expect(child.variables.map { "\($0.key)=\($0.value)" } == ["A=1", "B=20", "C=30"])
        #expect(child.services.core == ["db", "web"])
        #expect(child.services.optional.isEmpty)  // web moved to core; other classes are inherited
        #expect(child.health.retries == 1)
        #expect(child.health.backoff == .seconds(1))
        #expect(child.aliases.isEmpty)  // identity keys are not inherited
        #expect(child.summary == "")
        #expect(child.extends == "demo")
    }

    @Test func errorsInInheritedKeysPointAtTheParentFile() throws {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nhealth: {retries: lots}\n")
        try project.write("environments/child.yml", "name: child\nextends: demo\n")
        #expect(throws: ConfigurationError.self) { try project.catalog().profile(named: "child") }
        do {
            _ = try project.catalog().profile(named: "child")
        } catch let error as ConfigurationError {
            #expect(error.problems.first?.location.file == "environments/demo.yml")
        }
    }

    @Test func unknownEnvironmentIsAUsageErrorWithSuggestion() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        do {
            _ = try project.catalog().profile(named: "dmeo")
            Issue.record("expected a usage error")
        } catch let error as UsageError {
            #expect(error.exitCode == .usage)
            #expect(error.hint == "did you mean `demo`?")
            #expect(error.evidence == ["environments: demo"])
        }
    }

    @Test func aliasTakenTwiceIsReported() throws {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\naliases: [x]\ncompose: {project: demo, files: [app.yml]}\n")
        try project.write("environments/other.yml", "name: other\naliases: [x]\ncompose: {project: other, files: [app.yml]}\n")
        #expect(project.catalog().sharedProblems.map(\.message) == ["alias `x` is already taken by demo"])
    }

    @Test func projectRootIsFoundUpwardAndOverridable() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        try FileManager.default.createDirectory(atPath: project.root + "/a/b", withIntermediateDirectories: true)
        #expect(try ProjectLayout.locate(from: project.root + "/a/b").root == ProjectLayout(root: project.root).root)
        #expect(throws: ProjectNotFound.self) { try ProjectLayout.locate(from: project.root + "/a", explicit: "b") }
        #expect(throws: ProjectNotFound.self) { try ProjectLayout.locate(from: "/") }
    }
}

@Suite("Quantities")
struct QuantityTests {
    @Test(arguments: [
        ("250ms", 0.25), ("5s", 5.0), ("1m30s", 90.0), ("10m", 600.0), ("1h", 3600.0), ("1.5s", 1.5), ("30", 30.0),
        ("1m0s", 60.0),
    ])
    func durations(text: String, seconds: Double) {
        #expect(DurationText.parse(text)?.seconds == seconds)
    }

    @Test func badDurations() {
        #expect(DurationText.parse("soon") == nil)
        #expect(DurationText.parse("") == nil)
        #expect(DurationText.parse("5 parsecs") == nil)
    }

    @Test(arguments: [
        ("512M", UInt64(512 * 1024 * 1024)), ("2GiB", UInt64(2 << 30)), ("20GB", UInt64(20_000_000_000)), ("1024", UInt64(1024)),
        ("1.5G", UInt64(1.5 * Double(1 << 30))),
    ])
    func sizes(text: String, bytes: UInt64) {
        #expect(ByteSize(parsing: text)?.bytes == bytes)
    }

    @Test func formatting() {
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.seconds(92)) == "1m32s")
        #expect(ByteSize(bytes: 3 << 30).description == "3.0 GiB")
    }
}

@Suite("Unknown names: environments and commands")
struct UnknownNameTests {
    @Test func aMistypedCommandIsSuggestedAsTheCommandAndAMistypedEnvironmentAsTheEnvironment() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        let catalog = project.catalog()
        let commands = ["up", "plan", "doctor", "status", "logs", "down"]
        do {
            _ = try catalog.profile(named: "stauts", commands: commands)
            Issue.record("`stauts` resolved")
        } catch let error as UsageError {
            #expect(error.hint == "did you mean the command `launch status`?")
            #expect(error.exitCode == .usage)
        }
        do {
            _ = try catalog.profile(named: "dmeo", commands: commands)
            Issue.record("`dmeo` resolved")
        } catch let error as UsageError {
            #expect(error.hint == "did you mean `demo`?")
        }
    }

    @Test func aComposeFileOutsideTheProjectIsRefusedWithItsLine() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml, ../../../../etc/passwd]}
                """)
        let error = try #require(throws: ConfigurationError.self) { try project.catalog().profile(named: "demo") }
        #expect(
            error.problems.contains { $0.message.contains("resolves outside the project") && $0.location.line == 2 }, "\(error.problems)")
        // A symlink under compose/ that leads outside is outside too.
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString.prefix(8)).yml").path
        try "services: {x: {image: y}}\n".write(toFile: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(atPath: project.root + "/compose/link.yml", withDestinationPath: outside)
        try project.write("environments/demo.yml", "name: demo\ncompose: {project: demo, files: [link.yml]}\n")
        #expect(throws: ConfigurationError.self) { try project.catalog().profile(named: "demo") }
        // An absolute path is taken as written.
        try project.write("environments/demo.yml", "name: demo\ncompose: {project: demo, files: [\(outside)]}\n")
        #expect(try project.catalog().profile(named: "demo").compose.files == [outside])
    }
}
