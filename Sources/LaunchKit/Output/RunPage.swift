import Foundation

/// `launch report --html`: one recorded run as a single self-contained page — a header, the phases, a waterfall
/// on one time axis with the critical path, the dependency graph, every diagnosis with its evidence, the plan's
/// warnings and the run against the environment's history.
///
/// No script and no request: a Content-Security-Policy of `default-src 'none'` lets the page load nothing and run
/// nothing, so a container's output that reaches it can only ever be text. Every string from a run passes the
/// redactor, the printable filter and HTML escaping, in that order. Pictures are HTML and inline SVG with a text
/// form beside them (the services table, the list of edges), so a screen reader, a printer and a phone get it all.
public enum RunPage {
    /// `history`: the environment's earlier runs (newest first; this run is left out if present).
    public static func html(_ run: RecordedRun, history: [RecordedRun] = [], redact: Redactor = .none) -> String {
        let page = Builder(run: run, timeline: RunTimeline(run), redact: redact)
        let earlier = history.filter { $0.id != run.id && $0.startedAt <= run.startedAt }
        let title = "launch \(run.environment): \(run.outcome)"
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="generator" content="launch \(page.text(run.version ?? Version.current))">
            <title>\(page.text(title))</title>
            <style>\(style)</style>
            </head>
            <body data-outcome="\(page.text(run.outcome))">
            \(page.header())
            \(page.problems())
            \(page.phases())
            \(page.waterfall())
            \(page.graph())
            \(page.diagnoses())
            \(page.history(ReadinessHistory(runs: Array(earlier.prefix(ReadinessHistory.depth))), runs: min(earlier.count, ReadinessHistory.depth)))
            <footer>Written by launch \(page.text(Version.current)) from run report \(page.text(run.id)). \
            Times are seconds from the start of the start phase unless marked otherwise.</footer>
            </body>
            </html>

            """
    }

    static let style = """
        :root{--ok:#1a7f37;--fail:#cf222e;--warn:#9a6700;--wait:#d0d7de;--engine:#0969da;--muted:#57606a;--line:#d0d7de}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1f2328;background:#fff}
        h1{font-size:1.45em;margin:0 0 .4em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
        code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
        pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:8px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0}
        .badge{display:inline-block;padding:.05em .6em;border-radius:1em;color:#fff;font-size:.75em;vertical-align:middle;background:var(--muted)}
        .badge.success,.badge.ready{background:var(--ok)}.badge.degraded{background:var(--warn)}
        .badge.failed,.badge.preflight_failed,.badge.interrupted{background:var(--fail)}
        dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px 3px 0;border-bottom:1px solid #eaeef2;vertical-align:top}
        th{color:var(--muted);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .scroll{overflow-x:auto}
        .wf{display:grid;grid-template-columns:minmax(5em,max-content) minmax(0,1fr);gap:2px 10px;align-items:center}
        .wf .name{font-family:ui-monospace,monospace;font-size:.88em;overflow-wrap:anywhere}
        .wf .axis{position:relative;height:1.3em;margin-right:7em;font-size:.75em;color:var(--muted)}.wf .axis span{position:absolute;transform:translateX(-50%)}
        .track{position:relative;height:20px;margin-right:7em;background:repeating-linear-gradient(90deg,transparent 0 calc(25% - 1px),#eaeef2 calc(25% - 1px) 25%)}
        .seg{position:absolute;top:4px;height:12px;min-width:2px}
        .seg.wait{background:var(--wait)}.seg.engine{background:var(--engine)}.seg.check{background:var(--ok)}
        .seg.failing{background:repeating-linear-gradient(45deg,var(--fail) 0 4px,#ffb3b8 4px 8px)}
        .track .label{position:absolute;top:2px;font-size:.75em;white-space:nowrap;padding:0 4px}
        .row-failed .name{color:var(--fail);font-weight:700}.row-blocked .name,.row-pending .name{color:var(--muted)}
        .name.critical::after{content:" ◆";color:#000}.critical .seg.check,.critical .seg.engine,.critical .seg.failing{box-shadow:0 0 0 2px #000}
        .legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:.85em;color:var(--muted);margin:.5em 0}
        .legend i{display:inline-block;width:1.6em;height:.7em;margin-right:.35em;vertical-align:middle}
        svg text{font:12px ui-monospace,monospace}
        .node rect{fill:#f6f8fa;stroke:var(--muted);stroke-width:1}.node.ready rect{fill:#dafbe1;stroke:var(--ok)}
        .node.failed rect{fill:#ffebe9;stroke:var(--fail);stroke-width:2.5}.node.blocked rect{fill:#fff8c5;stroke:var(--warn);stroke-dasharray:4 2}
        .edge{fill:none;stroke:#8c959f;stroke-width:1.4}.edge.service_healthy{stroke:#1f2328;stroke-width:1.8}
        .edge.service_completed_successfully{stroke-dasharray:1 3;stroke-linecap:round;stroke-width:2.2}.edge.optional{stroke-dasharray:6 4;opacity:.7}
        .edge.blocked{stroke:var(--fail);stroke-width:2.2}
        article.diagnosis{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:4px;padding:8px 12px;margin:.8em 0}
        article.diagnosis.optional{border-left-color:var(--warn)}article.diagnosis h3{margin:0 0 .4em;font-size:1em}
        .next{font-weight:600}.warn{color:var(--warn)}.muted{color:var(--muted)}
        footer{margin-top:2em;color:var(--muted);font-size:.85em}
        @media (max-width:640px){body{padding:10px;font-size:13px}dl.meta{grid-template-columns:1fr}dl.meta dt{margin-top:.3em}
        .wf{grid-template-columns:minmax(0,1fr)}.wf .axis-name{display:none}.track{margin-right:0;margin-bottom:1.2em}.track .label{top:20px;left:0!important}}
        @media print{body{max-width:none;padding:0;font-size:11px}.seg,.badge,.node rect{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        article.diagnosis,.wf,figure{break-inside:avoid}pre{white-space:pre-wrap}.scroll{overflow:visible}}
        """
}

extension RunPage {
    /// Renders the sections of one page; every string from the run goes through `text`.
    struct Builder {
        var run: RecordedRun
        var timeline: RunTimeline
        var redact: Redactor

        /// Redacted, made printable (one line), redacted again (a secret split by an escape sequence is whole once
        /// the sequence is gone), cut to `limit` and escaped for HTML text and attribute values.
        func text(_ value: String, limit: Int = 2000) -> String {
            Self.escape(Text.printable(redact(Text.printable(redact(value), limit: .max)), limit: limit))
        }

        /// Several lines (a log tail, probe output), each as `text`.
        func lines(_ values: [String]) -> String { values.map { text($0) }.joined(separator: "\n") }

        /// Scalar by scalar, not Character by Character: a quote followed by a combining mark is one Character that
        /// is not `"`, and would otherwise close an attribute unescaped.
        static func escape(_ value: String) -> String {
            var out = String.UnicodeScalarView()
            for scalar in value.unicodeScalars {
                switch scalar {
                case "&": out.append(contentsOf: "&amp;".unicodeScalars)
                case "<": out.append(contentsOf: "&lt;".unicodeScalars)
                case ">": out.append(contentsOf: "&gt;".unicodeScalars)
                case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
                case "'": out.append(contentsOf: "&#39;".unicodeScalars)
                default: out.append(scalar)
                }
            }
            return String(out)
        }

        static func seconds(_ value: Double?) -> String { value.map { String(format: "%.2fs", $0) } ?? "–" }
        static func percent(_ value: Double, of total: Double) -> String { String(format: "%.3f%%", min(max(value / total, 0), 1) * 100) }

        func header() -> String {
            var rows: [(String, String)] = [
                ("run", text(run.id)), ("project", text(run.project)),
                ("started", text(ISO8601DateFormatter().string(from: run.startedAt))),
                ("duration", Self.seconds(run.seconds)), ("exit code", "\(run.exitCode)"),
            ]
            if let endpoint = run.endpoint { rows.append(("engine", "<code>\(text(endpoint))</code>")) }
            if let files = run.composeFiles, !files.isEmpty {
                rows.append(("compose files", files.map { "<code>\(text($0))</code>" }.joined(separator: " → ")))
            }
            if let overlay = run.overlay { rows.append(("GPU overlay", text(overlay))) }
            rows.append(("launch", text(run.version ?? "before 0.5.0")))
            let meta = rows.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }.joined()
            let ready = run.services.filter { $0.state == "ready" }.count
            return """
                <header>
                <h1>\(text(run.environment)) <span class="badge \(Self.stateClass(run.outcome))">\(text(run.outcome))</span></h1>
                <p>\(ready) of \(run.services.count) services ready in \(Self.seconds(run.seconds)).</p>
                <dl class="meta">\(meta)</dl>
                </header>
                """
        }

        /// The run's error, rollback and the plan's warnings; empty when there are none.
        func problems() -> String {
            var parts: [String] = []
            if let error = run.error, !error.isEmpty {
                parts.append("<h2>Error</h2><pre class=\"error\">\(lines(error.split(separator: "\n").map(String.init)))</pre>")
            }
            if let rollback = run.rollback {
                let removed = (rollback.removedContainers ?? []) + (rollback.removedServices ?? [])
                var items = ["removed: \(removed.isEmpty ? "nothing" : removed.map { text($0) }.joined(separator: ", "))"]
                if let networks = rollback.removedNetworks, !networks.isEmpty {
                    items.append("networks: \(networks.map { text($0) }.joined(separator: ", "))")
                }
                items += (rollback.errors ?? []).map { "<span class=\"warn\">could not undo: \(text($0))</span>" }
                parts.append("<h2>Rollback</h2><ul>\(items.map { "<li>\($0)</li>" }.joined())</ul>")
            }
            if let warnings = run.warnings, !warnings.isEmpty {
                parts.append("<h2>Plan warnings</h2><ul>\(warnings.map { "<li class=\"warn\">\(text($0))</li>" }.joined())</ul>")
            }
            return parts.isEmpty ? "" : "<section id=\"problems\">\(parts.joined(separator: "\n"))</section>"
        }

        func phases() -> String {
            guard !timeline.phases.isEmpty else { return "" }
            let rows = timeline.phases.map { phase in
                "<tr><td>\(text(phase.name))</td><td class=\"num\">\(Self.seconds(phase.begin))</td>"
                    + "<td class=\"num\">\(Self.seconds(phase.seconds))</td><td>\(text(phase.status))</td></tr>"
            }
            return """
                <section id="phases"><h2>Phases</h2><div class="scroll"><table>
                <thead><tr><th>phase</th><th class="num">began (from the run's start)</th><th class="num">took</th><th>status</th></tr></thead>
                <tbody>\(rows.joined())</tbody></table></div></section>
                """
        }
    }
}
