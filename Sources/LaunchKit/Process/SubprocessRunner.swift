import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs commands with swift-subprocess: structured concurrency, cancellation with escalating teardown,
/// and no shell in between.
public struct SubprocessRunner: ProcessRunning {
    /// Output beyond this is an error in the program we called, not something to buffer forever.
    let outputLimit: Int

    public init(outputLimit: Int = 64 * 1024 * 1024) {
        self.outputLimit = outputLimit
    }

    public func run(_ command: Command) async throws -> ProcessOutput {
        try await traced(command) {
            try await runBounded(command)
        } status: {
            $0.status
        }
    }

    public func stream(
        _ command: Command, onLine: @escaping @Sendable (OutputStream, String) -> Void
    ) async throws -> Int32 {
        try await traced(command) {
            try await streamLines(command, onLine: onLine)
        } status: {
            $0
        }
    }

    public func interactive(_ command: Command) async throws -> Int32 {
        try await traced(command) {
            try await runAttached(command)
        } status: {
            $0
        }
    }

    /// `--verbose`: each child as it ends, with its exit status and duration.
    private func traced<T>(_ command: Command, _ body: () async throws -> T, status: (T) -> Int32) async throws -> T {
        guard DebugTrace.isEnabled else { return try await body() }
        let started = ContinuousClock.now
        do {
            let result = try await body()
            DebugTrace.note("run \(DebugTrace.describe(command)) → exit \(status(result)) in \(DebugTrace.milliseconds(since: started))")
            return result
        } catch {
            DebugTrace.note("run \(DebugTrace.describe(command)) → \(error) after \(DebugTrace.milliseconds(since: started))")
            throw error
        }
    }

    private func runBounded(_ command: Command) async throws -> ProcessOutput {
        guard let timeout = command.timeout else { return try await runToEnd(command) }
        // Whichever ends first: the child, or its deadline (which cancels it: SIGTERM, then SIGKILL).
        return try await withThrowingTaskGroup(of: ProcessOutput?.self) { group in
            group.addTask { try await runToEnd(command) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let output = next { return output }
                if !Task.isCancelled {
                    // The words that say what it was: `docker compose … config --hash *`, not its file flags.
                    let shown =
                        command.arguments.count > 5
                        ? command.arguments.prefix(1) + ["…"] + command.arguments.suffix(3) : command.arguments[...]
                    return ProcessOutput(
                        status: 124,
                        stderr:
                            "`\(([command.executable] + shown).joined(separator: " "))` did not finish within \(DurationText.format(timeout))"
                    )
                }
            }
            throw CancellationError()
        }
    }

    private func runToEnd(_ command: Command) async throws -> ProcessOutput {
        if let bytes = command.input { return try await runToEnd(command, input: .array(bytes)) }
        return try await runToEnd(command, input: .none)
    }

    private func runToEnd(_ command: Command, input: some InputProtocol) async throws -> ProcessOutput {
        let configuration = configuration(for: command)
        let group = ChildGroup()
        defer { group.finished(cancelled: Task.isCancelled) }
        do {
            let result = try await Subprocess.run(
                configuration,
                input: input,
                output: .string(limit: outputLimit),
                error: .string(limit: outputLimit)
            ) { execution in
                group.started(execution.processIdentifier.value)
            }
            return ProcessOutput(
                status: Self.status(result.terminationStatus),
                stdout: result.standardOutput,
                stderr: result.standardError
            )
        } catch let error as SubprocessError {
            throw Self.translate(error, command)
        }
    }

    private func streamLines(
        _ command: Command, onLine: @escaping @Sendable (OutputStream, String) -> Void
    ) async throws -> Int32 {
        let configuration = configuration(for: command)
        let group = ChildGroup()
        defer { group.finished(cancelled: Task.isCancelled) }
        do {
            let result = try await Subprocess.run(
                configuration, input: .none, output: .sequence, error: .sequence
            ) { execution in
                group.started(execution.processIdentifier.value)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await line in execution.standardOutput.strings(bufferingPolicy: .unbounded) {
                            onLine(.stdout, Self.trimmed(line))
                        }
                    }
                    group.addTask {
                        for try await line in execution.standardError.strings(bufferingPolicy: .unbounded) {
                            onLine(.stderr, Self.trimmed(line))
                        }
                    }
                    try await group.waitForAll()
                }
            }
            return Self.status(result.terminationStatus)
        } catch let error as SubprocessError {
            throw Self.translate(error, command)
        }
    }

    private func runAttached(_ command: Command) async throws -> Int32 {
        do {
            // In launch's own process group: the terminal's Ctrl-C and job control reach the command itself.
            let result = try await Subprocess.run(
                configuration(for: command, ownGroup: false), input: .currentStandardInput, output: .currentStandardOutput,
                error: .currentStandardError)
            return Self.status(result.terminationStatus)
        } catch let error as SubprocessError {
            throw Self.translate(error, command)
        }
    }

    private func configuration(for command: Command, ownGroup: Bool = true) -> Configuration {
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in command.environment {
            updates[Environment.Key(stringLiteral: key)] = value
        }
        let executable: Executable =
            command.executable.contains("/")
            ? .path(FilePath(command.executable)) : .name(command.executable)
        // On cancellation, SIGTERM first, to the child's whole group: Compose stops what it was creating (a
        // SIGKILL to the docker CLI alone would leave the Compose plugin it runs going on by itself).
        var options = PlatformOptions()
        if ownGroup {
            options.processGroupID = 0
            options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(5))]
        } else {
            options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(5))]
        }
        return Configuration(
            executable: executable,
            arguments: Arguments(command.arguments),
            environment: .inherit.updating(updates),
            workingDirectory: command.workingDirectory.map { FilePath($0) },
            platformOptions: options
        )
    }

    private static func trimmed(_ line: String) -> String {
        var line = line
        while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    private static func status(_ termination: TerminationStatus) -> Int32 {
        switch termination {
        case .exited(let code): Int32(truncatingIfNeeded: code)
        case .signaled(let signal): 128 + Int32(truncatingIfNeeded: signal)
        }
    }

    private static func translate(_ error: SubprocessError, _ command: Command) -> ProcessError {
        if error.code == .executableNotFound {
            return .executableNotFound(command.executable)
        }
        return .launchFailed(command.executable, reason: "\(error)")
    }
}
