/// What the engine's answer to a start (or restart) request says about the service, decided once for every command
/// that starts containers.
///
/// The engine answers 500 both for what a person must fix (a port already allocated, a missing bind source, an
/// executable not found, a GPU driver it cannot find) and for its own trouble (containerd not answering, a deadline
/// inside the daemon): the status alone cannot tell them apart, so known configuration messages are refusals and
/// any other 5xx is an engine fault, retried like a request that got no answer.
enum StartRefusal: Sendable, Equatable {
    /// The engine said no, and will again: a verdict on the service's configuration.
    case rejected(String)
    /// The engine failed on its own side (a 5xx that names no configuration problem): retried.
    case engineFault(String)
    /// No answer at all (refused, reset, nothing in time): the request may still land; retried.
    case noAnswer(String)

    init(_ error: EngineError) {
        switch error {
        case .http(let status, let message) where status >= 500 && !Self.isConfiguration(message):
            self = .engineFault("engine error \(status): \(message)")
        case .http(_, let message): self = .rejected(message)
        case _ where error.isNoAnswer: self = .noAnswer(error.summary)
        default: self = .rejected(error.summary)
        }
    }

    /// Phrases of the engine's (and its runtime's) refusals that a change to the stack fixes.
    static let configurationPhrases = [
        "port is already allocated", "address already in use", "failed programming external connectivity", "bind for",
        "oci runtime", "executable file not found", "no such file or directory", "not a directory", "permission denied",
        "could not select device driver", "unknown or invalid runtime", "invalid mount", "mount", "error gathering device",
        "invalid argument", "minimum memory limit", "cpuset", "network", "no such image", "cannot link", "conflict",
        "is not a valid", "exec format error", "device", "cdi",
    ]

    static func isConfiguration(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return configurationPhrases.contains { lowered.contains($0) }
    }
}
