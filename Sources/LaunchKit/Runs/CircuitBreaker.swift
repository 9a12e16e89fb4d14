import Foundation

/// Refuses a launch that is very likely to fail the way it just failed several times: the same environment
/// failed with the same failure signature `threshold` times in a row within `window`, with the same
/// configuration (the fingerprint of the resolved model and the profile): change the configuration and the
/// next launch goes through. Preflight failures are about the machine, not the configuration, and count alone.
/// History is the evidence.
public struct CircuitBreaker: Sendable {
    public var threshold: Int
    public var window: TimeInterval

    public init(threshold: Int = 3, window: TimeInterval = 3600) {
        self.threshold = threshold
        self.window = window
    }

    public struct Open: LaunchFailure {
        public var environment: String
        public var runs: [RecordedRun]
        public var signature: String
        public var fingerprint: String? = nil

        public var summary: String {
            "refusing to launch \(environment): the last \(runs.count) launches within the hour failed the same way"
        }
        public var evidence: [String] {
            var lines = runs.map { run in
                let failure = run.services.first { $0.failure != nil }
                let what = failure.map { "\($0.name): \($0.failure?.reason ?? "")" } ?? (run.error ?? run.outcome)
                return "\(run.id)  \(run.outcome)  \(what)"
            }
            lines.append(
                "in common: \(signature == "preflight" ? "preflight failed every time" : signature)"
                    + (fingerprint.map { ", same configuration (fingerprint \($0))" } ?? ""))
            return lines
        }
        public var hint: String? {
            "fix the cause shown (`launch report \(runs.first?.id ?? "latest")` has the details), or pass --force to launch anyway"
        }
        public var exitCode: ExitStatus { .circuitOpen }
    }

    /// Throws `Open` when the newest runs of `environment` are `threshold` identical failures within the window.
    /// Without a `fingerprint` (before the configuration is resolved) only a streak of preflight failures counts;
    /// with one, only failures of that same configuration do.
    public func check(environment: String, history: [RecordedRun], now: Date, fingerprint: String? = nil) throws(Open) {
        let recent = history.filter { $0.environment == environment && now.timeIntervalSince($0.startedAt) <= window }
        guard recent.count >= threshold else { return }
        let streak = Array(recent.prefix(threshold))
        guard let signature = streak.first?.failureSignature, streak.allSatisfy({ $0.failureSignature == signature }) else {
            return
        }
        if signature == "preflight" {
            guard fingerprint == nil else { return }
            throw Open(environment: environment, runs: streak, signature: signature)
        }
        guard let fingerprint, streak.allSatisfy({ $0.configFingerprint == fingerprint }) else { return }
        throw Open(environment: environment, runs: streak, signature: signature, fingerprint: fingerprint)
    }
}
