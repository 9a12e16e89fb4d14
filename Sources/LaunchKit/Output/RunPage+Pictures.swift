import Foundation

extension RunPage.Builder {
    /// One row per service on the start phase's axis: waiting for its dependencies (grey), the engine starting its
    /// containers (blue), its readiness check until ready (green) or until judged failed (red). The critical path is
    /// marked ◆; the services table under it says the same in numbers.
    func waterfall() -> String {
        guard !timeline.lanes.isEmpty else { return "" }
        let end = timeline.axisEnd
        let step = RunRenderer.niceStep(end / 4)
        var ticks = ""
        var tick = 0.0
        while tick <= end + 1e-9 {
            let label = step < 1 ? String(format: "%.1fs", tick) : "\(Int(tick))s"
            ticks += "<span style=\"left:\(Self.percent(tick, of: end))\">\(label)</span>"
            tick += step
        }
        let critical = Set(timeline.criticalPath)
        let rows = timeline.lanes.map { lane(in: $0, end: end, critical: critical.contains($0.name)) }.joined(separator: "\n")
        let path =
            timeline.criticalPath.count > 0
            ? "<p>Critical path ◆: \(timeline.criticalPath.map { "<code>\(text($0))</code>" }.joined(separator: " → "))</p>" : ""
        return """
            <section id="waterfall"><h2>Waterfall</h2>
            <figure aria-describedby="waterfall-caption">
            <div class="wf" role="list">
            <div class="axis-name"></div><div class="axis" aria-hidden="true">\(ticks)</div>
            \(rows)
            </div>
            <figcaption id="waterfall-caption" class="legend"><span><i style="background:var(--wait)"></i>waiting for dependencies</span>\
            <span><i style="background:var(--engine)"></i>engine starting it</span><span><i style="background:var(--ok)"></i>readiness check until ready</span>\
            <span><i style="background:var(--fail)"></i>until judged failed</span><span>◆ critical path</span></figcaption>
            </figure>
            \(path)
            \(servicesTable())
            </section>
            """
    }

    /// One service's row: its name and a track with its segments and a label at the end.
    func lane(in lane: RunTimeline.Lane, end: Double, critical: Bool) -> String {
        let name = text(lane.name)
        var segments = ""
        func segment(_ kind: String, _ from: Double, _ to: Double, _ title: String) {
            guard to > from else { return }
            segments +=
                "<span class=\"seg \(kind)\" style=\"left:\(Self.percent(from, of: end));width:\(Self.percent(to - from, of: end))\" "
                + "title=\"\(name) \(title) \(Self.seconds(from))–\(Self.seconds(to))\"></span>"
        }
        var label: String
        var labelAt = 0.0
        if let started = lane.started {
            segment("wait", 0, started, "waited for its dependencies")
            let checking = min(lane.running ?? started, lane.ended ?? .infinity)
            segment("engine", started, checking, "was being started by the engine")
            if let ready = lane.ready {
                segment("check", checking, ready, "was checked until ready")
                label = "✓ \(Self.seconds(max(ready - started, 0)))"
            } else {
                segment(
                    lane.failed ? "failing" : "check", checking, lane.ended ?? end, lane.failed ? "was checked until judged failed" : "")
                label = lane.failed ? "✗ \(text(failureKey(lane.name) ?? "failed"))" : text(lane.state)
            }
            labelAt = lane.ended ?? end
        } else {
            label = lane.blockedBy.map { "blocked by \(text($0))" } ?? text(lane.state == "waiting" ? "not started" : lane.state)
        }
        let retries = run.services.first { $0.name == lane.name }?.retries ?? 0
        if retries > 0 { label += " (\(retries) retr\(retries == 1 ? "y" : "ies"))" }
        let place = "left:\(Self.percent(labelAt, of: end))"
        let classes = "row-\(Self.stateClass(lane.state))" + (critical ? " critical" : "")
        return """
            <div class="name \(classes)" role="listitem" data-service="\(name)" data-state="\(Self.stateClass(lane.state))">\(name)</div>\
            <div class="track \(classes)" aria-label="\(name): \(label)">\(segments)<span class="label" style="\(place)">\(label)</span></div>
            """
    }

    /// The waterfall in numbers: a row per service.
    func servicesTable() -> String {
        let lanes = Dictionary(timeline.lanes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = run.services.map { service -> String in
            let lane = lanes[service.name]
            let on = (service.nodes ?? []).isEmpty ? "" : " on " + text((service.nodes ?? []).joined(separator: ", "))
            let outcome =
                service.readiness.map { "ready: \(text($0))\(on)" }
                ?? service.failure.map { "\(text($0.failure)): \(text($0.reason, limit: 200))" }
                ?? service.blockedBy.map { "blocked by \(text($0))" } ?? text(service.state)
            return
                "<tr data-service=\"\(text(service.name))\"><td class=\"mono\">\(text(service.name))</td><td>\(text(service.serviceClass))</td>"
                + "<td>\(text(service.state))</td><td class=\"num\">\(Self.seconds(service.startedAt))</td>"
                + "<td class=\"num\">\(Self.seconds(lane?.running))</td><td class=\"num\">\(Self.seconds(service.readyAt ?? service.failedAt))</td>"
                + "<td class=\"num\">\(Self.seconds(service.secondsToReady))</td><td class=\"num\">\(service.retries)</td><td>\(outcome)</td></tr>"
        }
        return """
            <div class="scroll"><table class="services">
            <caption class="muted">Each service: when launch started it, when the engine had it running, when it was ready or judged failed.</caption>
            <thead><tr><th>service</th><th>class</th><th>state</th><th class="num">started</th><th class="num">running</th>\
            <th class="num">ready / failed</th><th class="num">time to ready</th><th class="num">retries</th><th>evidence</th></tr></thead>
            <tbody>\(rows.joined(separator: "\n"))</tbody></table></div>
            """
    }

    func failureKey(_ service: String) -> String? { run.services.first { $0.name == service }?.failure?.failure }

    /// `blocked`, `ready`, `failed`, `waiting`…: a state as a CSS class (letters only).
    static func stateClass(_ state: String) -> String {
        let word = state.prefix { ($0.isLetter || $0 == "_") && $0.isASCII }
        return word.isEmpty ? "unknown" : String(word)
    }
}

extension RunPage.Builder {
    /// The dependency graph as inline SVG: a column per level, an arrow from each dependency to what waits for it,
    /// drawn by condition (healthy solid, started thin, completed dotted; optional dashed); the failed service and
    /// what it blocked stand out. The list under it says every edge in words.
    func graph() -> String {
        let levels = timeline.levels
        guard !levels.isEmpty else { return "" }
        let (nodeWidth, nodeHeight, columnWidth, rowHeight, pad) = (150.0, 26.0, 210.0, 38.0, 10.0)
        var position: [String: (x: Double, y: Double)] = [:]
        for (column, names) in levels.enumerated() {
            for (row, name) in names.enumerated() { position[name] = (pad + Double(column) * columnWidth, pad + Double(row) * rowHeight) }
        }
        // An edge that skips levels arcs over the nodes between, higher the more it skips: room for that on top.
        let depth = Dictionary(levels.enumerated().flatMap { index, names in names.map { ($0, index) } }, uniquingKeysWith: { a, _ in a })
        let lift = 18.0
        let longest =
            run.services.flatMap { service in
                (service.dependsOn ?? []).compactMap { edge in depth[service.name].flatMap { to in depth[edge.service].map { to - $0 - 1 } }
                }
            }.max() ?? 0
        let top = Double(max(longest, 0)) * lift
        for (name, at) in position { position[name] = (at.x, at.y + top) }
        let width = pad * 2 + Double(levels.count - 1) * columnWidth + nodeWidth
        let height = top + pad * 2 + Double((levels.map(\.count).max() ?? 1) - 1) * rowHeight + nodeHeight
        var edges = "", words: [String] = []
        for service in run.services {
            for edge in service.dependsOn ?? [] {
                guard let from = position[edge.service], let to = position[service.name] else { continue }
                let blocked = service.blockedBy == edge.service
                let condition = Dependency.Condition(rawValue: edge.condition)?.rawValue ?? "other"
                let classes = "edge \(condition)" + (edge.required ? "" : " optional") + (blocked ? " blocked" : "")
                let (x1, y1, x2, y2) = (from.x + nodeWidth, from.y + nodeHeight / 2, to.x, to.y + nodeHeight / 2)
                let skipped = Double(max((depth[service.name] ?? 0) - (depth[edge.service] ?? 0) - 1, 0))
                let (c1, c2) = (y1 - skipped * lift * 1.4, y2 - skipped * lift * 1.4)
                edges +=
                    "<path class=\"\(classes)\" marker-end=\"url(#arrow)\" d=\"M\(x1) \(y1) C\(x1 + 40) \(c1) \(x2 - 40) \(c2) \(x2 - 2) \(y2)\"/>"
                words.append(
                    "<li><code>\(text(service.name))</code> waits for <code>\(text(edge.service))</code> "
                        + "(\(text(edge.condition))\(edge.required ? "" : ", optional"))\(blocked ? " — <strong>blocked</strong>" : "")</li>"
                )
            }
        }
        var nodes = ""
        for service in run.services {
            guard let at = position[service.name] else { continue }
            let name = text(service.name, limit: 18)
            nodes +=
                "<g class=\"node \(Self.stateClass(service.state))\" data-service=\"\(text(service.name))\"><title>\(text(service.name)): \(text(service.state))</title>"
                + "<rect x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(nodeWidth)\" height=\"\(nodeHeight)\" rx=\"4\"/>"
                + "<text x=\"\(at.x + 8)\" y=\"\(at.y + 17)\">\(name)</text></g>"
        }
        let summary = "\(run.services.count) services in \(levels.count) level\(levels.count == 1 ? "" : "s"), \(words.count) dependencies"
        return """
            <section id="graph"><h2>Dependencies</h2>
            <div class="scroll"><svg role="img" aria-labelledby="graph-title graph-desc" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" xmlns="http://www.w3.org/2000/svg">
            <title id="graph-title">Dependency graph</title><desc id="graph-desc">\(summary); the list below says each one.</desc>
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">\
            <path d="M0 0 L10 5 L0 10 z" fill="#57606a"/></marker></defs>
            \(edges)\(nodes)</svg></div>
            <p class="legend">Columns are dependency levels, left first. Solid: service_healthy; thin: service_started; dotted: \
            service_completed_successfully; dashed: optional (required: false); red: what a failure blocked.</p>
            \(words.isEmpty ? "<p class=\"muted\">No service depends on another.</p>" : "<ul class=\"edges\">\(words.joined())</ul>")
            </section>
            """
    }
}
