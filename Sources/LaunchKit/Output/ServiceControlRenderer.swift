import Foundation

/// Human lines for `launch restart|start|stop`: one line per service, then what to look at next.
public enum ServiceControlRenderer {
    public static func lines(_ outcome: ServiceControl.Outcome) -> [String] {
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
        case .stop: lines.append("next: launch start \(outcome.environment) \(names)")
        case .restart, .start: lines.append("next: launch status \(outcome.environment)  ·  launch logs \(outcome.environment) \(names)")
        }
        return lines
    }
}
