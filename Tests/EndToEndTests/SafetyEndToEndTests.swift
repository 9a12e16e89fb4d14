import Foundation
import LaunchKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Lose nothing, leak nothing: a failed relaunch puts the stack back, Ctrl-C at any moment leaves nothing, and
/// secrets as the container sees them never reach output, logs or reports.
@Suite("safety against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct SafetyEndToEndTests {
    static let image = Busybox.image
    static let policy = "health: {retries: 0, backoff: 200ms, stability: 1s}"

    static func service(_ script: String, dependsOn: String? = nil) -> String {
        """
            image: \(image)
            command: ["sh", "-c", '\(script)']
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 30s}\(dependsOn.map { "\n    depends_on: {\($0): {condition: service_healthy}}" } ?? "")
        """
    }

    static let healthy = "trap \"exit 0\" TERM; touch /tmp/ok; sleep 3600 & wait"

    func inspect(_ container: String, _ format: String) async throws -> String {
        try await E2E.docker(["inspect", "--format", format, container]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func left(_ project: TestProject) async throws -> (containers: String, networks: String) {
        let filter = ["--filter", "label=com.docker.compose.project=\(project.name)"]
        return (try await E2E.docker(["ps", "-aq"] + filter).stdout, try await E2E.docker(["network", "ls", "-q"] + filter).stdout)
    }

    @Test func aFailedRelaunchLeavesThePreviousContainersRunningAndHealthy() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      db:
                    \(Self.service(Self.healthy))
                      api:
                    \(Self.service("echo v1; " + Self.healthy, dependsOn: "db"))
                    """)
            let first = try await project.launch(["demo"])
            #expect(first.status == 0, "\(first.stderr)")
            let record = project.root + "/.launch/last-good/\(project.name).json"
            #expect(AtomicFile.mode(of: record) == 0o600)
            #expect(AtomicFile.mode(of: project.root + "/.launch") == 0o700)
            let dbBefore = try await inspect("\(project.name)-db-1", "{{.Id}}")

            // api changes so that it fails; db does not.
            try project.write(
                "compose/stack.yml",
                """
                services:
                  db:
                \(Self.service(Self.healthy))
                  api:
                \(Self.service("echo v2 broken; exit 3", dependsOn: "db"))
                """)
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.stdout.contains("recreate (config changed)"), "\(plan.stdout)")
            #expect(plan.stdout.contains("keep (unchanged)"))

            let again = try await project.launch(["demo", "--json"])
            #expect(again.status == 1, "\(again.stderr)")
            #expect(again.stderr.contains("restored to last good: api"), "\(again.stderr)")
            #expect(!again.stderr.contains("NOT restored"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
            let restore = try #require(json["restore"] as? [String: Any])
            #expect(restore["complete"] as? Bool == true)
            #expect(restore["restored"] as? [String] == ["api"])

            // The stack is as it was: db untouched, api running the last good configuration, healthy.
            #expect(try await inspect("\(project.name)-db-1", "{{.Id}}") == dbBefore)
            #expect(try await inspect("\(project.name)-db-1", "{{.State.Health.Status}}") == "healthy")
            #expect(try await inspect("\(project.name)-api-1", "{{.State.Running}}") == "true")
            #expect(try await E2E.engineHealth("\(project.name)-api-1") == "healthy")
            let logs = try await E2E.docker(["logs", "\(project.name)-api-1"]).stdout
            #expect(logs.contains("v1") && !logs.contains("v2"))
        }
    }

    @Test func aRelaunchThatComposeCannotCreatePutsBackWhatItHadReplaced() async throws {
        try await E2E.withProject { project in
            func stack(api: String, webExtra: String = "") -> String {
                """
                services:
                  api:
                \(Self.service(api))
                  web:
                    image: \(Self.image)
                    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                    depends_on: [api]\(webExtra)
                """
            }
            try project.writeProfile(extra: Self.policy, stack: stack(api: "echo v1; " + Self.healthy))
            let first = try await project.launch(["demo"])
            #expect(first.status == 0, "\(first.stderr)")
            let api = "\(project.name)-api-1", web = "\(project.name)-web-1"
            let webBefore = try await inspect(web, "{{.Id}}")

            // Compose recreates api, then the engine refuses to create web (more CPUs than any host has).
            try project.write("compose/stack.yml", stack(api: "echo v2; " + Self.healthy, webExtra: "\n    cpus: 4096"))
            let again = try await project.launch(["demo"])
            #expect(again.status == 1, "\(again.all)")
            #expect(again.stderr.contains("Range of CPUs"), "\(again.stderr)")
            #expect(again.stderr.contains("rolled back and restored to last good: api"), "\(again.stderr)")
            #expect(try await inspect(web, "{{.Id}}") == webBefore)
            #expect(await E2E.isRunning(api))
            #expect(try await E2E.engineHealth(api) == "healthy")
            let logs = try await E2E.docker(["logs", api]).stdout
            #expect(logs.contains("v1") && !logs.contains("v2"), "\(logs)")
        }
    }

    @Test func ctrlCDuringARelaunchPutsBackWhatItReplaced() async throws {
        try await E2E.withProject { project in
            func stack(api script: String) -> String {
                """
                services:
                  db:
                \(Self.service(Self.healthy))
                  api:
                \(Self.service(script, dependsOn: "db"))
                """
            }
            try project.writeProfile(extra: Self.policy, stack: stack(api: "echo v1; " + Self.healthy))
            let first = try await project.launch(["demo"])
            #expect(first.status == 0, "\(first.stderr)")
            let api = "\(project.name)-api-1", db = "\(project.name)-db-1"
            let dbBefore = try await inspect(db, "{{.Id}}")

            // api v2 never becomes ready: Ctrl-C once Compose has replaced v1 and v2 runs.
            try project.write("compose/stack.yml", stack(api: "trap \"exit 0\" TERM; echo v2; sleep 3600 & wait"))
            let stderr = Pipe()
            let process = try project.spawn(["demo"], stderr: stderr)
            let v2Runs = await E2E.eventually {
                guard await E2E.isRunning(api) else { return false }
                return (try? await E2E.docker(["logs", api]))?.stdout.contains("v2") ?? false
            }
            #expect(v2Runs)
            process.interrupt()
            process.waitUntilExit()
            let talk = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 130, "\(talk)")
            #expect(talk.contains("interrupted; restored to last good: api"), "\(talk)")
            #expect(!talk.contains("NOT restored"), "\(talk)")

            // As it was before the relaunch: db untouched, api running v1 and healthy.
            #expect(try await inspect(db, "{{.Id}}") == dbBefore)
            #expect(await E2E.isRunning(api))
            #expect(try await E2E.engineHealth(api) == "healthy")
            let logs = try await E2E.docker(["logs", api]).stdout
            #expect(logs.contains("v1") && !logs.contains("v2"), "\(logs)")
        }
    }

    @Test(arguments: [0.2, 0.5, 1.0, 2.0])
    func ctrlCAtAnyMomentOfALaunchLeavesNothingBehind(after seconds: Double) async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      slow:
                    \(Self.service("trap \"exit 0\" TERM; sleep 30; touch /tmp/ok; sleep 3600 & wait"))
                      after:
                    \(Self.service(Self.healthy, dependsOn: "slow"))
                    """)
            let stderr = Pipe()
            let process = try project.spawn(["demo"], stderr: stderr)
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            process.interrupt()
            process.waitUntilExit()
            let talk = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // 130 from launch itself; or, when the signal came before the process could install any handler, death
            // by SIGINT, which a shell reports as 130 too.
            let exited130 = process.terminationReason == .exit && process.terminationStatus == 130
            let killedBySIGINT = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT
            #expect(exited130 || killedBySIGINT, "status \(process.terminationStatus) after \(seconds)s: \(talk)")
            let remaining = try await left(project)
            #expect(remaining.containers.isEmpty, "containers left after Ctrl-C at \(seconds)s: \(remaining.containers)\n\(talk)")
            #expect(remaining.networks.isEmpty, "networks left after Ctrl-C at \(seconds)s: \(remaining.networks)\n\(talk)")
        }
    }

    @Test func aChangedConfigurationGetsPastTheBreaker() async throws {
        try await E2E.withProject { project in
            func stack(exit code: Int) -> String {
                """
                services:
                  broken:
                    image: \(Self.image)
                    command: ["sh", "-c", "echo cannot start; exit \(code)"]
                    healthcheck: {test: ["CMD", "test", "-f", "/nonexistent"], interval: 1s, start_period: 10s}
                """
            }
            try project.writeProfile(extra: "health: {retries: 0}", stack: stack(exit: 7))
            for _ in 0..<3 { #expect(try await project.launch(["demo"]).status == 1) }
            let refused = try await project.launch(["demo"])
            #expect(refused.status == 3, "\(refused.stderr)")
            #expect(refused.stderr.contains("same configuration"))
            // Someone changed the compose file: this is not the failure the breaker remembers.
            try project.write("compose/stack.yml", stack(exit: 8))
            let changed = try await project.launch(["demo"])
            #expect(changed.status == 1, "\(changed.stderr)")
            #expect(changed.stderr.contains("exited with code 8"))
        }
    }

    @Test func downEnvAndAnotherCheckoutWaitForTheLaunchHoldingTheLock() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy,
                stack: """
                    services:
                      slow:
                    \(Self.service("trap \"exit 0\" TERM; sleep 30; touch /tmp/ok; sleep 3600 & wait"))
                    """)
            let environment = ProcessInfo.processInfo.environment
            let engine = try EngineEndpoint.resolve(environment: environment)
            let lock = ProjectLock.path(engine: engine, project: project.name, environment: environment)
            let process = try project.spawn(["demo"])
            #expect(
                await E2E.eventually {
                    ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").contains("\(process.processIdentifier)")
                })
            let down = try await project.launch(["down", "demo"])
            #expect(down.status == 4, "\(down.stderr)")
            #expect(down.stderr.contains("pid \(process.processIdentifier)"))
            // The same engine spelled another way (a doubled slash, a symlink to its socket) is the same lock.
            if case .unix(let socket) = engine.transport {
                let alias = project.root + "/engine.sock"
                symlink(socket, alias)
                let doubled = (socket as NSString).deletingLastPathComponent + "//" + (socket as NSString).lastPathComponent
                for spelling in ["unix://" + doubled, "unix://" + alias] {
                    let other = try await project.launch(["down", "demo", "-H", spelling])
                    #expect(other.status == 4, "\(spelling): \(other.stderr)")
                    #expect(other.stderr.contains("pid \(process.processIdentifier)"), "\(spelling): \(other.stderr)")
                }
            }
            #expect(try await project.launch(["env", "demo"]).status == 4)
            // A second checkout of the same compose project on the same engine.
            let other = FileManager.default.temporaryDirectory.appendingPathComponent("\(project.name)-checkout2").path
            defer { try? FileManager.default.removeItem(atPath: other) }
            try FileManager.default.copyItem(atPath: project.root + "/environments", toPath: other + "/environments")
            try FileManager.default.copyItem(atPath: project.root + "/compose", toPath: other + "/compose")
            let second = try await E2E.launch(["demo", "--project-dir", other], in: other)
            #expect(second.status == 4, "\(second.stderr)")
            #expect(second.stderr.contains(project.root))
            process.interrupt()
            process.waitUntilExit()
            #expect(process.terminationStatus == 130)
        }
    }

    @Test(arguments: [11, 12, 13])
    func secretsAsTheContainerSeesThemNeverReachLogsDiagnosesOrReports(seed: UInt64) async throws {
        var random = SeededRandomE2E(state: seed)
        let secret = SeededRandomE2E.secret(&random)
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: Self.policy + "\nsecrets: {API_TOKEN: {length: 24}}\nservices: {optional: [bad]}",
                stack: """
                    services:
                      api:
                        image: \(Self.image)
                        environment: {API_TOKEN: "${API_TOKEN}"}
                        command: ["sh", "-c", 'printf "token=%s\\n" "$$API_TOKEN"; trap "exit 0" TERM; touch /tmp/ok; sleep 3600 & wait']
                        healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 30s}
                      bad:
                        image: \(Self.image)
                        environment: {API_TOKEN: "${API_TOKEN}"}
                        command: ["sh", "-c", 'printf "fatal: rejected %s\\n" "$$API_TOKEN"; exit 1']
                        healthcheck: {test: ["CMD", "true"], interval: 250ms, start_period: 30s}
                    """)
            // Written as a person would, with escapes, next to a line that is not UTF-8.
            let escaped =
                "\""
                + secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "$", with: "\\$") + "\""
            let bytes: [UInt8] = Array("OTHER=caf".utf8) + [0xE9, 0xFF, 0x0A] + Array("API_TOKEN=\(escaped)\n".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: project.root + "/.env.demo"))

            // The container really got the secret (so a clean output means redaction, not a missing value).
            let seen = try await E2E.runner.run(
                Command(
                    "docker",
                    [
                        "compose", "-p", project.name, "-f", project.root + "/compose/stack.yml", "--env-file", project.root + "/.env.demo",
                        "run", "--rm", "--no-deps", "-T", "api", "sh", "-c", "printf %s \"$API_TOKEN\"",
                    ]))
            #expect(seen.stdout == secret, "Compose handed the container something else (seed \(seed)): \(seen.stderr)")

            let launched = try await project.launch(["demo", "--json"])
            #expect(launched.status == 0, "\(launched.stderr)")
            #expect(launched.stderr.contains("bad"))
            let logs = try await project.launch(["logs", "demo", "api"])
            #expect(logs.stdout.contains("token=***"), "\(logs.stdout)")
            let doctor = try await project.launch(["doctor", "demo", "--json", "--no-network"])
            let plan = try await project.launch(["plan", "demo", "--json"])
            var reports = ""
            for name in (try? FileManager.default.contentsOfDirectory(atPath: project.root + "/.launch/runs")) ?? [] {
                reports += try String(contentsOfFile: project.root + "/.launch/runs/" + name, encoding: .utf8)
                #expect(AtomicFile.mode(of: project.root + "/.launch/runs/" + name) == 0o600)
            }
            let forms = [secret, secret.replacingOccurrences(of: "$", with: "$$")]
            for (what, text) in [
                ("launch", launched.all), ("logs", logs.all), ("doctor", doctor.all), ("plan", plan.all), ("reports", reports),
            ] {
                for form in forms {
                    #expect(!text.contains(form), "\(what) shows the secret \(secret.debugDescription) (seed \(seed))")
                }
            }
            #expect(doctor.stdout.contains("not UTF-8: .env.demo:1"), "\(doctor.stdout)")
            _ = try await project.launch(["down", "demo"])
        }
    }

    /// The compose file changes between plan and create (rewritten while preflight asks a profile's HTTP check): the
    /// service added at that moment is not created and left behind, nor started; the run fails saying the files
    /// changed, and what it created is rolled back.
    @Test func composeFilesChangedBetweenPlanAndCreateFailTheRunAndLeaveNothing() async throws {
        try await E2E.withProject { project in
            let stack = "services:\n  db: {image: local/busybox:latest, command: [\"sleep\", \"3600\"]}\n"
            let changed = stack + "  extra: {image: local/busybox:latest, command: [\"sleep\", \"3600\"]}\n"
            let file = project.root + "/compose/stack.yml"
            let server = try TinyHTTPServer.start(acceptingToken: "t") {
                try? changed.write(toFile: file, atomically: true, encoding: .utf8)
            }
            defer { server.stop() }
            try project.writeProfile(
                extra:
                    "health: {stability: 1s}\npreflight:\n  - name: Touch\n    http: {url: \"http://127.0.0.1:\(server.port)/\", expect: [401]}",
                stack: stack)
            // Complete and private: the plan is not read again after preflight.
            try project.write(".env.demo", "MODE=test\n")
            chmod(project.root + "/.env.demo", 0o600)
            let launched = try await project.launch(["demo"])
            #expect(launched.status == 1, "\(launched.all)")
            #expect(launched.stderr.contains("the compose files changed between plan and create"), "\(launched.all)")
            #expect(launched.stderr.contains("extra: created, but not in the plan"), "\(launched.all)")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left: \(left.stdout)")
        }
    }

    /// `.launch` is a file: a relaunch that would recreate running services (with no way to record a last good state
    /// to put them back) is refused before anything changes, naming what stands there; `--force` goes ahead.
    @Test func aRelaunchThatCouldNotBeUndoneAsksForForce() async throws {
        try await E2E.withProject { project in
            func stack(_ seconds: Int) -> String {
                "services:\n  db: {image: local/busybox:latest, command: [\"sleep\", \"\(seconds)\"]}\n"
            }
            try project.writeProfile(extra: "health: {stability: 1s}", stack: stack(3600))
            let first = try await project.launch(["demo"])
            try #require(first.status == 0, "\(first.all)")
            let id = try await E2E.docker(["inspect", "--format", "{{.Id}}", "\(project.name)-db-1"]).stdout
            try project.write("compose/stack.yml", stack(3601))
            try FileManager.default.removeItem(atPath: project.root + "/.launch")
            try project.write(".launch", "")
            let refused = try await project.launch(["demo"])
            #expect(refused.status == 2, "\(refused.all)")
            #expect(refused.stderr.contains("is a file, not a directory") && refused.stderr.contains("--force"), "\(refused.all)")
            #expect(try await E2E.docker(["inspect", "--format", "{{.Id}}", "\(project.name)-db-1"]).stdout == id, "nothing was changed")
            let forced = try await project.launch(["demo", "--force"])
            #expect(forced.status == 0, "\(forced.all)")
            #expect(forced.all.contains("report was not saved"), "\(forced.all)")
            try FileManager.default.removeItem(atPath: project.root + "/.launch")
            _ = try await project.launch(["down", "demo"])
        }
    }

    /// The forms the fault pass found in clear: `abc$def$$ghi` (which the container sees as `abc$ghi`), a multi-line
    /// PEM key in double quotes (which launch used to refuse) and a value that is not UTF-8. A service prints all
    /// three and fails; none of them appears in the output, `--json`, the diagnosis, `launch logs`, `launch config`
    /// or the run report.
    @Test func secretsWithDollarsLinesAndBadBytesAppearNowhere() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "secrets: {DB_PASSWORD: {length: 24}, TLS_KEY: {length: 24}, BIN_SECRET: {length: 24}}\nhealth: {stability: 1s}",
                stack: """
                    services:
                      app:
                        image: local/busybox:latest
                        command: ["sh", "-c", "echo pw=$$DB_PASSWORD; echo \\"$$TLS_KEY\\"; echo bin=$$BIN_SECRET; exit 1"]
                        environment: {DB_PASSWORD: "${DB_PASSWORD}", TLS_KEY: "${TLS_KEY}", BIN_SECRET: "${BIN_SECRET}"}
                    """)
            let pem =
                "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nQ2hlY2tzdW1zZWNyZXRsaW5lMg==\n-----END PRIVATE KEY-----"
            let env = Array("DB_PASSWORD=abc$def$$ghi\nTLS_KEY=\"\(pem)\"\nBIN_SECRET=ab".utf8) + [0xFF, 0xFE] + Array("cdefgh\n".utf8)
            try Data(env).write(to: URL(fileURLWithPath: project.root + "/.env.demo"))
            let launched = try await project.launch(["demo", "--json"])
            #expect(launched.status == 1, "\(launched.all)")
            #expect(launched.stderr.contains("pw=***"), "\(launched.stderr)")
            let logs = try await project.launch(["logs", "demo"])
            let config = try await project.launch(["config", "demo"])
            #expect(config.status == 0, "\(config.all)")
            var reports = ""
            for name in (try? FileManager.default.contentsOfDirectory(atPath: project.root + "/.launch/runs")) ?? [] {
                reports += String(
                    decoding: try Data(contentsOf: URL(fileURLWithPath: project.root + "/.launch/runs/" + name)), as: UTF8.self)
            }
            let clear = [
                "abc$ghi", "abc$$ghi", "def$$ghi", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "Q2hlY2tzdW1zZWNyZXRsaW5lMg",
                "cdefgh",
            ]
            for (what, text) in [("launch", launched.all), ("logs", logs.all), ("config", config.all), ("reports", reports)] {
                for form in clear { #expect(!text.contains(form), "\(what) shows \(form): \(text)") }
            }
            _ = try await project.launch(["down", "demo"])
        }
    }
}

/// The unit tests' generator, for the engine round trip: printable bytes, escapes, quotes and UTF-8.
struct SeededRandomE2E: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static let alphabet: [String] = (0x21...0x7E).map { String(UnicodeScalar(UInt8($0))) } + ["\\", "$$", "\"", "'", "é", "漢", "🙂", " "]

    static func secret(_ random: inout SeededRandomE2E) -> String {
        var text = "k"
        while text.unicodeScalars.count < 20 { text += alphabet.randomElement(using: &random) ?? "x" }
        return text + "z"
    }
}
