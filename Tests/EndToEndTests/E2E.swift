import Foundation
import LaunchKit
import Synchronization
import Testing

extension Tag {
    /// Needs a real Docker engine. `LAUNCH_E2E=require` (CI) turns a missing engine into failures.
    @Tag static var docker: Self
}

/// Shared plumbing for end-to-end tests: the real `launch` binary, a real engine, throwaway projects.
enum E2E {
    static let runner = SubprocessRunner()

    /// Whether the suite runs: an engine answers, or CI requires it (and then a missing engine fails loudly).
    static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["LAUNCH_E2E"] == "require" { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["docker", "info", "--format", "{{.ServerVersion}}"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// CI's `LAUNCH_E2E=require`: what a test needs and lacks is a failure, not a reason to skip.
    static let required = ProcessInfo.processInfo.environment["LAUNCH_E2E"] == "require"

    /// `name` as found on PATH, like `command -v`; nil when it is not there.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The `launch` executable next to this test bundle (same build folder and configuration).
    static let launchBinary: String = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("launch").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return packageRoot + "/.build/debug/launch"
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs `launch` with `arguments` in `directory`; `environment` adds to this process's environment.
    static func launch(_ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws -> Result {
        var env = environment
        env["CI"] = "true"
        env["NO_COLOR"] = "1"
        let output = try await runner.run(Command(launchBinary, arguments, environment: env, workingDirectory: directory))
        return Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    /// `host`: another engine than the one DOCKER_HOST names (nil: the suite's engine).
    static func docker(_ arguments: [String], host: String? = nil) async throws -> ProcessOutput {
        try await runner.run(Command("docker", arguments, environment: host.map { ["DOCKER_HOST": $0, "DOCKER_CONTEXT": ""] } ?? [:]))
    }

    /// Polls `condition` until it holds or `limit` has passed (a wall-clock bound, not a count of tries: each try is
    /// a process or an API call, and those slow down with the host). Whether it held.
    static func eventually(within limit: Duration = .seconds(90), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Whether `container` runs now (false while it does not exist yet).
    static func isRunning(_ container: String) async -> Bool {
        (try? await docker(["inspect", "--format", "{{.State.Running}}", container]))?.stdout.hasPrefix("true") == true
    }

    /// The engine's health verdict on `container`, read once the engine has run a check of its own: launch may see
    /// a check pass by its own probe before the engine's next scheduled one (README: `docker ps` can still say
    /// "health: starting" for an interval), so "starting" is waited out, for 5 s at most.
    static func engineHealth(_ container: String) async throws -> String {
        var status = ""
        for _ in 0..<50 {
            status = try await docker(["inspect", "--format", "{{.State.Health.Status}}", container]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard status == "starting" else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return status
    }

    /// The engine the suite runs against, as `-H` takes it.
    static var suiteHost: String {
        let host = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? ""
        return host.isEmpty ? "unix:///var/run/docker.sock" : host
    }

    /// The second engine CI runs beside the suite's own (`LAUNCH_E2E_OTHER_HOST`), for tests that must prove
    /// which engine launch used. Nil outside CI when it is not set.
    static let otherHost: String? = ProcessInfo.processInfo.environment["LAUNCH_E2E_OTHER_HOST"].flatMap { $0.isEmpty ? nil : $0 }

    /// A `PATH` whose first entry holds an `nvidia-smi` that answers from a fixture folder.
    static func fakeNvidiaSMI(_ fixture: String) throws -> (path: String, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-smi-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fixtures = packageRoot + "/Tests/LaunchKitTests/Fixtures/nvidia-smi/" + fixture
        let script = """
            #!/bin/sh
            F='\(fixtures)'
            if [ -f "$F/exit-code" ]; then cat "$F/stdout.txt"; exit "$(cat "$F/exit-code")"; fi
            case "$1" in
              --query-gpu=*) cat "$F/query-gpu.csv" ;;
              --query-compute-apps=*) cat "$F/query-compute-apps.csv" 2>/dev/null ;;
              --list-gpus|-L) cat "$F/list-gpus.txt" ;;
              topo) if [ "$2" = "-p2p" ]; then cat "$F/topo-p2p-n.txt" 2>/dev/null; else cat "$F/topo-m.txt" 2>/dev/null; fi ;;
              *) exit 0 ;;
            esac
            """
        try script.write(toFile: directory + "/nvidia-smi", atomically: true, encoding: .utf8)
        chmod(directory + "/nvidia-smi", 0o755)
        let path = directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return (path, directory)
    }

    /// How many end-to-end projects run at once (`LAUNCH_E2E_WIDTH`, default 4). Swift Testing would otherwise start
    /// every test together: on a 2-core CI machine that is a load of 10 and healthchecks timing out, so the engine
    /// fails services for the host's sake, not theirs. The limit keeps the suite about what launch decides.
    static let slots = TestSlots(width: ProcessInfo.processInfo.environment["LAUNCH_E2E_WIDTH"].flatMap { Int($0) }.map { max($0, 1) } ?? 4)

    /// A temporary project whose compose project name is unique to this test; always torn down. Runs in one of
    /// `slots` (a project made inside another one's body shares its slot).
    static func withProject<T>(
        _ body: (TestProject) async throws -> T
    ) async throws -> T {
        try await slots.hold { try await withOwnProject(body) }
    }

    private static func withOwnProject<T>(
        _ body: (TestProject) async throws -> T
    ) async throws -> T {
        let project = try TestProject()
        do {
            let result = try await body(project)
            await project.destroy()
            return result
        } catch {
            await project.destroy()
            throw error
        }
    }
}

/// A project directory with environments/ and compose/ and a unique compose project name.
struct TestProject: Sendable {
    let root: String
    /// `launch-e2e-xxxxxx`: CI's cleanup removes anything left with this prefix.
    let name: String

    init() throws {
        let suffix = UUID().uuidString.lowercased().prefix(8)
        name = "launch-e2e-\(suffix)"
        root = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: root + "/environments", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/compose", withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    /// Writes `environments/<profile>.yml` for a single compose file `compose/stack.yml`.
    func writeProfile(_ profile: String = "demo", extra: String = "", stack: String) throws {
        try write("compose/stack.yml", stack)
        try write(
            "environments/\(profile).yml",
            """
            name: \(profile)
            summary: end-to-end test stack
            compose: {project: \(name), files: [stack.yml]}
            env_file: .env.\(profile)
            \(extra)
            """)
    }

    /// Starts `launch` in the background (for Ctrl-C and SIGKILL tests); stderr is captured when `stderr` is given.
    func spawn(_ arguments: [String], stderr: Pipe? = nil, stdout: FileHandle? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.launchBinary)
        process.arguments = arguments + ["--project-dir", root]
        var environment = ProcessInfo.processInfo.environment
        environment["CI"] = "true"
        process.environment = environment
        process.standardError = stderr ?? FileHandle.nullDevice
        process.standardOutput = stdout ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    func launch(_ arguments: [String], environment: [String: String] = [:]) async throws -> E2E.Result {
        try await E2E.launch(arguments + ["--project-dir", root], in: root, environment: environment)
    }

    /// Removes every container, network and volume of this compose project (on the suite's engine and on the
    /// other one, when CI runs one), and the directory.
    func destroy() async {
        await destroyResources(host: nil)
        if let other = E2E.otherHost { await destroyResources(host: other) }
        await destroyImages()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Images a test made: tagged `<name>-…`, or labelled `launch.e2e=<name>` (an untagged commit). Removed after the
    /// containers that use them, so none is left behind, dangling or not.
    private func destroyImages() async {
        let tagged = (try? await E2E.docker(["images", "-q", "--filter", "reference=\(name)-*"]))?.stdout ?? ""
        let labelled = (try? await E2E.docker(["images", "-aq", "--filter", "label=launch.e2e=\(name)"]))?.stdout ?? ""
        let ids = Set((tagged + "\n" + labelled).split(whereSeparator: \.isNewline).map(String.init))
        guard !ids.isEmpty else { return }
        _ = try? await E2E.docker(["rmi", "-f"] + ids.sorted())
    }

    /// Removes what a test launched under another compose project name (`-p`) than its own.
    func destroy(project other: String) async {
        await destroyResources(host: nil, project: other)
    }

    private func destroyResources(host: String?, project: String? = nil) async {
        for kind in [["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]] {
            let ids =
                (try? await E2E.docker(kind + ["--filter", "label=com.docker.compose.project=\(project ?? name)"], host: host))?.stdout
                .split(whereSeparator: \.isNewline).map(String.init) ?? []
            guard !ids.isEmpty else { continue }
            let remove: [String] =
                switch kind[0] {
                case "ps": ["rm", "-f", "-v"]
                case "network": ["network", "rm"]
                default: ["volume", "rm", "-f"]
                }
            _ = try? await E2E.docker(remove + ids, host: host)
        }
    }
}

/// Busybox services for test stacks (no registry is reachable: everything uses the local image).
enum Busybox {
    static let image = "local/busybox:latest"
}

/// A counting semaphore for tests; re-entrant per task tree, so a nested holder never waits on itself.
final class TestSlots: Sendable {
    @TaskLocal static var held = false
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(width: Int) { state = Mutex((width, [])) }

    func hold<T>(_ body: () async throws -> T) async throws -> T {
        if Self.held { return try await body() }
        await acquire()
        defer { release() }
        return try await Self.$held.withValue(true) { try await body() }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

extension E2E {
    /// A time the engine keeps for `container` (`StartedAt`, `FinishedAt`), on the engine's own clock.
    static func engineTime(_ container: String, _ field: String) async throws -> Date? {
        let text = try await docker(["inspect", "--format", "{{.State.\(field)}}", container]).stdout
        return EngineTime.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// When the engine took in the first line of `container`'s log that contains `text` (its own timestamp).
    static func loggedTime(_ container: String, line text: String) async throws -> Date? {
        let log = try await docker(["logs", "--timestamps", container]).stdout
        let stamp = log.split(whereSeparator: \.isNewline).first { $0.contains(text) }.flatMap { $0.split(separator: " ").first }
        return stamp.flatMap { EngineTime.parse(String($0)) }
    }

    /// A `launch … --json` run: its exit status, its parsed report and what it printed on stderr.
    struct Report {
        var status: Int32
        var json: [String: Any]
        var stderr: String

        func service(_ name: String) -> [String: Any]? {
            (json["services"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        }

        /// What made `name` ready (`probe`, `log`, `http`, `already running`, …); nil when it did not end ready.
        func readiness(_ name: String) -> String? { service(name)?["readiness"] as? String }

        /// Why `name` failed, as the report keys it (`unhealthy`, `deadline`, …); nil when it did not fail.
        func failure(_ name: String) -> String? { (service(name)?["failure"] as? [String: Any])?["failure"] as? String }
    }
}

extension TestProject {
    /// Runs `launch` with `arguments` (a launch of `demo` with its JSON report, by default) and parses the report.
    func report(_ arguments: [String] = ["demo", "--json", "--no-network"], environment: [String: String] = [:]) async throws -> E2E.Report
    {
        let result = try await launch(arguments, environment: environment)
        let json = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
        return E2E.Report(status: result.status, json: json, stderr: result.stderr)
    }
}
