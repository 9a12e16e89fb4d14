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
