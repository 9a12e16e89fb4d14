import Foundation

/// Undo as you go: each step of a launch that changes the world pushes how to take it back, and a failure (or
/// Ctrl-C) unwinds the steps last in, first out. A launch pushes two: once it has seen what ran before, "put back
/// what a relaunch replaces"; just before Compose creates anything, "remove what this run created". Unwinding
/// therefore removes this run's containers and networks first (named volumes are data and stay), then restores the
/// services a relaunch had replaced from the last good state. Every failure path of a launch unwinds through here.
struct LaunchUndo: Sendable {
    enum Step: Sendable {
        /// Everything of the project not in the snapshot is this run's: removed, dependents first.
        case removeCreated(Rollback, before: ProjectSnapshot, levels: [[String]])
        /// Services that ran before and run no more are recreated from the last good state and waited for.
        case restoreReplaced(before: ProjectSnapshot, lastGood: LastGood)
    }

    /// What unwinding did: the rollback (nil when nothing had been created yet) and the restore (nil when nothing
    /// was lost), each with its phase for the run's timeline.
    struct Unwound: Sendable {
        var rollback: RollbackReport?
        var rollbackPhase: LaunchResult.Phase?
        var restore: RestoreReport?
        var restorePhase: LaunchResult.Phase?
    }

    private(set) var steps: [Step] = []

    mutating func push(_ step: Step) { steps.append(step) }

    /// Runs every step, newest first, and tells `report` as it goes. After Ctrl-C, Compose may still have been
    /// creating when it was stopped (a request the engine finishes after Compose is gone): the removal then makes
    /// a second pass a second later. Neither the waits nor the restore look at cancellation: that is what the first
    /// Ctrl-C asks for (a second one exits at once).
    /// `createRaced`: the create phase did not end cleanly (Compose failed, was stopped, or the run was interrupted):
    /// requests Compose sent may still land after it is gone, so the removal lists again a second later, until a
    /// pass finds nothing new (three at most).
    func unwind(plan: LaunchPlan, profile: Profile, redact: Redactor, report: ProgressReporter, createRaced: Bool = false) async -> Unwound
    {
        var unwound = Unwound()
        for step in steps.reversed() {
            switch step {
            case .removeCreated(let rollback, let before, let levels):
                let clock = ContinuousClock(), began = clock.now
                let undone = await rollback.undoSettling(since: before, levels: levels, passes: createRaced || Task.isCancelled ? 3 : 1)
                report.rolledBack(undone)
                unwound.rollback = undone
                unwound.rollbackPhase = .init(name: "rollback", seconds: began.duration(to: clock.now).seconds, status: "ok", detail: nil)
            case .restoreReplaced(let before, let lastGood):
                if let restored = await Self.restoreLost(
                    before: before, lastGood: lastGood, plan: plan, profile: profile, redact: redact, report: report)
                {
                    unwound.restore = restored.report
                    unwound.restorePhase = restored.phase
                }
            }
        }
        return unwound
    }
}

extension LaunchUndo {
    /// How long the removal may take after the engine was lost, in all.
    static let afterLossLimit: Duration = .seconds(15)

    /// After the engine was lost: the removal is tried only when the engine answers a ping now, and given
    /// `afterLossLimit` in all; the restore is not tried (a relaunch once the engine is back does it, from the same last
    /// good state). Nil when nothing was tried or the removal did not finish: then nothing is claimed.
    /// `createRaced`: lost while Compose was creating, so the removal lists again until a pass finds nothing new.
    func unwindAfterLoss(report: ProgressReporter, limit: Duration = afterLossLimit, createRaced: Bool = false) async -> RollbackReport? {
        for case .removeCreated(let rollback, let before, let levels) in steps.reversed() {
            guard await EngineHeartbeat.beat(rollback.client) == .answered else { return nil }
            guard
                let undone = await within(
                    limit, { await rollback.undoSettling(since: before, levels: levels, passes: createRaced ? 3 : 1) })
            else { return nil }
            report.rolledBack(undone)
            return undone
        }
        return nil
    }

    /// Puts back the services that ran before this launch and run no more (a relaunch recreated them, then failed or
    /// was interrupted) from the last good state, and waits until they are ready. Runs to the end after Ctrl-C too.
    /// Nil when nothing was lost.
    static func restoreLost(
        before: ProjectSnapshot, lastGood: LastGood, plan: LaunchPlan, profile: Profile, redact: Redactor, report: ProgressReporter
    ) async -> (report: RestoreReport, phase: LaunchResult.Phase)? {
        let ranBefore = before.runningByService.filter { !$0.value.isEmpty }.keys.sorted()
        guard !ranBefore.isEmpty else { return nil }  // a first launch replaced nothing
        return await ignoringCancellation {
            let clock = ContinuousClock(), began = clock.now
            let restored: RestoreReport
            do {
                let lost = try await lastGood.lostServices(before: before)
                guard !lost.isEmpty else { return nil }
                report.phaseBegan("restore")
                restored = await lastGood.restore(lost, plan: plan, profile: profile, redact: redact) { update in
                    report.serviceChanged(update)
                }
            } catch {
                // Nothing is restored blind: the summary says the stack may not be as it was, and why.
                report.phaseBegan("restore")
                let reason = redact((error as? any LaunchFailure)?.summary ?? "\(error)")
                restored = RestoreReport(
                    attempted: ranBefore, problem: "the engine did not list the project's containers (\(reason))", unknown: true)
            }
            let seconds = began.duration(to: clock.now).seconds
            let status = restored.complete ? "ok" : "failed"
            report.phaseEnded("restore", seconds: seconds, status: status, detail: restored.line)
            return (restored, LaunchResult.Phase(name: "restore", seconds: seconds, status: status, detail: restored.line))
        }
    }
}
