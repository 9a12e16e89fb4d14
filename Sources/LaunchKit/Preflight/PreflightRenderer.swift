/// Preflight reports for people: an aligned table on a terminal, one plain line per check in CI and pipes.
/// Every warning and failure is followed by its remediation. The JSON form is `PreflightReport` itself.
public enum PreflightRenderer {
    public enum Layout: Sendable { case table, plain }

    /// Writes the report the way `console` wants it: a table when a person watches, plain lines otherwise.
    /// `launch doctor` prints it as its data (stdout); `launch <env>` passes `asTalk: true` (stderr).
    public static func render(_ report: PreflightReport, console: Console, asTalk: Bool = false) {
        let layout: Layout = console.isInteractive ? .table : .plain
        for line in lines(report, layout: layout, style: { console.styled($0, $1) }).map(console.runnable) {
            if asTalk { console.say(line) } else { console.data(line) }
        }
    }

    public static func lines(
        _ report: PreflightReport, layout: Layout,
        style: (String, Console.Style) -> String = { text, _ in text }
    ) -> [String] {
        var lines: [String] = []
        if let environment = report.environment {
            lines.append("Preflight for \(environment)" + (report.project.map { " (project \($0))" } ?? ""))
        } else {
            lines.append("Preflight for this machine")
        }
        switch layout {
        case .table:
            var rows = [["STATUS", "CHECK", "EVIDENCE"]]
            rows += report.checks.map { [label($0.status), $0.title, $0.evidence] }
            let table = Text.table(rows)
            for (index, line) in table.enumerated() {
                guard index > 0 else {
                    lines.append("  " + style(line, .bold))
                    continue
                }
                let check = report.checks[index - 1]
                let name = label(check.status)
                lines.append("  " + style(name, color(check.status)) + line.dropFirst(name.count))
                if let fix = remediationLine(check) {
                    let indent = String(repeating: " ", count: Text.pad("STATUS", 6).count + 2)
                    lines.append("  " + indent + style("→ " + fix, .dim))
                }
            }
        case .plain:
            for check in report.checks {
                lines.append(style(Text.pad(label(check.status), 4), color(check.status)) + " \(check.id): \(check.evidence)")
                if let fix = remediationLine(check) { lines.append("     fix: " + fix) }
            }
        }
        lines.append(summary(report))
        return lines
    }

    /// `29 ok, 2 warnings, 1 failed, 1 skipped in 0.21s: nothing may start until the failed check is fixed`
    public static func summary(_ report: PreflightReport) -> String {
        let failed = report.count(.fail), warnings = report.count(.warn), skipped = report.count(.skip)
        var parts = ["\(report.count(.ok)) ok"]
        if warnings > 0 { parts.append(warnings == 1 ? "1 warning" : "\(warnings) warnings") }
        if failed > 0 { parts.append("\(failed) failed") }
        if skipped > 0 { parts.append("\(skipped) skipped") }
        let time = DurationText.format(.seconds(report.durationSeconds))
        let verdict =
            failed == 0
            ? "ready" + (warnings > 0 ? " (warnings allowed)" : "")
            : "fix the failed check\(failed == 1 ? "" : "s") before launching; nothing was started"
        return parts.joined(separator: ", ") + " in \(time): " + verdict
    }

    static func label(_ status: CheckResult.Status) -> String {
        switch status {
        case .ok: "ok"
        case .warn: "warn"
        case .fail: "FAIL"
        case .skip: "skip"
        }
    }

    static func color(_ status: CheckResult.Status) -> Console.Style {
        switch status {
        case .ok: .green
        case .warn: .yellow
        case .fail: .red
        case .skip: .dim
        }
    }

    /// Remediations of warnings and failures; an `ok` needs none.
    static func remediationLine(_ check: CheckResult) -> String? {
        guard check.status == .warn || check.status == .fail else { return nil }
        return check.remediation
    }
}
