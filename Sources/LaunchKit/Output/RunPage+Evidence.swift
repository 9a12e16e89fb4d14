import Foundation

extension RunPage.Builder {
    /// Every failed service with its evidence: what it reached, the probe output, the log tail, its resources and
    /// the one next step; then who was blocked by whom.
    func diagnoses() -> String {
        let failed = run.services.filter { $0.failure != nil }
        let blocked = run.services.filter { $0.blockedBy != nil }
        guard !failed.isEmpty || !blocked.isEmpty else { return "" }
        let articles = failed.map { service -> String in
            guard let failure = service.failure else { return "" }
            var facts = [("failure", "\(text(failure.failure)) <span class=\"muted\">(\(text(failure.classification)))</span>")]
            if let reached = failure.reached { facts.append(("reached", text(reached))) }
            if let code = failure.exitCode { facts.append(("exit code", "\(code)")) }
            if let health = failure.health { facts.append(("health", text(health))) }
            if service.retries > 0 { facts.append(("retries", "\(service.retries)")) }
            if let nodes = service.nodes, !nodes.isEmpty { facts.append(("nodes", text(nodes.joined(separator: ", ")))) }
            var body = "<dl class=\"meta\">\(facts.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }.joined())</dl>"
            if let probes = failure.probes, !probes.isEmpty {
                body += "<h4>probe output</h4><pre class=\"probes\">\(lines(probes))</pre>"
            }
            if let tail = failure.logTail, !tail.isEmpty { body += "<h4>log tail</h4><pre class=\"log\">\(lines(tail))</pre>" }
            if let pressure = failure.pressure, !pressure.isEmpty {
                body += "<h4>resources</h4><ul>\(pressure.map { "<li>\(text($0))</li>" }.joined())</ul>"
            }
            if let next = failure.nextStep, !next.isEmpty { body += "<p class=\"next\">next: \(text(next))</p>" }
            let name = text(service.name)
            return """
                <article class="diagnosis \(Self.stateClass(service.serviceClass))" data-service="\(name)">
                <h3>✗ <code>\(name)</code> (\(text(service.serviceClass))): \(text(failure.reason))</h3>
                \(body)
                </article>
                """
        }
        let blockedList =
            blocked.isEmpty
            ? ""
            : "<p>Never started: \(blocked.map { "<code>\(text($0.name))</code> (blocked by <code>\(text($0.blockedBy ?? ""))</code>)" }.joined(separator: ", ")).</p>"
        return "<section id=\"diagnoses\"><h2>Diagnoses</h2>\n\(articles.joined(separator: "\n"))\n\(blockedList)</section>"
    }

    /// This run against the environment's earlier runs: per service its time to ready beside p50 and p95, with a
    /// small picture of where it fell (the p50–p95 band grey, this run a dot).
    func history(_ history: ReadinessHistory, runs: Int) -> String {
        guard !run.services.isEmpty else { return "" }
        guard runs > 0 else {
            return "<section id=\"history\"><h2>History</h2><p class=\"muted\">No earlier run of \(text(run.environment)) "
                + "is recorded: the next report compares with this one.</p></section>"
        }
        let rows = run.services.map { service -> String in
            let name = text(service.name)
            guard let stats = history.stats(service.name) else {
                return "<tr><td class=\"mono\">\(name)</td><td class=\"num\">\(Self.seconds(service.secondsToReady))</td>"
                    + "<td class=\"num\">–</td><td class=\"num\">–</td><td class=\"num\">0</td><td></td><td class=\"muted\">no earlier time</td></tr>"
            }
            let this = service.secondsToReady
            let verdict =
                this.map { $0 > stats.p95 ? "slower than p95" : ($0 < stats.p50 ? "faster than p50" : "within p50–p95") }
                ?? "not ready this run"
            return
                "<tr><td class=\"mono\">\(name)</td><td class=\"num\">\(Self.seconds(this))</td><td class=\"num\">\(Self.seconds(stats.p50))</td>"
                + "<td class=\"num\">\(Self.seconds(stats.p95))</td><td class=\"num\">\(stats.runs)</td>"
                + "<td>\(Self.band(stats, this: this, label: "\(name): \(verdict)"))</td><td>\(verdict)</td></tr>"
        }
        return """
            <section id="history"><h2>History</h2>
            <p>Time to ready against the \(runs) earlier recorded run\(runs == 1 ? "" : "s") of \(text(run.environment)).</p>
            <div class="scroll"><table><thead><tr><th>service</th><th class="num">this run</th><th class="num">p50</th><th class="num">p95</th>\
            <th class="num">runs</th><th>picture</th><th>verdict</th></tr></thead>
            <tbody>\(rows.joined(separator: "\n"))</tbody></table></div></section>
            """
    }

    /// A 120×14 picture: the p50–p95 band and this run's time as a dot (red beyond p95).
    static func band(_ stats: ReadinessStats, this: Double?, label: String) -> String {
        let top = max(stats.p95, this ?? 0, 0.001) * 1.15
        func x(_ value: Double) -> String { String(format: "%.1f", 2 + value / top * 116) }
        let dot =
            this.map { "<circle cx=\"\(x($0))\" cy=\"7\" r=\"4\" fill=\"\($0 > stats.p95 ? "#cf222e" : "#1a7f37")\"/>" } ?? ""
        return "<svg role=\"img\" aria-label=\"\(label)\" width=\"120\" height=\"14\" viewBox=\"0 0 120 14\">"
            + "<rect x=\"\(x(stats.p50))\" y=\"3\" width=\"\(String(format: "%.1f", max((stats.p95 - stats.p50) / top * 116, 1)))\" height=\"8\" fill=\"#d0d7de\"/>"
            + "<line x1=\"\(x(stats.p50))\" x2=\"\(x(stats.p50))\" y1=\"1\" y2=\"13\" stroke=\"#57606a\"/>\(dot)</svg>"
    }
}
