import Foundation

/// `launch history` and `launch report`: recorded runs for people.
public enum RunRenderer {
    public static func history(_ runs: [RecordedRun]) -> [String] {
        guard !runs.isEmpty else { return ["no runs recorded yet (reports are written to .launch/runs/ by every launch)"] }
        var rows = [["RUN", "ENVIRONMENT", "OUTCOME", "DURATION", "FAILURE"]]
        for run in runs {
            let failure =
                run.services.first { $0.failure != nil }.map { "\($0.name): \($0.failure?.failure ?? "")" }
                ?? (run.failed ? (run.error.map { String($0.prefix(60)) } ?? "") : "")
            rows.append([run.id, run.environment, run.outcome, String(format: "%.1fs", run.seconds), failure])
        }
        return Text.table(rows)
    }

    /// The run's phases and a startup waterfall: one bar per service on a shared time axis,
    /// from its start to ready (`█`), or to the end of the start phase when it never got ready (`░`, then ✗).
    public static func report(_ run: RecordedRun, width: Int = 48) -> [String] {
        var lines = ["run \(run.id): \(run.environment) (\(run.project)), \(run.outcome) in \(String(format: "%.2fs", run.seconds))"]
        if let error = run.error { lines += errorLines(error) }
        if !run.phases.isEmpty {
            lines.append(
                "phases: "
                    + run.phases.map { "\($0.name) \(String(format: "%.2fs", $0.seconds))" + ($0.status == "ok" ? "" : " (\($0.status))") }
                    .joined(separator: " · "))
        }
        let startPhase = run.phases.last { $0.name == "start" }?.seconds ?? 0
        let end = max(
            startPhase, run.services.compactMap { $0.readyAt }.max() ?? 0, run.services.compactMap { $0.startedAt }.max() ?? 0, 0.001)
        guard !run.services.isEmpty else { return lines }
        let nameWidth = max(7, run.services.map(\.name.count).max() ?? 0)
        let scale = Double(width) / end
        lines.append("")
        var axis = String(repeating: " ", count: nameWidth + 2)
        var ruler = String(repeating: " ", count: nameWidth + 2)
        let step = niceStep(end / 4)
        var tick = 0.0
        while tick <= end + 1e-9 {
            let column = Int((tick * scale).rounded())
            let label = step < 1 ? String(format: "%.1fs", tick) : "\(Int(tick))s"
            if column + label.count <= width + 6 && axis.count <= nameWidth + 2 + column {
                axis += String(repeating: " ", count: nameWidth + 2 + column - axis.count) + label
            }
            let rulerIndex = nameWidth + 2 + min(column, width)
            if ruler.count <= rulerIndex { ruler += String(repeating: "─", count: rulerIndex - ruler.count) + "┬" }
            tick += step
        }
        lines.append(axis)
        lines.append(ruler)
        for service in run.services.sorted(by: { ($0.startedAt ?? .infinity) < ($1.startedAt ?? .infinity) }) {
            let name = Text.pad(service.name, nameWidth)
            guard let started = service.startedAt else {
                lines.append("\(name)  " + (service.blockedBy.map { "(blocked by \($0))" } ?? "(not started)"))
                continue
            }
            // Within the axis whatever the report says (times are bounded when it is read, but may disagree).
            let from = min(max(Int((started * scale).rounded()), 0), width)
            let until = min(max(Int(((service.readyAt ?? end) * scale).rounded()), 0), width)
            let glyph: Character = service.readyAt == nil ? "░" : "█"
            var bar = String(repeating: " ", count: from) + String(repeating: glyph, count: max(1, until - from))
            if let ready = service.readyAt {
                bar += String(format: " %.2fs", ready - started)
            } else {
                bar += " ✗ " + (service.failure?.failure ?? service.state)
            }
            if service.retries > 0 { bar += " (\(service.retries) retr\(service.retries == 1 ? "y" : "ies"))" }
            lines.append("\(name)  \(bar)")
        }
        let failures = run.services.filter { $0.failure != nil }
        if !failures.isEmpty {
            lines.append("")
            for service in failures {
                lines.append(
                    "✗ \(service.name) (\(service.serviceClass)): \(service.failure?.reason ?? "") [\(service.failure?.classification ?? "")]"
                )
                if let next = service.failure?.nextStep, !next.isEmpty { lines.append("    next: \(next)") }
            }
        }
        return lines
    }

    /// A recorded error holds the summary and each failed check (with its `fix:` line): one line each, so the
    /// fix of one check never runs into the next check. Older reports joined them with "; ".
    /// Two runs side by side: time to ready per service, the change and its ratio, slowest changes first.
    public static func compare(_ comparison: RunComparison) -> [String] {
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.2fs", $0) } ?? "-" }
        var rows = [["SERVICE", comparison.before, comparison.after, "CHANGE"]]
        for row in comparison.rows {
            var change = "-"
            if let delta = row.change, let before = row.before {
                change = String(format: "%+.2fs", delta) + (before >= 0.05 ? String(format: " (%.1f×)", (before + delta) / before) : "")
            } else if row.before == nil && row.after != nil {
                change = "ready only in \(comparison.after)"
            } else if row.before != nil && row.after == nil {
                change = "not ready in \(comparison.after)"
            }
            rows.append([row.service, seconds(row.before), seconds(row.after), change])
        }
        return ["time to ready, \(comparison.before) → \(comparison.after)"] + Text.table(rows).map { "  " + $0 }
    }

    static func errorLines(_ error: String) -> [String] {
        let parts = error.contains("\n") ? error.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) : [error]
        guard let first = parts.first else { return [] }
        return ["error: \(first)"]
            + parts.dropFirst().map { line in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.hasPrefix("fix:") ? "      \(trimmed)" : "  \(trimmed)"
            }
    }

    static func niceStep(_ raw: Double) -> Double {
        for candidate in [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600] where candidate >= raw { return candidate }
        return 600
    }
}
