import Foundation
import Testing

@testable import LaunchKit

#if canImport(Glibc)
    import Glibc
#endif

/// A small, seeded generator: the same secrets on every run, so a failure names its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(state: UInt64) { self.state = state }
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum SecretSamples {
    /// Every printable ASCII byte, the escapes Compose knows, quotes, and multi-byte UTF-8.
    static let alphabet: [String] =
        (0x20...0x7E).map { String(UnicodeScalar(UInt8($0))) } + ["\\", "\\$", "$$", "\"", "'", "é", "漢", "🙂", "\u{301}"]

    static func secret(_ random: inout SeededRandom) -> String {
        var text = ""
        let length = Int.random(in: 6...28, using: &random)
        while text.unicodeScalars.count < length { text += alphabet.randomElement(using: &random) ?? "x" }
        // Compose trims unquoted values and drops a leading combining mark's base: keep the ends plain.
        return "k" + text.trimmingCharacters(in: .whitespaces) + "z"
    }

    /// How a person writes it in double quotes, escaping what dotenv would otherwise read.
    static func doubleQuoted(_ value: String) -> String {
        "\""
            + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "$", with: "\\$") + "\""
    }
}

@Suite("Redaction by what the container sees")
struct RedactionPropertyTests {
    @Test(arguments: [1, 2, 3, 4])
    func randomSecretsNextToANonUTF8LineNeverReachOutput(seed: UInt64) throws {
        var random = SeededRandom(state: seed)
        let profile = Profile.fixture(secrets: ["API_TOKEN"])
        for _ in 0..<150 {
            let secret = SecretSamples.secret(&random)
            for written in [EnvFile.quoted(secret), SecretSamples.doubleQuoted(secret)] {
                var bytes: [UInt8] = Array("OTHER=caf".utf8) + [0xE9, 0xFF] + Array("\n".utf8)
                bytes += Array("API_TOKEN=\(written)\n".utf8)
                bytes += [0xC3, 0x28] + Array("=broken\n".utf8)
                let file = EnvFile(bytes: bytes)
                #expect(file.bytes == bytes, "bytes must be written back exactly (seed \(seed))")
                #expect(file.undecodableLines == [1, 3])
                #expect(file.resolvedValues["API_TOKEN"] == secret, "dotenv reading of \(written) (seed \(seed))")
                let redact = Redactor(profile: profile, envFile: file)
                let config = secret.replacingOccurrences(of: "$", with: "$$")
                let json = String(decoding: try JSONSerialization.data(withJSONObject: ["API_TOKEN": config]), as: UTF8.self)
                let broken = String(decoding: [0xFF] + Array(secret.utf8) + [0xC3], as: UTF8.self)
                for line in ["api | \(secret)", "environment: API_TOKEN=\(config)", json, broken, "x\(secret)\u{301}", written] {
                    let shown = redact(line)
                    #expect(
                        !shown.contains(secret) && !shown.contains(config),
                        "leaked \(secret.debugDescription) in \(shown.debugDescription) (seed \(seed))")
                    #expect(!Array(shown.utf8).containsSequence(Array(secret.utf8)), "leaked bytes (seed \(seed))")
                }
            }
        }
    }

    @Test func theIssuesExampleIsRedactedAsTheContainerSeesIt() {
        let file = EnvFile(parsing: #"API_TOKEN="a\\b\$c-long""# + "\n")
        #expect(file.resolvedValues["API_TOKEN"] == #"a\b$c-long"#)
        let redact = Redactor(profile: Profile.fixture(secrets: ["API_TOKEN"]), envFile: file)
        #expect(redact(#"token is a\b$c-long"#) == "token is ***")
        #expect(redact(#"raw a\\b\$c-long"#) == "raw ***")
        // As Compose 2.26 reads them (checked by hand with `docker compose run`).
        #expect(EnvFile(parsing: #"T="ka\\b\$c\"d'e$$f z""#).resolvedValues["T"] == #"ka\b$c"d'e$f z"#)
        #expect(EnvFile(parsing: #"T='ka\b$$c'"#).resolvedValues["T"] == #"ka\b$$c"#)
        #expect(EnvFile(parsing: #"T=ka$$d z # comment"#).resolvedValues["T"] == "ka$d z")
    }

    @Test func probeOutputIsRedactedBeforeItIsCut() {
        let redact = Redactor(values: ["supersecretvalue"])
        let line = String(repeating: "x", count: 10) + "supersecretvalue"
        // Cutting first would leave "supersecr" behind; redacting first cannot.
        #expect(!String(redact(line).prefix(19)).contains("supersecr"))
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

@Suite("Locks, state files, breaker and I/O errors")
struct SafetyTests {
    func temporaryDirectory(mode: mode_t = 0o700) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("launch-safety-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, mode)
        return path
    }

    @Test func theLockIsKeyedByEngineAndProjectInAPrivateDirectory() throws {
        let runtime = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let env = ["XDG_RUNTIME_DIR": runtime, "HOME": "/nonexistent"]
        let a = ProjectLock.path(engine: EngineEndpoint(socketPath: "/var/run/docker.sock"), project: "stack", environment: env)
        #expect(a.hasPrefix(runtime + "/launch/locks/stack@"))
        // Same project on another engine: another lock. The checkout is not part of the key.
        #expect(
            a != ProjectLock.path(engine: try EngineEndpoint(host: "ssh://gpu-box", source: .hostFlag), project: "stack", environment: env))
        #expect(a == ProjectLock.path(engine: EngineEndpoint(socketPath: "/var/run/docker.sock"), project: "stack", environment: env))
        // A world-writable runtime directory is not used.
        let shared = try temporaryDirectory(mode: 0o777)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        #expect(
            ProjectLock.directory(environment: ["XDG_RUNTIME_DIR": shared, "HOME": "/home/me"]) == "/home/me/.local/state/launch/locks")

        let first = try ProjectLock(path: a, project: "stack", environment: "dev", command: "launch dev", root: "/checkout/one")
        #expect(throws: ProjectLock.Busy.self) {
            _ = try ProjectLock(path: a, project: "stack", environment: "dev", command: "launch dev", root: "/checkout/two")
        }
        #expect(AtomicFile.mode(of: a) == 0o600)
        first.release()
        #expect(AtomicFile.mode(of: runtime + "/launch/locks") == 0o700)
        // Released, the file goes: the directory does not grow with every project and engine ever launched.
        #expect(!FileManager.default.fileExists(atPath: a))
        let again = try ProjectLock(path: a, project: "stack", environment: "dev", command: "launch dev", root: "/checkout/two")
        #expect(again.clearedStale == nil)
        again.release()
    }

    @Test func everySpellingOfOneEngineSharesOneLock() throws {
        let runtime = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let env = ["XDG_RUNTIME_DIR": runtime]
        // The engine's socket (any file stands for it: identity is its device and inode) and two other ways to name it.
        let socket = runtime + "/run/docker.sock"
        try FileManager.default.createDirectory(atPath: runtime + "/run", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: socket, contents: nil))
        symlink(socket, runtime + "/alias.sock")
        let spellings = [socket, runtime + "/run//docker.sock", runtime + "/run/../run/docker.sock", runtime + "/alias.sock"]
        let paths = Set(spellings.map { ProjectLock.path(engine: EngineEndpoint(socketPath: $0), project: "stack", environment: env) })
        #expect(paths.count == 1, "\(paths)")
        let held = try ProjectLock(path: try #require(paths.first), project: "stack", environment: "dev", command: "launch dev", root: nil)
        defer { held.release() }
        let other = ProjectLock.path(engine: EngineEndpoint(socketPath: runtime + "/alias.sock"), project: "stack", environment: env)
        #expect(throws: ProjectLock.Busy.self) {
            _ = try ProjectLock(path: other, project: "stack", environment: "down", command: "launch down", root: nil)
        }
        // TCP by host and port whatever their case; another engine is another lock.
        #expect(
            ProjectLock.engineIdentity(try EngineEndpoint(host: "tcp://Build-Box:2375", source: .hostFlag))
                == ProjectLock.engineIdentity(try EngineEndpoint(host: "tcp://build-box:2375", source: .hostFlag)))
        #expect(
            ProjectLock.path(engine: EngineEndpoint(socketPath: runtime + "/other.sock"), project: "stack", environment: env) != other)
    }

    @Test func aSymlinkAtTheLockPathIsNeverFollowed() throws {
        let runtime = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let path = ProjectLock.path(engine: EngineEndpoint(socketPath: "/x.sock"), project: "p", environment: ["XDG_RUNTIME_DIR": runtime])
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let victim = runtime + "/victim"
        try "keep".write(toFile: victim, atomically: true, encoding: .utf8)
        symlink(victim, path)
        do {
            _ = try ProjectLock(path: path, project: "p", environment: "dev", command: "launch dev", root: nil)
            Issue.record("a symlinked lock file was opened")
        } catch let error as FileError {
            #expect(error.summary.contains(path))
            #expect(error.hint?.contains("symbolic link") == true)
            #expect(error.exitCode == .preflightFailed)
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep")
    }

    @Test func runReportsAre0600InA0700Directory() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = ProjectLayout(root: root)
        try FileManager.default.createDirectory(atPath: root + "/.launch", withIntermediateDirectories: true)
        chmod(root + "/.launch", 0o755)
        let result = LaunchResult(
            environment: "dev", project: "p", outcome: .success, exitCode: 0, startedAt: Date(), seconds: 1, phases: [], services: [],
            degraded: [], urls: [], rollback: nil, error: nil, configFingerprint: "abc")
        let id = try RunStore(layout: layout).save(result)
        #expect(AtomicFile.mode(of: root + "/.launch") == 0o700)
        #expect(AtomicFile.mode(of: root + "/.launch/runs") == 0o700)
        #expect(AtomicFile.mode(of: root + "/.launch/runs/\(id).json") == 0o600)
        #expect(try RunStore(layout: layout).load(id).configFingerprint == "abc")
    }

    func failedRun(_ fingerprint: String?, minutesAgo: Double, outcome: String = "failed") throws -> RecordedRun {
        let json = """
            {"environment":"dev","project":"p","outcome":"\(outcome)","exit_code":1,"started_at":"\(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_000_000 - minutesAgo * 60)))",
             "seconds":1,"phases":[],"services":[{"name":"api","class":"core","state":"failed","retries":0,
             "failure":{"failure":"exited(1)","reason":"exit 1","classification":"configuration"}}]
             \(fingerprint.map { #","config_fingerprint":"\#($0)""# } ?? "")}
            """
        let decoder = JSONOutput.decoder()
        return try decoder.decode(RecordedRun.self, from: Data(json.utf8))
    }

    @Test func theBreakerCountsOnlyFailuresOfTheSameConfiguration() throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let history = try [failedRun("aaa", minutesAgo: 1), failedRun("aaa", minutesAgo: 2), failedRun("aaa", minutesAgo: 3)]
        let breaker = CircuitBreaker()
        #expect(throws: CircuitBreaker.Open.self) { try breaker.check(environment: "dev", history: history, now: now, fingerprint: "aaa") }
        // The configuration changed: let it through.
        try breaker.check(environment: "dev", history: history, now: now, fingerprint: "bbb")
        // Before the model is resolved only preflight streaks count.
        try breaker.check(environment: "dev", history: history, now: now)
        let mixed = try [failedRun("bbb", minutesAgo: 1), failedRun("aaa", minutesAgo: 2), failedRun("aaa", minutesAgo: 3)]
        try breaker.check(environment: "dev", history: mixed, now: now, fingerprint: "aaa")
        let preflight = try (1...3).map { try failedRun(nil, minutesAgo: Double($0), outcome: "preflight_failed") }
        #expect(throws: CircuitBreaker.Open.self) { try breaker.check(environment: "dev", history: preflight, now: now) }
    }

    @Test func ioErrorsNameThePathAndAHintNotFoundationText() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            _ = try RunStore(layout: ProjectLayout(root: root)).load("missing")
            Issue.record("loading a missing report succeeded")
        } catch {
            #expect(error.summary.contains(".launch/runs/missing.json"))
            #expect(error.summary.contains("No such file or directory"))
            #expect(!error.summary.contains("NSCocoaErrorDomain") && !error.summary.contains("Error Domain"))
            #expect(error.hint != nil)
        }
    }

    @Test func anEnvFileThatIsADirectoryIsSaidAsSuchNotAsAnIOError() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/.env.demo", withIntermediateDirectories: true)
        do {
            _ = try EnvProvisioner.bytes(of: root + "/.env.demo", display: ".env.demo")
            Issue.record("a directory read as an env file")
        } catch {
            #expect(error.summary.contains(".env.demo"))
            #expect(error.summary.contains("is a directory, not a file"), "\(error.summary)")
            #expect(!error.summary.contains("I/O error"))
            #expect(error.hint == "move the directory away or name the file it holds")
        }
        // And a file where launch keeps a directory (`.launch`).
        try "".write(toFile: root + "/.launch", atomically: true, encoding: .utf8)
        let layout = ProjectLayout(root: root)
        #expect(throws: FileError.self) { _ = try layout.privateStateDirectory("runs") }
        do {
            _ = try layout.privateStateDirectory("runs")
        } catch {
            #expect(error.summary == "cannot use the state directory .launch: is a file, not a directory", "\(error.summary)")
        }
    }

    @Test func relaunchChangesComeFromComposeHashesAndContainerLabels() throws {
        func container(_ service: String, hash: String, state: String) throws -> ContainerSummary {
            try JSONDecoder().decode(
                ContainerSummary.self,
                from: Data(
                    """
                    {"Id":"\(service)-id","Names":["/p-\(service)-1"],"Image":"local/busybox:latest","ImageID":"sha256:1","State":"\(state)","Status":"",
                     "Labels":{"com.docker.compose.service":"\(service)","com.docker.compose.config-hash":"\(hash)"},"Created":1}
                    """.utf8))
        }
        let changes = LastGood.changes(
            hashes: ["db": "h1", "api": "h2", "web": "h3", "worker": "h4"],
            containers: [
                try container("db", hash: "h1", state: "running"), try container("api", hash: "old", state: "running"),
                try container("worker", hash: "h4", state: "exited"),
            ])
        #expect(changes == ["db": .keep, "api": .recreate, "web": .create, "worker": .start])
        #expect(ServiceChange.recreate.rawValue == "recreate (config changed)")
        #expect(try container("db", hash: "h1", state: "running").imageID == "sha256:1")
    }

    @Test func restoringUsesNoDepsAndHashesComeFromCompose() {
        let compose = Compose(project: "p", files: ["/x/last-good/p.json"], envFile: nil)
        #expect(
            compose.create(services: ["api"], dependencies: false).arguments == [
                "compose", "--project-name", "p", "--file", "/x/last-good/p.json", "up", "--no-start", "--no-build", "--pull", "never",
                "--no-deps", "api",
            ])
        #expect(compose.configHash().arguments.suffix(3) == ["config", "--hash", "*"])
        let report = RestoreReport(
            attempted: ["api"], restored: [], failed: ["api: exited with code 1"], running: ["db"], notRunning: ["api"])
        #expect(!report.complete)
        #expect(
            report.line.contains("NOT restored: api") && report.line.contains("left running: db")
                && report.line.contains("not running: api"))
        #expect(RestoreReport(attempted: ["api"], restored: ["api"]).line == "restored to last good: api")
    }

    @Test(arguments: [LaunchResult.Outcome.failed, .interrupted])
    func theSummaryNeverSaysRolledBackOverAHole(outcome: LaunchResult.Outcome) {
        func verdict(_ restore: RestoreReport?) -> String {
            var result = LaunchResult(
                environment: "dev", project: "p", outcome: outcome, exitCode: 1, startedAt: Date(), seconds: 1, phases: [], services: [],
                degraded: [], urls: [], rollback: RollbackReport(), error: nil)
            result.restore = restore
            return LaunchSummary.render(result, console: CapturedOutput().console()).first { $0.hasPrefix("launch dev:") } ?? ""
        }
        #expect(verdict(nil).hasSuffix("; rolled back"))
        #expect(verdict(RestoreReport(attempted: ["api"], restored: ["api"])).hasSuffix("; restored to last good: api"))
        let hole = verdict(
            RestoreReport(attempted: ["api"], problem: "no last good state is recorded", running: ["db"], notRunning: ["api"]))
        #expect(hole.contains("the stack is NOT as it was: NOT restored: api (no last good state is recorded)"), "\(hole)")
        #expect(!hole.hasSuffix("; rolled back"))
        // The engine did not list the project: nothing was restored blind, and nothing is claimed lost either.
        let unknown = verdict(
            RestoreReport(attempted: ["api", "db"], problem: "the engine did not list the project's containers (timeout)", unknown: true))
        #expect(
            unknown.hasSuffix(
                "rolled back what it created, but whether the stack is as it was is unknown: the engine did not list the project's containers (timeout)"
            ), "\(unknown)")
        #expect(!unknown.contains("NOT restored"))
    }
}
