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
    private static let groups = Mutex<Set<pid_t>>([])

    static func add(_ group: pid_t) { _ = groups.withLock { $0.insert(group) } }
    static func remove(_ group: pid_t) { _ = groups.withLock { $0.remove(group) } }

    /// The groups registered now (for tests).
    static var running: Set<pid_t> { groups.withLock { $0 } }

    /// SIGTERM to every group, up to `grace` for them to go, then SIGKILL to whatever is left. Blocks the
    /// calling thread (a signal handler's queue, just before the process exits).
    public static func stopAll(grace: Duration = .seconds(2)) {
        let all = groups.withLock { $0 }
        guard !all.isEmpty else { return }
        for group in all { kill(-group, SIGTERM) }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline, all.contains(where: { kill(-$0, 0) == 0 }) {
            usleep(20_000)
        }
        for group in all { kill(-group, SIGKILL) }
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
        ChildProcesses.add(pid)
    }

    /// Unregisters the group; when the run was cancelled or timed out, kills what is left of it first.
    func finished(cancelled: Bool) {
        guard let pid = group.withLock({ $0 }) else { return }
        if cancelled { ChildProcesses.killRemnants(of: pid) }
        ChildProcesses.remove(pid)
    }
}
