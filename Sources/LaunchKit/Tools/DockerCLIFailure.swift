import Synchronization

/// A `docker` child whose output launch passes on as data (`docker logs`, `docker service logs`) that failed for a
/// reason of its own: the engine refused the CLI (too old for it: "client version 1.41 is too old"), or the CLI could
/// not reach the engine. Said as an error with a non-zero exit, never left as one more line of output.
public struct DockerCLIFailure: LaunchFailure, Equatable {
    /// `docker logs`, `docker service logs`.
    public var command: String
    public var status: Int32
    /// The last lines the CLI wrote to stderr.
    public var lines: [String]

    /// The engine refused the CLI's API version.
    public var tooOld: Bool { lines.contains { $0.contains("client version") && $0.contains("too old") } }

    public var summary: String {
        tooOld
            ? "`\(command)` was refused: this Docker CLI is too old for the engine"
            : "`\(command)` failed (exit \(status))"
    }
    public var evidence: [String] { lines }
    public var hint: String? {
        tooOld
            ? "install a Docker CLI that speaks the engine's API (Docker 25.0 or newer speaks 1.44) and put it first on PATH; `launch doctor` checks it"
            : "run it yourself to see more; `launch doctor` checks the CLI and the engine"
    }
    public var exitCode: ExitStatus { tooOld ? .preflightFailed : .launchFailed }

    /// A failure when the child exited non-zero (and was not stopped by launch itself).
    public init?(command: String, status: Int32, stderr: [String], cancelled: Bool) {
        guard status != 0, !cancelled else { return nil }
        self.command = command
        self.status = status
        lines = Array(stderr.suffix(3))
    }

    /// The last few stderr lines of a streamed child, kept while its output is passed on.
    public final class Tail: Sendable {
        private let lines = Mutex<[String]>([])
        public init() {}
        public func record(_ stream: OutputStream, _ line: String) {
            guard stream == .stderr else { return }
            lines.withLock { lines in
                lines.append(line)
                if lines.count > 3 { lines.removeFirst() }
            }
        }
        public var all: [String] { lines.withLock { $0 } }
    }
}
