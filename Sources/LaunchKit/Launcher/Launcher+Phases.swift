import Foundation

extension Launcher {
    /// What the phases before anything is created leave: the plan (read again when the env file changed), the
    /// redactor, Compose's config hashes and the configuration's fingerprint.
    struct Prepared: Sendable {
        var plan: LaunchPlan
        var redact: Redactor
        var hashes: [String: String]?
        var fingerprint: String
        /// The digests of the files Compose reads, when the plan was made (`checkPlanned` compares them after create).
        var inputs: [String: String]
    }

    /// plan → preflight → env → (the breaker) → cleanup → images. Nothing here changes the stack; a failure is
    /// thrown with nothing to undo.
    func prepare(_ profile: Profile, options: LaunchOptions, timeline: Timeline, report: ProgressReporter) async throws -> Prepared {
        let planner = Planner(context: context, layout: layout)
        var plan = try await timeline.measure("plan", report: report) {
            let plan = try await planner.plan(profile)
            return (plan, "\(plan.services.count) services, overlay \(plan.overlay.choice.rawValue)")
        }
        // What Compose will read, as the plan read it: a file changed from here on fails the run after create.
        var inputs = Self.inputDigests(plan.composeCommand)
        try await Self.preflightPhase(plan, preflight: preflight, timeline: timeline, report: report)
        try Task.checkCancellation()
        let envOutcome = try await Self.envPhase(profile, context: context, layout: layout, timeline: timeline, report: report)
        if envOutcome.changed {
            // Interpolation may depend on what was just generated: read the stack again with the env file.
            plan = try await planner.plan(profile, probe: plan.gpuProbe, compose: .some(plan.composeDetection))
            inputs = Self.inputDigests(plan.composeCommand)
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        try Task.checkCancellation()
        let hashes = await LastGood.configHashes(plan.composeCommand, runner: context.runner)
        let fingerprint = LastGood.fingerprint(hashes: hashes, stack: plan.stack, profileFile: layout.path(profile.sourceFile))
        try admit(fingerprint)
        // From here the engine is asked for work: a lost engine is said in seconds, not after a request's deadline.
        if options.cleanup {
            try await timeline.measure("cleanup", report: report) {
                try await EngineHeartbeat.guarding(client, phase: "cleanup") { [self, plan] in
                    await cleanup(profile.cleanup, project: plan.project)
                }
            }
        } else {
            timeline.skip("cleanup", "--no-cleanup", report: report)
        }
        try Task.checkCancellation()
        try await timeline.measure("images", report: report) {
            try await EngineHeartbeat.guarding(client, phase: "images") { [self, plan] in
                try await prepareImages(plan, options: options, report: report, redact: redact)
            }
        }
        try Task.checkCancellation()
        return Prepared(plan: plan, redact: redact, hashes: hashes, fingerprint: fingerprint, inputs: inputs)
    }

    /// What the start phase leaves: every service's result, the run's outcome, its phase, and what was read
    /// beside it (the host's load, Compose's model for the last good state).
    struct Started: Sendable {
        var run: Orchestrator.Outcome
        var services: [LaunchResult.ServiceResult]
        var outcome: LaunchResult.Outcome
        var phase: LaunchResult.Phase
        var hostPressure: HostPressure?
        var model: Task<ProcessOutput?, Never>
    }

    /// Starts each service the moment its dependencies hold and waits with its readiness rule; then the results,
    /// each failure diagnosed.
    func start(
        _ plan: LaunchPlan, stack: ComposeStack, graph: DependencyGraph, created: [String: [ContainerDetails]],
        events: (stream: AsyncThrowingStream<EngineEvent, any Error>, since: Int64), profile: Profile, redact: Redactor,
        timeline: Timeline, report: ProgressReporter
    ) async -> Started {
        let began = timeline.clock.now
        report.phaseBegan("start")
        var orchestrator = Orchestrator(
            client: client, project: plan.project, stack: stack, graph: graph, profile: profile,
            onChange: { update in report.serviceChanged(update) })
        orchestrator.redact = redact
        let history = ReadinessHistory(store: RunStore(layout: layout), environment: profile.name)
        orchestrator.history = history
        // The host's own load, read beside the start (local engines only: a remote engine's host is not this one).
        let hostSampler = client.endpoint.isLocal ? Task { await HostPressure.sample() } : nil
        // The model the last good state records does not change while services start: ask Compose for it now,
        // so a success is reported the moment the last service is ready, not a Compose process later.
        let composeCommand = plan.composeCommand, runner = context.runner
        let model = Task { try? await runner.run(composeCommand.config()) }
        let run = await orchestrator.run(containers: created, events: events.stream, since: events.since)
        hostSampler?.cancel()
        let hostPressure = await hostSampler?.value
        let seconds = began.duration(to: timeline.clock.now).seconds
        guard run.engineLost == nil else {
            // Nothing can be read of the services now: no diagnosis is asked of an engine that does not answer.
            report.phaseEnded("start", seconds: seconds, status: "failed", detail: "the engine stopped answering")
            return Started(
                run: run, services: [], outcome: .engineLost,
                phase: .init(
                    name: "start", seconds: seconds, status: "engine_lost", detail: nil, began: timeline.origin.duration(to: began).seconds),
                hostPressure: hostPressure, model: model)
        }

        let diagnostics = Diagnostics(
            client: client, redact: redact, environment: profile.name, project: plan.project, compose: plan.composeCommand)
        var services: [LaunchResult.ServiceResult] = []
        for service in run.services {
            services.append(await result(service, diagnosis: await diagnostics.diagnose(service), history: history))
        }
        let outcome = LaunchResult.Outcome(services, interrupted: run.interrupted)
        report.phaseEnded("start", seconds: seconds, status: outcome == .failed || outcome == .interrupted ? "failed" : "ok", detail: nil)
        return Started(
            run: run, services: services, outcome: outcome,
            phase: .init(
                name: "start", seconds: seconds, status: outcome.rawValue, detail: nil, began: timeline.origin.duration(to: began).seconds),
            hostPressure: hostPressure, model: model)
    }

    /// One service's line of the run's result.
    func result(_ run: ServiceRun, diagnosis: Diagnosis?, history: ReadinessHistory) async -> LaunchResult.ServiceResult {
        var blockedBy: String?
        if case .blocked(let by) = run.state { blockedBy = by }
        let ready = run.state == .ready
        return .init(
            name: run.name, serviceClass: run.serviceClass, state: run.state, blockedBy: blockedBy, createdAt: 0,
            // A service that was ready and then failed has no time to ready: it did not end ready.
            startedAt: run.startedAt, readyAt: ready ? run.readyAt : nil, failedAt: run.state == .failed ? run.failedAt : nil,
            secondsToReady: ready ? run.readyAt.flatMap { readyAt in run.startedAt.map { readyAt - $0 } } : nil,
            readiness: ready ? run.readiness : nil, engineStartSeconds: run.engineStartSeconds, retries: run.retries,
            failure: diagnosis, history: history.stats(run.name), judgedRuns: await judgedRuns(run, client: client))
    }
}

extension LaunchResult.Outcome {
    /// How a run ended, from its services: a core service not ready fails it, an optional one degrades it.
    init(_ services: [LaunchResult.ServiceResult], interrupted: Bool) {
        let coreNotReady = services.contains { $0.serviceClass == .core && $0.state != .ready }
        let degraded = services.contains { $0.serviceClass != .core && $0.state != .ready }
        self = interrupted ? .interrupted : (coreNotReady ? .failed : (degraded ? .degraded : .success))
    }
}
