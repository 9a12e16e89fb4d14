import Foundation

/// Runs `work` to the end even when the calling task is cancelled: undoing after Ctrl-C still has to wait for the
/// engine (in a cancelled task `Task.sleep` returns at once). The work runs in a task of its own, which does not
/// inherit the caller's cancellation.
func ignoringCancellation<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
    await Task { await work() }.value
}

/// Sleeps for `duration` even when the calling task is cancelled (see `ignoringCancellation`).
func sleepIgnoringCancellation(_ duration: Duration) async {
    await ignoringCancellation { try? await Task.sleep(for: duration) }
}

/// `work`'s value, or nil when it takes longer than `limit` (cancellation of the caller does not shorten it). Past
/// the limit nobody waits for `work`: it goes on in its own task and its value is dropped — for engine requests
/// that cannot be cancelled once sent and carry their own deadlines.
func within<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
    let first = FirstAnswer<T?>()
    return await withCheckedContinuation { continuation in
        first.set(continuation)
        Task { first.resume(await work()) }
        Task {
            try? await Task.sleep(for: limit)
            first.resume(nil)
        }
    }
}

/// Resumes a continuation with the first value offered, ignores the rest.
final class FirstAnswer<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    private var pending: T?
    private var answered = false

    func set(_ continuation: CheckedContinuation<T, Never>) {
        lock.withLock {
            if answered, let pending {
                continuation.resume(returning: pending)
            } else {
                self.continuation = continuation
            }
        }
    }

    func resume(_ value: T) {
        lock.withLock {
            guard !answered else { return }
            answered = true
            if let continuation {
                continuation.resume(returning: value)
                self.continuation = nil
            } else {
                pending = value
            }
        }
    }
}
