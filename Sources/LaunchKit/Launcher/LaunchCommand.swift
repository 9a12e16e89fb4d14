import Foundation

/// Glue between the `up` command and the launcher: lock, circuit breaker, engine connection, Ctrl-C,
/// progress, summary and the run report.
public enum LaunchCommand {
    public static func run(
        _ context: LaunchContext, layout: ProjectLayout, profile: Profile, options: LaunchOptions,
        holding heldLock: ProjectLock? = nil, artifacts: RunArtifacts = .init()
    ) async throws -> LaunchResult {
        // Ctrl-C from here on stops the launch and rolls back; before the launch task exists it is remembered.
        let slot = TaskSlot()
        let interrupts = InterruptHandler(console: context.console) { slot.cancel() }
        defer { interrupts.cancel() }
        let lock =
            try heldLock
            ?? ProjectLock(
                context: context, root: layout.root, project: profile.compose.project, environment: profile.name,
                command: "launch \(profile.name)")
        defer { if heldLock == nil { lock.release() } }  // idempotent: released early once the run is recorded
        if let stale = lock.clearedStale {
            context.console.say("note: cleared a stale lock left by pid \(stale.pid) (`\(stale.command)`), which is no longer running")
        }
        let store = RunStore(layout: layout)
        let breaker = CircuitBreaker()
        if !options.force {
            try breaker.check(environment: profile.name, history: store.list(environment: profile.name, limit: 10), now: context.now())
        }
        let client = EngineClient(context: context)
        let swarm = (options.engine ?? profile.engine) == .swarm
        let launcher = Self.launcher(
            context, layout: layout, client: client, profile: profile, options: options, swarm: swarm, breaker: breaker, store: store)
        let report = ProgressReporter(console: context.console)
        let startedAt = context.now()
        let swarmLauncher = SwarmLauncher(context: context, layout: layout, client: client, preflight: launcher.preflight)
        let task = Task { [launcher] in
            swarm
                ? try await swarmLauncher.launch(profile, options: options, report: report)
                : try await launcher.launch(profile, options: options, report: report)
        }
        slot.attach { task.cancel() }
        let result: LaunchResult
        do {
            result = try await task.value
        } catch  where task.isCancelled {
            // Whatever the interrupted phase threw, this was Ctrl-C: not a failure for the breaker to count.
            throw Interrupted()
        } catch let failure as any LaunchFailure where Self.isRecorded(failure) {
            let recorded = record(
                failure, profile: profile, layout: layout, startedAt: startedAt, context: context, store: store,
                fingerprint: (failure as? CreateFailure)?.fingerprint)
            // The run is over: Ctrl-C during the export must not announce a rollback, and nobody waits on the lock.
            interrupts.cancel()
            if heldLock == nil { lock.release() }
            await leave(artifacts, recorded, profile: profile, layout: layout, context: context, store: store)
            throw failure
        }
        LaunchSummary.render(result, console: context.console).forEach(context.console.say)
        let id = save(result, store: store, console: context.console)
        if let id { context.console.say(context.console.styled("report: " + context.console.command("report \(id)"), .dim)) }
        interrupts.cancel()
        if heldLock == nil { lock.release() }
        await leave(artifacts, (result, id), profile: profile, layout: layout, context: context, store: store)
        return result
    }

    /// The run's page, trace file and OTLP export, made from the run as recorded (also when the report could not
    /// be saved: from the result itself).
    static func leave(
        _ artifacts: RunArtifacts, _ run: (result: LaunchResult, id: String?), profile: Profile, layout: ProjectLayout,
        context: LaunchContext, store: RunStore
    ) async {
        guard artifacts.htmlPath != nil || artifacts.tracePath != nil || OTLPExport(environment: context.environment) != nil,
            let recorded = try? RunStore.recorded(run.result, id: run.id ?? RunStore.id(run.result))
        else { return }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let history = store.list(environment: profile.name)
        for line in await artifacts.write(recorded, history: history, context: context, redact: redact) {
            context.console.say(line.hasPrefix("warning") ? line : context.console.styled(line, .dim))
        }
    }

    /// The compose launcher, with preflight (its warnings said as they come) and, unless `--force`, the breaker asked
    /// once the configuration's fingerprint is known. The swarm launcher borrows its preflight.
    static func launcher(
        _ context: LaunchContext, layout: ProjectLayout, client: EngineClient, profile: Profile, options: LaunchOptions, swarm: Bool,
        breaker: CircuitBreaker, store: RunStore
    ) -> Launcher {
        let checks = Preflight(context: context, layout: layout)
        let preflightOptions = PreflightOptions(
            network: options.networkChecks, envFileWillBeCreated: true, gpuSmoke: options.gpuSmoke,
            gpusOnThisMachine: !swarm)
        var launcher = Launcher(context: context, layout: layout, client: client) { plan in
            let report = await checks.run(plan, probe: plan.gpuProbe, options: preflightOptions)
            for check in report.checks where check.status == .warn {
                context.console.say(context.console.styled("    warning", .yellow) + " \(check.id): \(check.evidence)")
            }
            return report.failures.map { check in
                "\(check.id): \(check.evidence)" + (check.remediation.map { "\n      fix: \($0)" } ?? "")
            }
        }
        if !options.force {
            // Only failures of this same configuration count: a changed compose file or profile gets through.
            launcher.admit = { fingerprint in
                try breaker.check(
                    environment: profile.name, history: store.list(environment: profile.name, limit: 10), now: context.now(),
                    fingerprint: fingerprint)
            }
        }
        return launcher
    }

    /// The failures that end a launch before it has a result of its own, yet are runs the breaker counts.
    static func isRecorded(_ failure: any LaunchFailure) -> Bool {
        failure is PhaseFailure || failure is SwarmDeployFailure || failure is CreateFailure || failure is RestoredFailure
            || failure is EngineLost
    }

    /// A launch that stopped before any service started is still a run: the breaker counts it.
    @discardableResult
    static func record(
        _ failure: any LaunchFailure, profile: Profile, layout: ProjectLayout, startedAt: Date, context: LaunchContext, store: RunStore,
        fingerprint: String? = nil
    ) -> (result: LaunchResult, id: String?) {
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let outcome: LaunchResult.Outcome =
            switch failure.exitCode {
            case .preflightFailed: .preflightFailed
            case .engineLost: .engineLost
            default: .failed
            }
        let result = LaunchResult(
            environment: profile.name, project: profile.compose.project, outcome: outcome, exitCode: failure.exitCode.rawValue,
            startedAt: startedAt, seconds: context.now().timeIntervalSince(startedAt), phases: [], services: [], degraded: [],
            urls: profile.urls, rollback: nil, error: redact(([failure.summary] + failure.evidence).joined(separator: "\n")),
            configFingerprint: fingerprint,
            restore: (failure as? CreateFailure)?.restore ?? (failure as? RestoredFailure)?.restore,
            engineLost: (failure as? EngineLost)?.silence)
        return (result, save(result, store: store, console: context.console))
    }

    /// Saves the run report. A `.launch/` that cannot take it (full, read-only, a file where the directory should be)
    /// is said, with what goes without it: the run stays what it was.
    static func save(_ result: LaunchResult, store: RunStore, console: Console) -> String? {
        do {
            return try store.save(result)
        } catch {
            let why = (error as? any LaunchFailure)?.summary ?? "\(error)"
            console.say(
                console.styled("warning", .yellow)
                    + ": this run's report was not saved (\(why)); `launch report`, `launch history`, learned deadlines and the circuit breaker go without it"
            )
            return nil
        }
    }
}

/// Ctrl-C before anything was created.
public struct Interrupted: LaunchFailure {
    public var summary: String { "interrupted before anything was started" }
    public var hint: String? { nil }
    public var exitCode: ExitStatus { .interrupted }
}
