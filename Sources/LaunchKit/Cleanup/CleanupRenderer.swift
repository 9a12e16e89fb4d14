/// `launch clean` for people: Docker's disk usage, what the prune removes (or removed), and that volumes stay.
public enum CleanupRenderer {
    public static func lines(_ report: CleanupReport) -> [String] {
        var lines = ["Docker disk usage (\(report.usage.source))"]
        var rows = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE", "LAUNCH PRUNES"]]
        for category in report.usage.categories {
            rows.append([
                category.kind.title, String(category.count), String(category.active), category.size.description,
                category.reclaimable.description,
                category.kind == .volumes ? "never" : category.prunable.description,
            ])
        }
        lines += Text.table(rows).map { "  " + $0 }
        let usage = report.usage
        lines.append(
            "  prunable: \(usage.prunable) of \(usage.prunableBase) (\(CleanupDecision.format((usage.prunablePercent * 10).rounded() / 10))%)"
                + (report.label.map { "; only objects labelled \($0) are pruned" } ?? ""))
        if let decision = report.decision { lines.append("  cleanup: " + decision.reason) }
        lines.append("")
        if report.dryRun {
            lines.append("Would remove (dry run, nothing changed):")
            let candidates = usage.candidates ?? []
            lines += candidates.isEmpty ? ["  nothing"] : candidates.map(describe)
            lines.append("Commands:")
            lines += report.steps.map { "  " + $0.command }
        } else {
            lines.append("Pruned:")
            for step in report.steps {
                let result =
                    step.succeeded
                    ? "reclaimed \(step.reclaimed?.description ?? "an unknown amount")"
                    : "FAILED: \(step.message ?? "no message")"
                lines.append("  \(step.command): \(result)")
            }
            lines.append("Total reclaimed: \(report.reclaimed)")
        }
        lines.append("Volumes are never removed.")
        return lines
    }

    static func describe(_ candidate: DiskUsage.Candidate) -> String {
        switch candidate.kind {
        case .containers: "  stopped container \(candidate.name) (\(candidate.size))"
        case .images: "  dangling image \(candidate.name) (\(candidate.size))"
        case .buildCache: "  build cache: \(candidate.name) (\(candidate.size))"
        case .volumes: "  volume \(candidate.name) (\(candidate.size))"
        }
    }
}
