import Foundation

/// `launch <env> --engine swarm`: the same plan, env file and readiness rules as a compose launch, on a swarm.
/// Docker converts the compose model (`docker stack deploy`, every service held at 0); `SwarmRollout` decides
/// what to scale up when; this driver performs its actions through the Engine API and polls the tasks.
public struct SwarmLauncher: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let client: EngineClient
    public var preflight: @Sendable (LaunchPlan) async -> [String]
    /// How often scaled-up services' tasks are read.
    public var pollInterval: Duration = .milliseconds(250)
    /// Node ids to hostnames, read from the swarm when a task names a node not seen yet.
    let nodeNames = SwarmNodeNames()

    public init(
        context: LaunchContext, layout: ProjectLayout, client: EngineClient,
        preflight: @escaping @Sendable (LaunchPlan) async -> [String]
    ) {
        self.context = context
        self.layout = layout
        self.client = client
        self.preflight = preflight
    }

    /// The swarm service of a compose service: the stack name is the profile's compose project.
    static func serviceName(_ stack: String, _ service: String) -> String { "\(stack)_\(service)" }

    /// What the phases before the stack is deployed leave.
    struct Prepared: Sendable {
        var plan: LaunchPlan
        var redact: Redactor
        var nodes: [SwarmNode]?
        var jobs: Set<String>
        /// The engines of the nodes launch can reach (its own, and contexts named after nodes), by hostname.
        var engines: [String: EngineClient] = [:]
    }

    /// The deployment as it stands before this run: what an undo goes back to, and whether this run deploys or updates.
    struct Before: Sendable {
        var stack: SwarmStack
        var previous: [SwarmService]
        var tasks: Set<String>
        var mode: SwarmRollout.Mode { previous.isEmpty ? .deploy : .update }
    }

    /// plan → swarm checks → preflight → env → convert → deploy → start (scale in dependency order, or watch the
    /// update roll) → results; a core failure or Ctrl-C undoes what the run did.
    public func launch(_ profile: Profile, options: LaunchOptions, report: ProgressReporter) async throws -> LaunchResult {
        let timeline = Launcher.Timeline()
        let startedAt = context.now()
        let prepared = try await prepare(profile, timeline: timeline, report: report)
        let plan = prepared.plan, stack = plan.project
        // What runs now: a stack already deployed is updated (rolling, rolled back on failure), a new one is
        // deployed held at 0 and scaled up in dependency order.
        let (snapshot, previous) = try await SwarmStack.snapshot(client: client, stack: stack)
        let before = Before(
            stack: snapshot, previous: previous,
            tasks: previous.isEmpty ? [] : Set(try await client.listTasks(services: previous.map(\.id)).map(\.id)))
        let monitors = Self.monitors(plan.stack, policy: profile.health)
        let stackFiles = try await convert(prepared, mode: before.mode, monitors: monitors, timeline: timeline, report: report)
        try Task.checkCancellation()
        let deployed = try await deploy(stackFiles.first, prepared: prepared, before: before, timeline: timeline, report: report)
        let services = rolloutServices(
            prepared, profile: profile, before: before, deployed: deployed, monitors: monitors, retries: stackFiles.retries)
        let startBegan = timeline.clock.now
        report.phaseBegan("start")
        let driven = await drive(
            SwarmRollout(services: services, mode: before.mode), stack: stack, before: before, redact: prepared.redact, report: report,
            engines: prepared.engines,
            second: stackFiles.afterJobs.map { SecondDeploy(write: $0, model: plan.stack, jobs: prepared.jobs) })
        let startSeconds = startBegan.duration(to: timeline.clock.now).seconds
        var results: [LaunchResult.ServiceResult] = []
        for service in services {
            results.append(
                await result(
                    service, driven, stack: stack, redact: prepared.redact, environment: profile.name, before: before,
                    engines: prepared.engines))
        }
        let outcome = LaunchResult.Outcome(results, interrupted: driven.interrupted)
        report.phaseEnded(
            "start", seconds: startSeconds, status: outcome == .failed || outcome == .interrupted ? "failed" : "ok", detail: nil)
        var phases =
            timeline.all + [
                .init(
                    name: "start", seconds: startSeconds, status: outcome.rawValue, detail: nil,
                    began: timeline.origin.duration(to: startBegan).seconds)
            ]
        var rollback: RollbackReport?
        if outcome == .failed && options.keepOnFailure {
            report.keptForDebugging(project: stack)
        } else if outcome == .failed || outcome == .interrupted {
            let undone = await undo(stack, before: before)
            phases += timeline.endingNow([
                .init(name: "rollback", seconds: undone.seconds, status: undone.errors.isEmpty ? "ok" : "failed", detail: nil)
            ])
            report.rolledBack(undone)
            rollback = undone
        }
        return LaunchResult(
            environment: profile.name, project: stack, outcome: outcome, exitCode: ExitStatus(outcome).rawValue, startedAt: startedAt,
            seconds: timeline.elapsed, phases: phases, services: results,
            degraded: results.filter { $0.serviceClass != .core && $0.state != .ready }.map(\.name), urls: profile.urls, rollback: rollback,
            error: nil,
            engine: .init(
                endpoint: client.endpoint.description + " (swarm)", apiVersion: (try? await client.apiVersion())?.description,
                eventStreamReconnects: 0)
        )
        .describing(plan, graph: plan.graph)
    }

    /// plan (the overlay from the nodes' GPUs) → the swarm's own checks → preflight → env.
    func prepare(_ profile: Profile, timeline: Launcher.Timeline, report: ProgressReporter) async throws -> Prepared {
        let client = self.client
        let planner = Planner(context: context, layout: layout)
        // Read once, so the overlay (the nodes' GPUs, not this machine's), the swarm checks and what `count: all`
        // means all judge the same swarm.
        let nodes = try? await client.listNodes()
        let overlay = OverlayDecision.decide(profile.gpu, swarmNodes: nodes)
        var plan = try await timeline.measure("plan", report: report) {
            let plan = try await planner.plan(profile, overlay: overlay)
            return (plan, "\(plan.services.count) services, stack \(plan.project), overlay \(plan.overlay.choice.rawValue)")
        }
        let stack = plan.project
        // What is known of the secrets so far (the env file as it is, the environment): the checks name images.
        let known = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let engines = try await timeline.measure("swarm", report: report) {
            var engines: [String: EngineClient] = [:]
            if let nodes { engines = await SwarmNodeEngines.resolve(nodes: nodes, client: client) }
            let checks =
                await SwarmChecks.run(client: client, stack: plan.stack, nodes: nodes, engines: engines, redact: known) + [
                    SwarmChecks.overlay(plan.overlay)
                ]
            let failed = checks.filter { $0.status == .fail }
            guard failed.isEmpty else {
                throw PhaseFailure(
                    phase: "swarm", summary: "the swarm cannot run \(stack): nothing was started",
                    evidence: failed.map { "\($0.id): \($0.evidence)" }, hint: failed.first?.remediation)
            }
            for warning in checks where warning.status == .warn {
                report.note("warning \(warning.id): \(warning.evidence)")
            }
            return (engines, checks.first { $0.id == "swarm.nodes" }?.evidence)
        }
        try await Launcher.preflightPhase(plan, preflight: preflight, timeline: timeline, report: report)
        try Task.checkCancellation()
        let envOutcome = try await Launcher.envPhase(profile, context: context, layout: layout, timeline: timeline, report: report)
        if envOutcome.changed {
            plan = try await planner.plan(profile, probe: plan.gpuProbe, compose: .some(plan.composeDetection), overlay: overlay)
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        return Prepared(plan: plan, redact: redact, nodes: nodes, jobs: Planner.jobs(in: plan.stack), engines: engines)
    }

    /// The stack files a launch deploys: the whole stack; for an update with jobs, the first deploy without the
    /// services held for them (`SwarmRollout.heldForJobs`), and the writer of the second, with only the held services
    /// that go (not the jobs: a deploy with a job in its file runs it again; not the others: a deploy resets what
    /// the swarm would roll them back to). And what the swarm does when a task fails (`SwarmStackFile.retries`).
    struct StackFiles: Sendable {
        var full: String
        var jobsFirst: String?
        var afterJobs: (@Sendable (Set<String>) throws -> String)?
        var retries: [String: SwarmStackFile.Retry]
        /// What `deploy` deploys first.
        var first: String { jobsFirst ?? full }
    }

    /// Compose's resolved model as a stack file: held at 0 for a first deploy, rolling for an update (and, when the
    /// update has jobs, the same without what waits for them). Private (it holds the interpolated secrets, like the
    /// env file). Its paths.
    func convert(
        _ prepared: Prepared, mode: SwarmRollout.Mode, monitors: [String: Duration], timeline: Launcher.Timeline, report: ProgressReporter
    )
        async throws -> StackFiles
    {
        let plan = prepared.plan, jobs = prepared.jobs, redact = prepared.redact
        // GPUs by count: `all` is what the best node has.
        let gpuRequests = SwarmGPU.requests(in: plan.stack)
        let nodeMax = gpuRequests.isEmpty ? 0 : SwarmChecks.mostGPUs(on: prepared.nodes ?? [])
        let gpus = gpuRequests.compactMapValues { SwarmGPU.demand($0, nodeMax: nodeMax) }
        let byName = gpuRequests.filter { !SwarmGPU.named($0.value).isEmpty }.keys.sorted()
        if !byName.isEmpty {
            report.note(
                "swarm: \(byName.joined(separator: ", ")) name GPU devices; a swarm hands out \(SwarmChecks.gpuResource) by count, so the node picks which"
            )
        }
        return try await timeline.measure("convert", report: report) {
            let output = try await context.runner.run(plan.composeCommand.configYAML())
            guard output.succeeded else {
                throw PhaseFailure(
                    phase: "convert", summary: "Compose could not resolve the model; nothing was started",
                    evidence: output.stderr.split(whereSeparator: \.isNewline).suffix(10).map { redact(String($0)) },
                    hint: "`\(plan.composeCommand.configYAML().description)` reproduces it")
            }
            return try writeStackFiles(
                resolved: output.stdout, mode: mode, plan: plan, jobs: jobs, monitors: monitors, gpus: gpus)
        }
    }

    /// The files `convert` writes (0600 in a 0700 folder), and the convert phase's detail.
    func writeStackFiles(
        resolved: String, mode: SwarmRollout.Mode, plan: LaunchPlan, jobs: Set<String>, monitors: [String: Duration], gpus: [String: Int]
    ) throws -> (StackFiles, String?) {
        let stack = plan.project
        let retry = SwarmStackFile.Retry(attempts: plan.profile.health.retries, delay: plan.profile.health.backoff)
        let file: String
        var detail: String
        var first: String?
        switch mode {
        case .deploy:
            file = try SwarmStackFile.held(resolvedYAML: resolved, jobs: jobs, gpus: gpus, retry: retry)
            detail = "held at 0: \(plan.stack.services.count - jobs.count) services, \(jobs.count) jobs"
        case .update:
            file = try SwarmStackFile.updating(resolvedYAML: resolved, jobs: jobs, monitors: monitors, gpus: gpus, retry: retry)
            detail = "update of a running stack: rolling, rolled back on failure"
            let held = SwarmRollout.dependOnJobs(
                Dictionary(uniqueKeysWithValues: plan.stack.services.map { ($0.name, $0.dependsOn.map(\.service)) }), jobs: jobs)
            if !held.isEmpty {
                first = try SwarmStackFile.updating(
                    resolvedYAML: resolved, jobs: jobs, monitors: monitors, gpus: gpus, retry: retry, leaving: held)
                detail += "; jobs first, then \(held.sorted().joined(separator: ", "))"
            }
        }
        try FileManager.default.createDirectory(
            atPath: SwarmStackFile.directory(layout), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let all = Set(plan.stack.services.map(\.name)), secondPath = SwarmStackFile.afterJobsPath(layout, stack: stack)
        let second: @Sendable (Set<String>) throws -> String = { going in
            let text = try SwarmStackFile.updating(
                resolvedYAML: resolved, jobs: jobs, monitors: monitors, gpus: gpus, retry: retry, leaving: all.subtracting(going))
            try AtomicFile.write(text, to: secondPath)
            return secondPath
        }
        let files = StackFiles(
            full: SwarmStackFile.path(layout, stack: stack),
            jobsFirst: first.map { _ in SwarmStackFile.jobsFirstPath(layout, stack: stack) },
            afterJobs: first == nil ? nil : second, retries: try SwarmStackFile.retries(stackFile: file, retry: retry))
        try AtomicFile.write(file, to: files.full)
        if let first, let path = files.jobsFirst { try AtomicFile.write(first, to: path) }
        return (files, detail)
    }

    /// Whatever stops the run once the deploy began (a refused deploy, a core failure, Ctrl-C) undoes what it did:
    /// a first deploy is removed (volumes stay), an update is rolled back to the previous specs and waited for.
    /// After Ctrl-C the undo must still wait for the swarm (its sleeps would return at once).
    func undo(_ stack: String, before: Before) async -> RollbackReport {
        await ignoringCancellation {
            before.mode == .deploy
                ? await SwarmStack.undo(client: client, stack: stack, before: before.stack)
                : await restore(stack: stack, before: before.stack, previous: before.previous)
        }
    }

    /// `docker stack deploy`; for an update, the services as the swarm now has them. A refused deploy is undone.
    func deploy(_ stackFile: String, prepared: Prepared, before: Before, timeline: Launcher.Timeline, report: ProgressReporter) async throws
        -> [SwarmService]
    {
        let stack = prepared.plan.project, redact = prepared.redact
        do {
            try await timeline.measure("deploy", report: report) {
                let output = try await context.runner.run(context.docker.stackDeploy(stack: stack, files: [stackFile]))
                guard output.succeeded else {
                    // The CLI may have updated some services before it gave up: they go back too.
                    throw SwarmDeployFailure(
                        evidence: output.stderr.split(whereSeparator: \.isNewline).suffix(15).map { redact(String($0)) })
                }
                return ((), "docker stack deploy \(stack)")
            }
            return before.mode == .update ? try await client.listServices(stack: stack) : []
        } catch {
            report.rolledBack(await undo(stack, before: before))
            throw error
        }
    }

    /// The rollout's view of each service; for an update, those whose tasks the swarm is replacing roll.
    func rolloutServices(
        _ prepared: Prepared, profile: Profile, before: Before, deployed: [SwarmService], monitors: [String: Duration],
        retries: [String: SwarmStackFile.Retry] = [:]
    ) -> [SwarmRollout.Service] {
        let plan = prepared.plan, jobs = prepared.jobs
        let rolling = Self.rolling(before: before, deployed: deployed, stack: plan.stack, project: plan.project, jobs: jobs)
        return plan.stack.services.map { service in
            SwarmRollout.Service(
                name: service.name, serviceClass: profile.services.serviceClass(of: service.name),
                replicas: max(1, service.replicas), isJob: jobs.contains(service.name), hasHealthcheck: service.healthcheck != nil,
                readiness: ReadinessRule(service: service, policy: profile.health, isJob: jobs.contains(service.name), signals: false),
                dependencies: service.dependsOn, isRolling: rolling.contains(service.name),
                updateMonitor: monitors[service.name] ?? .zero, retries: retries[service.name]?.attempts ?? profile.health.retries,
                retryDelay: retries[service.name]?.delay ?? profile.health.backoff)
        }
    }

    /// The services (compose names) whose tasks the swarm replaces after a deploy: their spec changed in what the
    /// tasks run, and they keep tasks running (not jobs).
    static func rolling(before: Before, deployed: [SwarmService], stack: ComposeStack, project: String, jobs: Set<String>) -> Set<String> {
        Set(
            before.previous.compactMap { old -> String? in
                guard let new = deployed.first(where: { $0.id == old.id }), new.keepsTasksRunning,
                    !SwarmService.sameTasks(old.spec, new.spec)
                else { return nil }
                let service = old.composeName(in: project)
                return stack.service(service) != nil && !jobs.contains(service) ? service : nil
            })
    }

    /// An update's second deploy: the writer of its file, and what the rollout needs to judge what it rolls.
    struct SecondDeploy: Sendable {
        var write: @Sendable (Set<String>) throws -> String
        var model: ComposeStack
        var jobs: Set<String>
    }

    /// An update's second deploy, once the jobs completed: a file with only the held services that go, so they roll
    /// over; what the rollout learns of it.
    func deployHeld(
        _ going: Set<String>, _ second: SecondDeploy?, stack: String, before: Before, redact: Redactor, report: ProgressReporter
    ) async -> SwarmRollout.Input {
        guard let second, let file = try? second.write(going) else { return .heldDeployFailed("its stack file could not be written") }
        let output = try? await context.runner.run(context.docker.stackDeploy(stack: stack, files: [file]))
        guard let output, output.succeeded else {
            let words = (output?.stderr ?? "").split(whereSeparator: \.isNewline).suffix(3).map { redact(String($0)) }.joined(
                separator: " ")
            return .heldDeployFailed(words.isEmpty ? "docker stack deploy failed" : words)
        }
        report.note("the jobs completed: docker stack deploy \(stack) again, for \(going.sorted().joined(separator: ", "))")
        let deployed = (try? await client.listServices(stack: stack)) ?? []
        return .heldDeployed(
            rolling: Self.rolling(before: before, deployed: deployed, stack: second.model, project: stack, jobs: second.jobs))
    }

    /// How the start phase ended: the rollout's records, when each scale request went out, and whether Ctrl-C
    /// ended it.
    struct Driven: Sendable {
        var rollout: SwarmRollout
        var scaledAt: [String: Double]
        var interrupted: Bool
    }

    /// Performs the rollout's actions and feeds it the swarm's answers until it finishes or the task is cancelled:
    /// scale requests as it asks, then a poll of every service it is waiting for, every `pollInterval`.
    /// What a line says passes `redact` (a task's error can carry an interpolated image name), as on one machine.
    func drive(
        _ rollout: SwarmRollout, stack: String, before: Before, redact: Redactor, report: ProgressReporter,
        engines: [String: EngineClient] = [:], second: SecondDeploy? = nil
    ) async -> Driven {
        var rollout = rollout
        let clock = ContinuousClock(), began = clock.now
        let seconds = { began.duration(to: clock.now).seconds }
        var scaledAt: [String: Double] = [:]
        var nodeWatch = SwarmNodeWatch()
        var pending = rollout.handle(.begin, now: seconds())
        while true {
            var next: [SwarmRollout.Action] = []
            var finished = false
            for action in pending {
                switch action {
                case .finish:
                    finished = true
                case .deployHeld(let going):
                    let deployed = await deployHeld(going, second, stack: stack, before: before, redact: redact, report: report)
                    next += rollout.handle(deployed, now: seconds())
                case .changed(let name, let state):
                    let serviceClass = rollout.services.first { $0.name == name }?.serviceClass ?? .core
                    let nodes = rollout.records[name]?.nodes ?? [], lost = rollout.records[name]?.lostNodes ?? []
                    let on =
                        (nodes.isEmpty ? "" : " on " + nodes.joined(separator: ", "))
                        + (lost.isEmpty ? "" : " (placed again after node \(lost.joined(separator: ", ")) was lost)")
                    let detail =
                        state == .ready
                        ? rollout.records[name]?.readiness.map { $0 + on }
                        : (state == .failed ? rollout.records[name]?.failure : nil)
                            ?? (state == .retrying ? rollout.retryLine(name) : nil)
                    if state == .failed, case .deadline? = rollout.records[name]?.failureKind,
                        let loss = lost.lazy.compactMap({ nodeWatch.losses[$0] }).first
                    {
                        report.note("\(name): its deadline passed after \(loss)")
                    }
                    report.serviceChanged(
                        ProgressUpdate(
                            service: name, serviceClass: serviceClass, state: state, elapsed: seconds(), detail: detail.map { redact($0) }))
                case .scale(let name, let count):
                    scaledAt[name] = seconds()
                    do {
                        try await scale(Self.serviceName(stack, name), to: count)
                        next += rollout.handle(.scaled(name), now: seconds())
                    } catch {
                        next += rollout.handle(.scaleFailed(name, "\(error)"), now: seconds())
                    }
                }
            }
            // A node lost in the same round can have put a service back to starting after the finish was decided.
            if finished && (rollout.settled || rollout.aborted) {
                return Driven(rollout: rollout, scaledAt: scaledAt, interrupted: Task.isCancelled)
            }
            pending = next
            if !pending.isEmpty { continue }
            if Task.isCancelled { return Driven(rollout: rollout, scaledAt: scaledAt, interrupted: true) }
            // Nothing to scale and nothing to watch, yet not settled: no poll can change that (a safety net; the
            // rollout settles every service it can decide).
            if rollout.polling.isEmpty && !rollout.settled { return Driven(rollout: rollout, scaledAt: scaledAt, interrupted: false) }
            try? await Task.sleep(for: pollInterval)
            pending = await poll(&rollout, stack: stack, before: before, engines: engines, now: seconds)
            // A node lost or drained while tasks start is said when it happens, with what it carried; what was ready
            // there waits again for the swarm to place it elsewhere.
            if nodeWatch.due(at: seconds()), let nodes = try? await client.listNodes() {
                let change = nodeWatch.observe(nodes, at: seconds(), carried: rollout.records.mapValues(\.nodes))
                for line in change.lines { report.note(line) }
                for host in change.lost { pending += rollout.handle(.nodeLost(host), now: seconds()) }
            }
        }
    }

    /// One round of polls of the services the rollout waits for: a rolling service's update status, then (unless
    /// the swarm is still rolling it) its tasks.
    func poll(
        _ rollout: inout SwarmRollout, stack: String, before: Before, engines: [String: EngineClient] = [:], now seconds: () -> Double
    ) async -> [SwarmRollout.Action] {
        var pending: [SwarmRollout.Action] = []
        for name in rollout.polling {
            let service = rollout.services.first { $0.name == name }
            if service?.isRolling == true, let current = try? await client.inspectService(Self.serviceName(stack, name)) {
                // The status an earlier update left behind says nothing about this one.
                let earlier = before.previous.first { $0.id == current.id }?.update
                let status = current.update.flatMap { $0.isNew(comparedTo: earlier) ? $0 : nil }
                pending += rollout.handle(.update(name, status), now: seconds())
                if rollout.records[name]?.isUnderWay != true { continue }
                if rollout.awaitsUpdate(name, now: seconds()) {
                    pending += rollout.handle(.observed(name, []), now: seconds())
                    continue
                }
            }
            // An update judges what this run started and what is meant to run now, not the task history.
            let observed = await observe(Self.serviceName(stack, name), health: service?.hasHealthcheck ?? false, engines: engines)
                .filter { !before.tasks.contains($0.id) || $0.desiredState == "running" }
            pending += rollout.handle(.observed(name, observed), now: seconds())
        }
        return pending
    }

    /// One service's line of the run's result, diagnosed when it failed.
    func result(
        _ service: SwarmRollout.Service, _ driven: Driven, stack: String, redact: Redactor, environment: String, before: Before,
        engines: [String: EngineClient] = [:]
    )
        async
        -> LaunchResult.ServiceResult
    {
        let record = driven.rollout.records[service.name] ?? .init()
        var diagnosis: Diagnosis?
        if record.state == .failed {
            diagnosis = await diagnose(
                service, record, stack: stack, redact: redact, environment: environment, tasksBefore: before.tasks, engines: engines)
        }
        var blockedBy: String?
        if case .blocked(let by) = record.state { blockedBy = by }
        // When the scale request went out (the record has when the engine took it, or the update's start).
        let began = driven.scaledAt[service.name] ?? record.scaledAt
        var result = LaunchResult.ServiceResult(
            name: service.name, serviceClass: service.serviceClass, state: record.state, blockedBy: blockedBy, createdAt: 0,
            startedAt: began, readyAt: record.readyAt, secondsToReady: record.readyAt.flatMap { ready in began.map { ready - $0 } },
            readiness: record.readiness, engineStartSeconds: nil, retries: record.retries, failure: diagnosis)
        result.nodes = record.nodes
        result.lostNodes = record.lostNodes.isEmpty ? nil : record.lostNodes
        return result
    }

    /// Read, change, write with the version read. Just after a deploy the swarm's allocator is still updating the
    /// service (its version moves), so a write at a stale version is refused: read again and retry, a few times.
    func scale(_ service: String, to count: Int) async throws {
        var attempt = 0
        while true {
            let current = try await client.inspectService(service)
            do {
                try await client.updateService(current.id, version: current.version, spec: try SwarmService.scaled(current.spec, to: count))
                return
            } catch let error as EngineError {
                attempt += 1
                guard case .http = error, attempt < 8 else { throw error }
                try? await Task.sleep(for: Backoff.swarmWrite.delay(attempt: attempt))
            }
        }
    }

    /// One poll of a service: its tasks, and for running tasks of a service with a healthcheck, the health of the
    /// task's container, read from the engine of its node where launch can reach it (`engines`: a check failing on
    /// another node is seen when it fails). On a node launch cannot reach the swarm's own word stands: a task with a
    /// healthcheck turns `running` only once its container is healthy (it stays `starting` until then, as
    /// `Fixtures/swarm-tasks/db.json` shows), and fails when it turns unhealthy.
    func observe(_ service: String, health: Bool, engines: [String: EngineClient] = [:]) async -> [SwarmRollout.TaskObservation] {
        guard let tasks = try? await client.listTasks(services: [service]) else { return [] }
        let names = await nodeNames.resolve(tasks.compactMap(\.nodeID), client: client)
        var observed: [SwarmRollout.TaskObservation] = []
        for task in tasks {
            let node = task.nodeID.flatMap { names[$0] }
            var status: String?
            // Only a task meant to run: one the swarm replaced on a lost node still says `running` there.
            if health, task.desiredState == "running", ["starting", "running"].contains(task.status.state),
                let id = task.status.containerStatus?.containerID
            {
                if let details = await SwarmNodeEngines.inspect(id, node: node, engines: engines, client: client)?.details {
                    status = details.state.health?.status
                } else if task.status.state == "running" {
                    status = "healthy"
                }
            }
            var error = task.status.err
            if let message = error, let image = SwarmImages.missingImage(in: message) {
                error = await SwarmImages.explain(message, image: image, node: node, client: client)
            }
            observed.append(
                .init(
                    id: task.id, desiredState: task.desiredState, state: task.status.state, error: error,
                    exitCode: task.status.containerStatus?.exitCode, health: status, containerID: task.status.containerStatus?.containerID,
                    node: node))
        }
        return observed
    }

    /// How long the swarm watches an updated task before it counts the update of that task good: a healthcheck's
    /// interval × retries (long enough to fail it), else the profile's stability window.
    static func monitors(_ stack: ComposeStack, policy: Profile.HealthPolicy) -> [String: Duration] {
        Dictionary(
            uniqueKeysWithValues: stack.services.map { service in
                (
                    service.name,
                    service.healthcheck.map { $0.interval.multiplied(by: max($0.retries, 1), limit: DurationText.maximum) }
                        ?? policy.stability
                )
            })
    }

    /// How long a failed update's restore waits for the previous version to run again.
    static let restoreLimit: Duration = .seconds(180)

    /// Undoes a failed update of a running stack: services, networks, configs and secrets the run added are
    /// removed; every service the run changed goes back to its previous spec (the swarm has already done so
    /// for those whose own update failed); then the previous version must be running again, every replica,
    /// healthy where it has a healthcheck (a swarm task reports `running` only once its container is healthy).
    func restore(stack: String, before: SwarmStack, previous: [SwarmService]) async -> RollbackReport {
        let clock = ContinuousClock()
        let began = clock.now
        var report = await SwarmStack.undo(client: client, stack: stack, before: before)
        var restoring: [SwarmService] = []
        // Those whose tasks go back too: settled once the swarm's rollback has completed. The others (replicas,
        // labels, update policy changed) are settled once their spec is the previous one again.
        var respawning: Set<String> = []
        // Jobs are not rolled back: going back would run the previous job again (an old migration); what a job did
        // is done.
        for old in previous where !old.isJob {
            for attempt in 1...8 {
                guard let current = try? await client.inspectService(old.id) else {
                    report.errors.append("service \(old.name): no longer on the swarm")
                    break
                }
                // The swarm rolling it back already (this run's update: an earlier one's status has the same start).
                if let status = current.update, status.state.hasPrefix("rollback"), status.isNew(comparedTo: old.update) {
                    restoring.append(old)
                    respawning.insert(old.id)
                    break
                }
                guard !SwarmService.sameSpec(current.spec, old.spec) else { break }
                do {
                    try await client.rollBackService(current.id, version: current.version, spec: current.spec)
                    restoring.append(old)
                    if !SwarmService.sameTasks(current.spec, old.spec) { respawning.insert(old.id) }
                    break
                } catch {
                    // The swarm moved the version meanwhile (its own rollback beginning): read again.
                    if attempt == 8 {
                        report.errors.append(
                            "service \(old.name): the swarm refused the rollback: \(error); `docker service rollback \(old.name)` retries it"
                        )
                    }
                    try? await Task.sleep(for: Backoff.swarmWrite.delay(attempt: attempt))
                }
            }
        }
        // The previous version, running again: every replica of the previous spec, on its new (rolled back) tasks.
        let limit = Self.restoreLimit
        let deadline = clock.now + limit
        var watch = SwarmRestoreWatch(restoring: restoring, respawning: respawning)
        while !watch.finished && clock.now < deadline {
            var polls: [String: SwarmRestoreWatch.Poll] = [:]
            for old in watch.waiting {
                let tasks = (try? await client.listTasks(services: [old.id])) ?? []
                polls[old.id] = .init(
                    current: try? await client.inspectService(old.id),
                    running: tasks.filter { $0.desiredState == "running" && $0.status.state == "running" }.count)
            }
            watch.observe(polls)
            if !watch.finished { try? await Task.sleep(for: pollInterval) }
        }
        report.restoredServices += watch.restored
        report.errors += watch.errors(after: limit)
        report.restoredServices.sort()
        report.seconds = began.duration(to: clock.now).seconds
        return report
    }

    func diagnose(
        _ service: SwarmRollout.Service, _ record: SwarmRollout.Record, stack: String, redact: Redactor, environment: String,
        tasksBefore: Set<String> = [], engines: [String: EngineClient] = [:]
    ) async -> Diagnosis {
        let name = Self.serviceName(stack, service.name)
        if let kind = record.failureKind, !record.failedContainers.isEmpty,
            let diagnosis = await diagnoseTask(
                service, record, kind: kind, name: name, redact: redact, environment: environment, engines: engines)
        {
            return diagnosis
        }
        var record = record
        var health: String?
        if record.taskErrors.isEmpty, let tasks = try? await client.listTasks(services: [name]) {
            // A rolling update the swarm undid: the new tasks' errors, and the probes of the one whose healthcheck
            // failed, are the evidence (a task that failed its healthcheck ends `complete`, without an error).
            let new = tasks.filter { !tasksBefore.contains($0.id) && $0.desiredState != "running" }
            record.taskErrors = new.compactMap { task in
                task.status.err.map {
                    "task \(task.id.prefix(12)): \($0)" + (task.status.containerStatus?.exitCode.map { " (exit \($0))" } ?? "")
                }
            }
            for task in new {
                guard let id = task.status.containerStatus?.containerID, let state = try? await client.inspectContainer(id).state,
                    state.health?.status == "unhealthy"
                else { continue }
                health = "unhealthy"
                record.taskErrors +=
                    ["task \(task.id.prefix(12)) of the new spec was unhealthy:"]
                    + Diagnostics.probeLines(state.health, redact: redact).map { "  " + $0 }
                break
            }
        }
        let logs = await Diagnostics(
            client: client, redact: redact, environment: environment, project: name, swarmService: name, logLines: 20
        )
        .swarmLogs(tasks: record.failedTasks)
        // The same words on every node: the failure as a compose launch says it, the swarm's own (with the task's
        // node) as evidence — a task on another node reads like one whose container this engine holds.
        let swarmWords = redact(record.failure ?? "failed")
        let reason = record.failureKind.map { redact("\($0)") } ?? swarmWords
        let evidence = record.taskErrors.isEmpty && reason != swarmWords ? [swarmWords] : record.taskErrors.map(redact.callAsFunction)
        return Diagnosis(
            service: service.name, serviceClass: service.serviceClass,
            reached: record.update.map { "rolling update \($0.state.replacingOccurrences(of: "_", with: " "))" }
                ?? (record.readyAt == nil ? "starting" : "ready"),
            reason: reason, failureKey: record.failureKind?.key ?? "swarm: \(swarmWords)", exitCode: nil, health: health,
            probes: evidence,
            logTail: logs, classification: record.failureKind?.classification ?? "configuration",
            nextStep: swarmWords.contains("docker save")
                ? "put the image on that node as said above (a registry every node can pull from, or `docker save … | docker load` there), then launch again"
                : (record.update?.state.hasPrefix("rollback") == true
                    ? "the swarm rolls it back to the previous spec; fix the new one and launch again. "
                    : (record.update == nil
                        ? "" : "if it still runs the new spec, `docker service rollback \(name)` puts the previous one back. "))
                    + "`docker service ps --no-trunc \(name)` shows every task; `docker service logs \(name)` their output")
    }
}

extension SwarmLauncher {
    /// A failed task whose container this engine holds is diagnosed as a compose launch diagnoses a container (probe
    /// output, log tail, CPU and memory, class, next step): the same failure reads the same on either engine. A
    /// container the engine calls unhealthy is an unhealthy service, whatever the swarm's task says. The containers
    /// are looked for on this engine, then on the other nodes' engines launch can reach (`engines`); nil when none is
    /// reachable (it ran on a node launch cannot reach): the swarm's own word then stands.
    func diagnoseTask(
        _ service: SwarmRollout.Service, _ record: SwarmRollout.Record, kind: FailureKind, name: String, redact: Redactor,
        environment: String, engines: [String: EngineClient] = [:]
    ) async -> Diagnosis? {
        var reachable: [ContainerDetails] = []
        var holder = client
        for id in record.failedContainers {
            guard let found = await SwarmNodeEngines.inspect(id, node: record.containerNodes[id], engines: engines, client: client),
                reachable.isEmpty || found.engine.endpoint == holder.endpoint
            else { continue }
            holder = found.engine
            reachable.append(found.details)
        }
        guard !reachable.isEmpty else { return nil }
        let kind = reachable.contains { $0.state.health?.status == "unhealthy" } ? FailureKind.unhealthy : kind
        var diagnosis = await Diagnostics(client: holder, redact: redact, environment: environment, project: name, swarmService: name)
            .diagnose(
                service: service.name, serviceClass: service.serviceClass, failure: kind, containers: reachable.map(\.id),
                tasks: record.failedTasks)
        // What the swarm itself said of the task stays part of the evidence.
        diagnosis.probes += record.taskErrors.map(redact.callAsFunction).filter { error in !diagnosis.probes.contains(error) }
        return diagnosis
    }
}

/// `docker stack deploy` refused the stack; what it had created was removed, what it had changed put back.
public struct SwarmDeployFailure: LaunchFailure {
    public var evidence: [String]
    public var summary: String { "docker stack deploy failed; this run's changes to the swarm were undone (see the rollback)" }
    public var hint: String? { "read Docker's message above: stack files support fewer keys than Compose (see README, Swarm)" }
    public var exitCode: ExitStatus { .launchFailed }
}
