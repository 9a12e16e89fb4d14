import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP, for the whole process: installed once at start (`Interrupts.install()`). Without a
/// command of its own handling them, either one stops every program launch started (their whole process groups)
/// and exits 130 at once: nothing launch itself made needs undoing before the first change, and nothing it
/// started keeps running after it.
public enum Interrupts {
    private static let state = Mutex<State>(State())

    private struct State {
        var sources: [any DispatchSourceSignal] = []
        /// The handling of a command that must undo its work first (`InterruptHandler`), while it runs.
        var handler: (@Sendable () -> Void)?
    }

    public static func install() {
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            let queue = DispatchQueue(label: "launch.signals")
            // A hangup (the ssh session or terminal went away) too: the children are not in the terminal's process
            // group, so nothing else would stop them. Unless launch was started ignoring it (`nohup`).
            var signals = [SIGINT, SIGTERM]
            let previous = signal(SIGHUP, SIG_IGN)
            if unsafeBitCast(previous, to: Int.self) != unsafeBitCast(SIG_IGN, to: Int.self) {
                signals.append(SIGHUP)
            }
            for signalNumber in signals {
                // Ignored as a signal and delivered as an event instead; children get the default back (the
                // runner spawns them with default dispositions).
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { received() }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    static func received() {
        if let handler = state.withLock({ $0.handler }) {
            handler()
        } else {
            exitNow()
        }
    }

    /// Stops every child's group and exits 130.
    public static func exitNow() -> Never {
        ChildProcesses.stopAll()
        _exit(130)
    }

    /// Called by the program on its way out: once a signal is stopping launch, the exit is the signal's (130), not
    /// whatever the interrupted work made of its children dying; this waits for `exitNow` to end the process.
    public static func holdIfStopping() {
        while ChildProcesses.isStopping { usleep(100_000) }
    }

    static func route(to handler: (@Sendable () -> Void)?) {
        state.withLock { $0.handler = handler }
    }
}

/// Ctrl-C during a launch: the first SIGINT (or SIGTERM) asks the launch to stop and roll back (remove what it
/// created, put back what it replaced); a second one stops waiting for that, stops whatever launch started, and
/// exits 130.
public final class InterruptHandler: Sendable {
    private let count = Mutex(0)

    /// `first`/`second`: what is said on the first and second signal (by default, a launch's rollback).
    public init(
        console: Console,
        first: String? =
            "\ninterrupted: stopping, rolling back what this run created and restoring what it replaced (Ctrl-C again to exit now)",
        second: String =
            "exiting without waiting for the rollback: `launch status <environment>` shows what is left, `launch down <environment>` removes it",
        onFirst: @escaping @Sendable () -> Void
    ) {
        Interrupts.install()
        Interrupts.route { [weak self] in
            // A handler dropped without `cancel()` must not swallow Ctrl-C.
            guard let self else { Interrupts.exitNow() }
            let seen = self.count.withLock { count -> Int in
                count += 1
                return count
            }
            if seen == 1 {
                if let first { console.say(first) }
                onFirst()
            } else {
                console.say(second)
                Interrupts.exitNow()
            }
        }
    }

    /// Back to the process-wide handling: the next signal stops launch's children and exits 130.
    public func cancel() {
        Interrupts.route(to: nil)
    }
}

/// Where Ctrl-C finds what to cancel: a signal that arrives before the work exists is kept and applied the
/// moment it is attached, so an early Ctrl-C is never lost.
public final class TaskSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var canceller: (@Sendable () -> Void)?

    public init() {}

    public func attach(_ cancel: @escaping @Sendable () -> Void) {
        let already = lock.withLock { () -> Bool in
            canceller = cancel
            return cancelled
        }
        if already { cancel() }
    }

    public func cancel() {
        let action = lock.withLock { () -> (@Sendable () -> Void)? in
            cancelled = true
            return canceller
        }
        action?()
    }
}

extension InterruptHandler {
    /// Runs `work` so that the first SIGINT/SIGTERM/SIGHUP cancels it (it ends at its next step and says what it did)
    /// and a second one exits at once: for commands whose work is a series of steps (`down`, `first-run --reset`).
    public static func stoppable<T: Sendable>(
        console: Console, what: String, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let slot = TaskSlot()
        let handler = InterruptHandler(
            console: console, first: "\ninterrupted: stopping \(what) after the step it is on (Ctrl-C again to exit now)",
            second: "exiting now: `launch status <environment>` shows what is left"
        ) { slot.cancel() }
        defer { handler.cancel() }
        let task = Task { try await work() }
        slot.attach { task.cancel() }
        return try await task.value
    }
}
