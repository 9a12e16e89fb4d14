import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where output goes. Stdout carries data (plans, JSON); stderr carries talk (progress, warnings, prompts).
public struct Console: Sendable {
    public enum Style: Sendable { case plain, bold, dim, red, green, yellow }

    let writeOut: @Sendable (String) -> Void
    let writeErr: @Sendable (String) -> Void
    /// A person is watching stderr on a terminal (live lines, prompts allowed); false in CI and pipes.
    public let isInteractive: Bool
    public let useColor: Bool
    /// How the user called launch for this project and engine (`launch --project-dir examples/quickstart`): every
    /// printed next step starts with it, so it runs from where it was printed.
    public var invocation = "launch"

    public init(
        isInteractive: Bool, useColor: Bool, out: @escaping @Sendable (String) -> Void,
        err: @escaping @Sendable (String) -> Void
    ) {
        self.isInteractive = isInteractive
        self.useColor = useColor
        writeOut = out
        writeErr = err
    }

    /// The real terminal: interactive when stderr is a TTY and `CI` is not set; colour unless `NO_COLOR`.
    public static func standard(environment: [String: String]) -> Console {
        let tty = isatty(STDERR_FILENO) == 1
        let ci = environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
        let color = tty && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        return Console(
            isInteractive: tty && !ci, useColor: color,
            // A reader that went away (`launch dev | head`) must not kill a launch halfway: SIGPIPE is ignored
            // (see `ignoreBrokenPipes`) and a failed write is dropped.
            out: { text in try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) },
            err: { text in try? FileHandle.standardError.write(contentsOf: Data(text.utf8)) })
    }

    /// Turns SIGPIPE into EPIPE for the whole process, so a closed pipe cannot interrupt a launch or its rollback.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// One line of data on stdout.
    public func data(_ line: String) { writeOut(line + "\n") }

    /// One line of talk on stderr.
    public func say(_ line: String = "") { writeErr(line + "\n") }

    /// Raw text to stderr (live-line redraws).
    public func raw(_ text: String) { writeErr(text) }

    public func styled(_ text: String, _ style: Style) -> String {
        guard useColor else { return text }
        let code =
            switch style {
            case .plain: "0"
            case .bold: "1"
            case .dim: "2"
            case .red: "31"
            case .green: "32"
            case .yellow: "33"
            }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// Prints a failure the one way every failure is printed: what, evidence, next step.
    public func report(_ failure: any LaunchFailure, redact: Redactor = .none) {
        say(styled("error:", .red) + " " + redact(failure.summary))
        for line in failure.evidence { say("  " + redact(line)) }
        if let hint = failure.hint { say(styled("hint:", .yellow) + " " + runnable(redact(hint))) }
    }

    /// `text` with each launch command quoted in it (`` `launch status demo` ``) as the user must type it from here:
    /// with the `--project-dir`, engine and project name they gave. A command that names its own options
    /// (`` `launch --project-dir examples/quickstart demo` ``) is left as written.
    public func runnable(_ text: String) -> String {
        guard invocation != "launch" else { return text }
        let parts = text.components(separatedBy: "`launch ")
        return parts.dropFirst().reduce(parts[0]) { done, part in
            done + (part.hasPrefix("-") ? "`launch " : "`\(invocation) ") + part
        }
    }

    /// `launch <words>` as the user must type it from here.
    public func command(_ words: String) -> String { invocation + " " + words }
}
