import Foundation
import Synchronization

/// `--verbose` (or `LAUNCH_DEBUG=1`): every Engine API request and every child command on stderr as it ends — what,
/// how long, and how it ended — for a bug report that shows what launch asked of the engine. Off by default and then
/// free. Values of arguments whose names look secret (`DB_PASSWORD=…`) are shown as `***`; request bodies and child
/// environments are never shown.
public enum DebugTrace {
    private static let enabled = Atomic<Bool>(false)

    public static func enable() { enabled.store(true, ordering: .relaxed) }
    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Writes `line` (built only when tracing is on) as one `debug:` line.
    public static func note(_ line: @autoclosure () -> String) {
        guard isEnabled else { return }
        try? FileHandle.standardError.write(contentsOf: Data(("debug: " + Text.printable(line(), limit: 2000) + "\n").utf8))
    }

    /// `KEY=value` with a secret-looking KEY as `KEY=***`; anything else as it is.
    static func redacted(_ argument: String) -> String {
        guard let equals = argument.firstIndex(of: "=") else { return argument }
        let key = argument[..<equals].uppercased()
        return Redactor.markers.contains(where: key.contains) ? argument[...equals] + "***" : argument
    }

    /// A child command as a shell would read it, secret-looking values hidden.
    static func describe(_ command: Command) -> String {
        ([command.executable] + command.arguments).map { Command.shellQuoted(redacted($0)) }.joined(separator: " ")
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        "\(Int((start.duration(to: .now).seconds * 1000).rounded())) ms"
    }
}
