import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C during a launch: the first SIGINT (or SIGTERM) asks the launch to stop and roll back (remove what it
/// created, put back what it replaced); a second one stops waiting for that and exits 130 at once.
public final class InterruptHandler: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init(console: Console, onFirst: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "launch.signals")
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            sources.append(source)
        }
        let handler: @Sendable () -> Void = { [weak self] in
            guard let self else { return }
            let seen = self.lock.withLock { () -> Int in
                self.count += 1
                return self.count
            }
            if seen == 1 {
                console.say("\ninterrupted: stopping, rolling back what this run created and restoring what it replaced (Ctrl-C again to exit now)")
                onFirst()
            } else {
                console.say("exiting without waiting for the rollback: `launch status <environment>` shows what is left, `launch down <environment>` removes it")
                _exit(130)
            }
        }
        for source in sources {
            source.setEventHandler(handler: handler)
            source.resume()
        }
        self.sourcesStorage = sources
    }

    private var sourcesStorage: [any DispatchSourceSignal] = []

    /// Restores default signal handling.
    public func cancel() {
        for source in sourcesStorage { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
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
