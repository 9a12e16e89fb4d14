import Foundation
import Testing

@testable import LaunchKit

/// Reads a file from Tests/LaunchKitTests/Fixtures.
enum Fixture {
    static func path(_ relative: String) -> String {
        guard let base = Bundle.module.resourceURL?.appendingPathComponent("Fixtures") else { return relative }
        return base.appendingPathComponent(relative).path
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }
}

/// A process runner for unit tests of decisions and argument arrays: answers only what it was told to,
/// records every call, and fails the test on anything unexpected.
final class RecordingRunner: ProcessRunning, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [(prefix: [String], result: Result<ProcessOutput, ProcessError>)] = []
    private var recorded: [Command] = []

    var calls: [Command] { lock.withLock { recorded } }

    /// Answers commands whose argv starts with `prefix`.
    func on(_ prefix: [String], _ output: ProcessOutput) {
        lock.withLock { answers.append((prefix, .success(output))) }
    }

    func onMissing(_ executable: String) {
        lock.withLock { answers.append(([executable], .failure(.executableNotFound(executable)))) }
    }

    func run(_ command: Command) async throws -> ProcessOutput {
        let answer = lock.withLock { () -> Result<ProcessOutput, ProcessError>? in
            recorded.append(command)
            return answers.first { command.argv.starts(with: $0.prefix) }?.result
        }
        guard let answer else {
            Issue.record("unexpected command: \(command)")
            return ProcessOutput(status: 127, stderr: "unexpected")
        }
        return try answer.get()
    }

    func stream(_ command: Command, onLine: @escaping @Sendable (LaunchKit.OutputStream, String) -> Void) async throws -> Int32 {
        let output = try await run(command)
        output.stdout.split(separator: "\n").forEach { onLine(.stdout, String($0)) }
        return output.status
    }
}

/// Output captured from a `Console`.
final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    var stdout: String { lock.withLock { outText } }
    var stderr: String { lock.withLock { errText } }

    func console(interactive: Bool = false) -> Console {
        Console(
            isInteractive: interactive, useColor: false,
            out: { text in self.lock.withLock { self.outText += text } },
            err: { text in self.lock.withLock { self.errText += text } })
    }
}

/// A throwaway project directory with environments/ and compose/, removed when the value is dropped.
final class TemporaryProject: @unchecked Sendable {
    let root: String
    var layout: ProjectLayout { ProjectLayout(root: root) }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("launch-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/environments", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/compose", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    /// A two-service stack most tests start from.
    func writeDemo(profile: String? = nil) throws {
        try write(
            "compose/app.yml",
            """
            services:
              db:
                image: local/busybox:latest
                healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 1s, retries: 3}
              web:
                image: local/busybox:latest
                depends_on: {db: {condition: service_healthy}}
            """)
        try write("compose/gpu-single.yml", "services:\n  web:\n    environment: {GPUS: '1'}\n")
        try write("compose/gpu-dual.yml", "services:\n  web:\n    environment: {GPUS: '2'}\n")
        try write(
            "environments/demo.yml",
            profile ?? """
                name: demo
                summary: Demo
                compose: {project: demo, files: [app.yml]}
                services: {core: [db], optional: [web]}
                """)
    }

    func catalog() -> ProfileCatalog { ProfileCatalog.load(layout) }
}
