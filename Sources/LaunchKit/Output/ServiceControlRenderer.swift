import Foundation

/// Human lines for `launch restart|start|stop`: one line per service, then what to look at next.
public enum ServiceControlRenderer {
    /// `command` spells a launch command as the user must type it (`Console.command`).
    public static func lines(_ outcome: ServiceControl.Outcome, command: (String) -> String = { "launch " + $0 }) -> [String] {
        let failed = outcome.exitCode != 0
        var lines = [
            "\(outcome.verb.rawValue) \(outcome.environment): " + (failed ? "FAILED" : "done")
                + " in \(String(format: "%.1fs", outcome.seconds))"
        ]
        let rows = outcome.services.map { service in
            [
                service.name, service.serviceClass.rawValue, service.action, service.state,
                service.secondsToReady.map { String(format: "%.2fs", $0) } ?? "-",
            ]
        }
        lines += Text.table([["SERVICE", "CLASS", "DID", "STATE", "READY AFTER"]] + rows).map { "  " + $0 }
        for service in outcome.services {
            guard let failure = service.failure else { continue }
            lines.append("")
            lines.append("✗ \(service.name): \(failure.reason)")
            lines += failure.logTail.suffix(5).map { "    │ " + $0 }
            lines.append("    next: \(failure.nextStep)")
        }
        if !outcome.stillRunningDependents.isEmpty {
            lines.append("  still running (they depend on it): \(outcome.stillRunningDependents.joined(separator: ", "))")
        }
        let names = outcome.services.map(\.name).joined(separator: " ")
        switch outcome.verb {
        case .stop: lines.append("next: " + command("start \(outcome.environment) \(names)"))
        case .restart, .start:
            lines.append("next: " + command("status \(outcome.environment)") + "  ·  " + command("logs \(outcome.environment) \(names)"))
        }
        return lines
    }
}
