/// The end of a launch, for people: outcome, per-service table, one diagnosis per failure, URLs, next commands.
public enum LaunchSummary {
    public static func render(_ result: LaunchResult, console: Console) -> [String] {
        var lines: [String] = [""]
        // Never "rolled back" over a hole: say what is back, and what is not.
        let rolledBack = Self.rollbackWords(result.rollback)
        let restored = result.restore.map { restore in
            restore.complete
                ? "; \(restore.line)"
                : "; \(result.rollback?.errors.isEmpty == false ? rolledBack.dropFirst(2) : "rolled back what it created"), \(restore.verdict)"
        }
        let verdict: String =
            switch result.outcome {
            case .success: console.styled("ready", .green) + " in \(String(format: "%.1fs", result.seconds))"
            case .degraded:
                console.styled("ready, degraded", .yellow)
                    + " in \(String(format: "%.1fs", result.seconds)): \(result.degraded.joined(separator: ", ")) not running"
            case .failed:
                console.styled("FAILED", .red) + " after \(String(format: "%.1fs", result.seconds))"
                    + (restored ?? (result.rollback != nil ? rolledBack : "; left running (--keep-on-failure)"))
            case .interrupted: console.styled("interrupted", .yellow) + (restored ?? rolledBack)
            case .engineLost: console.styled("ENGINE LOST", .red) + " after \(String(format: "%.1fs", result.seconds))"
            case .preflightFailed: console.styled("preflight failed", .red) + "; nothing started"
            }
        lines.append("launch \(result.environment): \(verdict)")
        if !result.services.isEmpty {
            var rows = [["SERVICE", "CLASS", "STATE", "READY AFTER", "RETRIES"]]
            for service in result.services {
                rows.append([
                    service.name, service.serviceClass.rawValue,
                    service.blockedBy.map { "blocked by \($0)" } ?? service.state.description,
                    service.secondsToReady.map { String(format: "%.2fs", $0) } ?? "-", String(service.retries),
                ])
            }
            lines += Text.table(rows).map { "  " + $0 }
            lines += result.services.compactMap(\.slowerThanUsual).map { "  note: " + $0 }
            if let note = result.hostPressure?.note { lines.append("  note: " + note) }
        }
        for service in result.services {
            guard let diagnosis = service.failure else { continue }
            lines.append("")
            lines += diagnosisLines(diagnosis, console: console)
        }
        let blocked = result.services.filter { $0.blockedBy != nil }
        if !blocked.isEmpty {
            lines.append("")
            lines.append("not started: " + blocked.map { "\($0.name) (blocked by \($0.blockedBy ?? "?"))" }.joined(separator: ", "))
        }
        if result.outcome == .success || result.outcome == .degraded {
            if !result.urls.isEmpty {
                lines.append("")
                lines += Text.table(result.urls.map { [$0.name, $0.url] }).map { "  " + $0 }
            }
            lines.append("")
            lines.append(
                "next: "
                    + ["status \(result.environment)", "logs \(result.environment) [service]", "down \(result.environment)"]
                    .map(console.command).joined(separator: "  ·  ")
            )
        }
        return lines
    }

    /// "; rolled back" only over a rollback that undid everything it tried; otherwise what it could not undo.
    static func rollbackWords(_ rollback: RollbackReport?) -> String {
        guard let rollback, !rollback.errors.isEmpty else { return "; rolled back" }
        return
            "; rollback incomplete: \(rollback.errors.count) thing\(rollback.errors.count == 1 ? "" : "s") could not be undone (listed above)"
    }

    /// One failed service, as every command prints it: what happened, the state it reached, the evidence (resources,
    /// probes, log tail), its class and one next step.
    public static func diagnosisLines(_ diagnosis: Diagnosis, console: Console) -> [String] {
        var lines = [console.styled("✗ \(diagnosis.service)", .red) + " (\(diagnosis.serviceClass.rawValue)): \(diagnosis.reason)"]
        lines.append("    reached:   \(diagnosis.reached)")
        if !diagnosis.pressure.isEmpty {
            lines.append("    resources:")
            lines += diagnosis.pressure.map { "      \($0)" }
        }
        if !diagnosis.probes.isEmpty {
            lines.append("    last probes:")
            lines += diagnosis.probes.map { "      \($0)" }
        }
        if !diagnosis.logTail.isEmpty {
            lines.append("    last \(diagnosis.logTail.count) log lines:")
            lines += diagnosis.logTail.map { "      │ \($0)" }
        } else {
            lines.append("    log:       (empty)")
        }
        lines.append("    class:     \(diagnosis.classification)")
        lines.append(console.styled("    next:", .yellow) + "      \(console.runnable(diagnosis.nextStep))")
        return lines
    }
}
