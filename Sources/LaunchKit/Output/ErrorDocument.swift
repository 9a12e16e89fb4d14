import Foundation

/// The one JSON document `--json` prints on stdout when a command fails before (or instead of) its own result:
/// `{"error": {"code", "exit", "message", "hint", "evidence", "problems": [...]}}`. Schema: docs/error-json.md.
public struct ErrorDocument: Encodable, Sendable {
    public struct Body: Encodable, Sendable {
        /// Stable, machine-readable: `usage`, `invalid_configuration`, `preflight_failed`, `busy`, `circuit_open`,
        /// `launch_failed`, `interrupted`.
        public var code: String
        public var exit: Int32
        public var message: String
        public var hint: String?
        public var evidence: [String]
        public var problems: [Problem]
    }

    public struct Problem: Encodable, Sendable {
        public var file: String
        public var line: Int?
        public var column: Int?
        public var message: String
        public var hint: String?
    }

    public var error: Body

    public init(_ failure: any LaunchFailure, redact: Redactor = .none) {
        let problems =
            (failure as? ConfigurationError)?.problems.map { problem in
                Problem(
                    file: problem.location.file, line: problem.location.line > 0 ? problem.location.line : nil,
                    column: problem.location.line > 0 ? problem.location.column : nil, message: redact(problem.message),
                    hint: problem.hint.map { redact($0) })
            } ?? []
        error = Body(
            code: Self.code(failure.exitCode), exit: failure.exitCode.rawValue, message: redact(failure.summary),
            hint: failure.hint.map { redact($0) }, evidence: failure.evidence.map { redact($0) }, problems: problems)
    }

    /// A usage error found by the argument parser (exit 64), in the same shape.
    public init(usage message: String, hint: String?) {
        error = Body(code: "usage", exit: ExitStatus.usage.rawValue, message: message, hint: hint, evidence: [], problems: [])
    }

    static func code(_ status: ExitStatus) -> String {
        switch status {
        case .usage: "usage"
        case .invalidConfiguration: "invalid_configuration"
        case .preflightFailed: "preflight_failed"
        case .busy: "busy"
        case .circuitOpen: "circuit_open"
        case .launchFailed: "launch_failed"
        case .interrupted: "interrupted"
        case .engineLost: "engine_lost"
        case .watchGaveUp: "watch_gave_up"
        default: "error"
        }
    }
}
