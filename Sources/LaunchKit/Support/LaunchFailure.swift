/// The documented exit codes of `launch`. Scripts depend on these; never renumber.
public struct ExitStatus: RawRepresentable, Sendable, Hashable, Codable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Everything required is up (possibly degraded: optional services failed).
    public static let success = ExitStatus(rawValue: 0)
    /// The launch failed and what this run created was rolled back.
    public static let launchFailed = ExitStatus(rawValue: 1)
    /// A preflight check failed; nothing was started.
    public static let preflightFailed = ExitStatus(rawValue: 2)
    /// The circuit breaker refused a launch after repeated identical failures (`--force` overrides).
    public static let circuitOpen = ExitStatus(rawValue: 3)
    /// Another launch holds this project's lock.
    public static let busy = ExitStatus(rawValue: 4)
    /// `launch watch`: a core service stayed down past its restart budget (`watch.max` within `watch.window`).
    public static let watchGaveUp = ExitStatus(rawValue: 5)
    /// The engine stopped answering during a launch: not a verdict on any service. What the run created was removed
    /// only when the summary says so; otherwise it names what may still exist and `launch down` removes it.
    public static let engineLost = ExitStatus(rawValue: 6)
    /// Bad command-line usage: unknown environment, bad flag, a refusal that needs `--yes`.
    public static let usage = ExitStatus(rawValue: 64)
    /// Invalid configuration: a profile or compose file is malformed or inconsistent.
    public static let invalidConfiguration = ExitStatus(rawValue: 65)
    /// Interrupted (Ctrl-C); what this run created was rolled back.
    public static let interrupted = ExitStatus(rawValue: 130)
}

/// An error meant for a person: what happened, the evidence, and one concrete next step.
///
/// Every error that can reach the user conforms, so the executable prints them all the same way and maps
/// them to documented exit codes without matching on strings.
public protocol LaunchFailure: Error, Sendable {
    /// One line: what happened.
    var summary: String { get }
    /// Supporting lines: file and line, exit codes, probe output. Already redacted.
    var evidence: [String] { get }
    /// One concrete next step.
    var hint: String? { get }
    var exitCode: ExitStatus { get }
}

extension LaunchFailure {
    public var evidence: [String] { [] }
}

/// A location in a user's file, for messages like `environments/dev.yml:12:3`.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One problem found in user configuration. Loading collects all of them before failing.
public struct ConfigProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public var hint: String?

    public init(_ location: SourceLocation, _ message: String, hint: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "\(location): \(message)"
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

/// A profile, compose file or env file that cannot be used as written.
public struct ConfigurationError: LaunchFailure, Equatable {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) { self.problems = problems }

    public var summary: String {
        problems.count == 1 ? "invalid configuration" : "invalid configuration (\(problems.count) problems)"
    }
    public var evidence: [String] { problems.map(\.description) }
    public var hint: String? {
        problems.count == 1 && problems[0].hint != nil
            ? nil : "fix the lines above; `launch list` shows which profiles load"
    }
    public var exitCode: ExitStatus { .invalidConfiguration }
}

/// Bad command-line usage that the library detects (unknown environment, refused prompt).
public struct UsageError: LaunchFailure, Equatable {
    public var summary: String
    public var evidence: [String]
    public var hint: String?
    public init(_ summary: String, evidence: [String] = [], hint: String? = nil) {
        self.summary = summary
        self.evidence = evidence
        self.hint = hint
    }
    public var exitCode: ExitStatus { .usage }
}
