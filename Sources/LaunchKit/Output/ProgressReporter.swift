import Foundation

/// Tells a person how a launch is going, on stderr. On a terminal: a live board with one line per
/// service (state, elapsed). In CI or a pipe: one plain line per change. Never writes to stdout.
public final class ProgressReporter: @unchecked Sendable {
    let console: Console
    private let lock = NSLock()
    /// Each service's last update and when (on this reporter's clock) it arrived.
    private var rows: [String: (ProgressUpdate, Double)] = [:]
    private var ticker: Task<Void, Never>?
    private var order: [String] = []
    private var boardLines = 0
    private var live = false
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    public init(console: Console) {
        self.console = console
        origin = clock.now
    }

    var elapsed: Double { origin.duration(to: clock.now).seconds }

    static func stamp(_ seconds: Double) -> String { String(format: "%6.2fs", seconds) }

    public func phaseBegan(_ name: String) {
        lock.withLock {
            guard name == "start" && console.isInteractive else { return }
            live = true
            // Waiting services count up on screen, not only when their state changes.
            ticker = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    self?.lock.withLock { if self?.live == true { self?.redraw() } }
                }
            }
        }
    }

    public func phaseEnded(_ name: String, seconds: Double, status: String, detail: String?) {
        lock.withLock {
            if name == "start" { finishBoard() }
            let text =
                "==> \(Text.pad(name, 9)) \(Text.pad(status, 7)) \(String(format: "%.2fs", seconds))" + (detail.map { "  \($0)" } ?? "")
            console.say(console.styled(text, status == "failed" ? .red : .dim))
        }
    }

    public func note(_ text: String) {
        lock.withLock { console.say("    " + text) }
    }

    /// Output of pull/build, shown as it arrives.
    public func passthrough(_ line: String) {
        lock.withLock { console.say("    │ " + line) }
    }

    public func serviceChanged(_ update: ProgressUpdate) {
        lock.withLock {
            if rows[update.service] == nil { order.append(update.service) }
            rows[update.service] = (update, elapsed)
            if live {
                redraw()
            } else {
                console.say(plainLine(update))
            }
        }
    }

    func plainLine(_ update: ProgressUpdate) -> String {
        let state = update.state.description
        let color: Console.Style =
            switch update.state {
            case .ready: .green
            case .failed, .blocked: update.serviceClass == .core ? .red : .yellow
            case .retrying: .yellow
            default: .plain
            }
        var line = "[\(Self.stamp(update.elapsed))] \(Text.pad(update.service, 20)) \(console.styled(Text.pad(state, 10), color))"
        if update.serviceClass != .core { line += " (\(update.serviceClass.rawValue))" }
        if let detail = update.detail { line += "  \(detail)" }
        return line
    }

    /// Rewrites the board in place: cursor up over the previous board, clear, print.
    private func redraw() {
        var text = boardLines > 0 ? "\u{1B}[\(boardLines)A" : ""
        let now = elapsed
        for name in order {
            guard let (update, since) = rows[name] else { continue }
            var line = plainLine(update)
            if !update.state.isTerminal { line += console.styled("  (\(String(format: "%.1fs", now - since)))", .dim) }
            text += "\u{1B}[2K" + line + "\n"
        }
        boardLines = order.count
        console.raw(text)
    }

    private func finishBoard() {
        if live { redraw() }
        live = false
        ticker?.cancel()
        ticker = nil
        boardLines = 0
    }

    public func rolledBack(_ report: RollbackReport) {
        lock.withLock {
            var parts: [String] = []
            if !report.restoredServices.isEmpty {
                parts.append("rolled back \(report.restoredServices.joined(separator: ", ")) to the previous spec (running and healthy)")
            }
            // One "removed …" list, whatever of it there is ("1 networks" alone said nothing).
            func counted(_ count: Int, _ noun: String) -> String? { count == 0 ? nil : "\(count) \(noun)\(count == 1 ? "" : "s")" }
            let removed = [
                counted(report.removedServices.count, "service"), counted(report.removedConfigs.count, "config"),
                counted(report.removedSecrets.count, "secret"), counted(report.removedContainers.count, "container"),
                counted(report.removedNetworks.count, "network"), counted(report.removedVolumes.count, "new volume"),
            ].compactMap { $0 }
            if !removed.isEmpty { parts.append("removed " + removed.joined(separator: ", ")) }
            if !report.stoppedContainers.isEmpty { parts.append("stopped \(counted(report.stoppedContainers.count, "container") ?? "")") }
            if !report.keptVolumes.isEmpty { parts.append("kept existing volumes \(report.keptVolumes.joined(separator: ", "))") }
            if !report.keptNewVolumes.isEmpty {
                let listed = report.keptNewVolumes.map { volume in
                    volume.bytes.map { "\(volume.name) (\(ByteSize(bytes: UInt64($0))))" } ?? volume.name
                }
                parts.append(
                    "kept new volumes \(listed.joined(separator: ", ")) (data: --rollback-volumes or `launch down --volumes` removes them)")
            }
            let summary = parts.isEmpty ? "nothing to undo" : parts.joined(separator: ", ")
            console.say("==> rollback  " + String(format: "%.2fs", report.seconds) + "  " + summary)
            for error in report.errors { console.say("    could not undo: \(error)") }
        }
    }

    public func keptForDebugging(project: String) {
        lock.withLock {
            console.say("==> rollback  skipped (--keep-on-failure): the stack is left as it is for debugging")
            console.say("    inspect: docker compose -p \(project) ps; clean up: launch down <environment>")
        }
    }
}
