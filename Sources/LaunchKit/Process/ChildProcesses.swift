import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The process groups of the programs launch is running right now. Each child (`docker`, `docker compose`,
/// `nvidia-smi`) starts in a group of its own, so stopping it also stops what it started: the Compose plugin the
/// `docker` CLI runs outlives a killed CLI otherwise, and a `docker compose config` that is still parsing ignores
/// SIGTERM. When launch itself is told to stop, `stopAll` makes sure nothing it started keeps running after it.
public enum ChildProcesses {
    private struct State {
        var groups: Set<pid_t> = []
        /// Set by `stopAll`: a child that starts from now on is stopped at once (the code that started it may not
        /// know yet that launch is exiting).
        var stopping = false
    }

    private static let state = Mutex(State())

    /// Registers a child's group; false when launch is stopping (the caller kills it).
    static func add(_ group: pid_t) -> Bool {
        state.withLock { state in
            guard !state.stopping else { return false }
            state.groups.insert(group)
            return true
        }
    }

    static func remove(_ group: pid_t) { _ = state.withLock { $0.groups.remove(group) } }

    /// The groups registered now (for tests).
    static var running: Set<pid_t> { state.withLock { $0.groups } }

    /// Whether `stopAll` has begun: launch is on its way out.
    public static var isStopping: Bool { state.withLock { $0.stopping } }

    /// SIGTERM to every group, up to `grace` for them to go, then SIGKILL to those still there. Blocks the calling
    /// thread (the signal queue, just before the process exits); from its first line on, new children are
    /// stopped as they start.
    public static func stopAll(grace: Duration = .seconds(2)) {
        let first = state.withLock { state -> Set<pid_t> in
            state.stopping = true
            return state.groups
        }
        for group in first { kill(-group, SIGTERM) }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline, running.contains(where: { kill(-$0, 0) == 0 }) {
            usleep(20_000)
        }
        // Only groups still registered and still there: one that emptied meanwhile may have a new owner.
        for group in running where kill(-group, 0) == 0 { kill(-group, SIGKILL) }
    }

    /// SIGKILL to what is left of one child's group after the child itself was stopped and reaped (its
    /// grandchildren, like the Compose plugin, are not waited for by anyone).
    static func killRemnants(of group: pid_t) {
        kill(-group, SIGKILL)
    }
}

/// Where `SubprocessRunner` keeps the process group of the child it is running, from the moment it exists.
final class ChildGroup: Sendable {
    private let group = Mutex<pid_t?>(nil)

    func started(_ pid: pid_t) {
        group.withLock { $0 = pid }
        if !ChildProcesses.add(pid) { kill(-pid, SIGKILL) }
    }

    /// Unregisters the group; when the run was cancelled or timed out, kills what is left of it first.
    func finished(cancelled: Bool) {
        guard let pid = group.withLock({ $0 }) else { return }
        if cancelled { ChildProcesses.killRemnants(of: pid) }
        ChildProcesses.remove(pid)
    }
}
