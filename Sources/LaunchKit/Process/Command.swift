/// One external program invocation as a value: an executable and an argument array, never a shell string.
///
/// Builders (`Docker`, `Compose`, `NvidiaSMI`) produce these; `ProcessRunning` is the only thing that runs them,
/// so tests can assert on `arguments` without spawning anything.
public struct Command: Sendable, Hashable, CustomStringConvertible {
    /// A bare name is looked up on `PATH`; a path containing `/` is used as is.
    public var executable: String
    public var arguments: [String]
    /// Variables added to (or replacing those of) the inherited environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// A question to a daemon that may hang (a `docker image inspect` against an engine that accepts and never
    /// answers) gets a deadline: past it the child is stopped and the result is exit 124 with a message.
    public var timeout: Duration?
    /// Bytes written to the child's standard input (then closed); nil: no input.
    public var input: [UInt8]?

    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
        workingDirectory: String? = nil, timeout: Duration? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
    }

    /// The same command with a deadline.
    public func limited(to timeout: Duration) -> Command {
        var copy = self
        copy.timeout = timeout
        return copy
    }

    /// Everything after the executable name, for display and for tests.
    public var argv: [String] { [executable] + arguments }

    /// A copy-pasteable rendering for humans (plans, hints). Never executed.
    public var description: String { argv.map(Command.shellQuoted).joined(separator: " ") }

    static func shellQuoted(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// What a finished process left behind. A non-zero exit is a normal result, not an error.
public struct ProcessOutput: Sendable, Hashable {
    /// Exit code, or 128 + signal number when the process was killed by a signal (as shells report it).
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { status == 0 }
}

/// Which stream a line of streamed output came from.
public enum OutputStream: Sendable, Hashable { case stdout, stderr }

public enum ProcessError: Error, Sendable, Equatable {
    case executableNotFound(String)
    case launchFailed(String, reason: String)
}

extension ProcessError: LaunchFailure {
    public var summary: String {
        switch self {
        case .executableNotFound(let name): "`\(name)` was not found on PATH"
        case .launchFailed(let name, let reason): "could not start `\(name)`: \(reason)"
        }
    }
    public var hint: String? {
        switch self {
        case .executableNotFound(let name) where name == "docker":
            "install the Docker CLI (https://docs.docker.com/engine/install/) and make sure `docker` is on PATH"
        case .executableNotFound(let name):
            "install `\(name)` or put it on PATH"
        case .launchFailed: "check the file's permissions and that it is a program for this machine"
        }
    }
    public var exitCode: ExitStatus { .preflightFailed }
}

/// The single process boundary. Everything that needs an external program asks an instance of this.
public protocol ProcessRunning: Sendable {
    /// Runs to completion and collects both streams. Throws only when the program cannot be started.
    func run(_ command: Command) async throws -> ProcessOutput
    /// Runs to completion, handing each line to `onLine` as it arrives; returns the exit status.
    /// Cancelling the calling task terminates the process (SIGTERM, then SIGKILL).
    func stream(
        _ command: Command, onLine: @escaping @Sendable (OutputStream, String) -> Void
    ) async throws -> Int32
    /// Runs with this process's standard input, output and error handed to the child (a terminal stays a
    /// terminal, so `docker compose exec` can allocate a TTY); returns the exit status.
    func interactive(_ command: Command) async throws -> Int32
}

extension ProcessRunning {
    /// Runners that cannot hand over the terminal (test fakes) run the command to completion instead.
    public func interactive(_ command: Command) async throws -> Int32 { try await run(command).status }
}
