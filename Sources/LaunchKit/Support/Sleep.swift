/// Sleeps for `duration` even when the calling task is cancelled: undoing after Ctrl-C still has to wait for the
/// engine (in a cancelled task `Task.sleep` returns at once). The sleep runs in a task of its own, which does not
/// inherit the caller's cancellation.
func sleepIgnoringCancellation(_ duration: Duration) async {
    await Task { try? await Task.sleep(for: duration) }.value
}
