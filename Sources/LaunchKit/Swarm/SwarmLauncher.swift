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

    public init(context: LaunchContext, layout: ProjectLayout, client: EngineClient,
        preflight: @escaping @Sendable (LaunchPlan) async -> [String])
    {
        self.context = context
        self.layout = layout
        self.client = client
        self.preflight = preflight
    }

    /// The swarm service of a compose service: the stack name is the profile's compose project.
    static func serviceName(_ stack: String, _ service: String) -> String { "\(stack)_\(service)" }

    public func launch(_ profile: Profile, options: LaunchOptions, report: ProgressReporter) async throws -> LaunchResult {
        let timeline = Launcher.Timeline()
        let startedAt = context.now()
        let client = self.client
        let planner = Planner(context: context, layout: layout)
        var plan = try await timeline.measure("plan", report: report) {
            let plan = try await planner.plan(profile)
            return (plan, "\(plan.services.count) services, stack \(plan.project)")
        }
        let stack = plan.project
        try await timeline.measure("swarm", report: report) {
            let gpuServices = plan.stack.services.filter { !$0.gpuRequests.isEmpty }.map(\.name)
            let checks = await SwarmChecks.run(client: client, gpuServices: gpuServices)
            let failed = checks.filter { $0.status == .fail }
            guard failed.isEmpty else {
                throw PhaseFailure(phase: "swarm", summary: "the swarm cannot run \(stack): nothing was started",
                    evidence: failed.map { "\($0.id): \($0.evidence)" }, hint: failed.first?.remediation)
            }
            return ((), checks.first { $0.id == "swarm.nodes" }?.evidence)
        }
        try await Launcher.preflightPhase(plan, preflight: preflight, timeline: timeline, report: report)
        try Task.checkCancellation()
        let envOutcome = try await Launcher.envPhase(profile, context: context, layout: layout, timeline: timeline, report: report)
        if envOutcome.changed {
            plan = try await planner.plan(profile, probe: plan.gpuProbe, compose: .some(plan.composeDetection))
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let jobs = Planner.jobs(in: plan.stack)
        let stackFile = try await timeline.measure("convert", report: report) {
            let output = try await context.runner.run(plan.composeCommand.configYAML())
            guard output.succeeded else {
                throw PhaseFailure(phase: "convert", summary: "Compose could not resolve the model; nothing was started",
                    evidence: output.stderr.split(whereSeparator: \.isNewline).suffix(10).map { redact(String($0)) },
                    hint: "`\(plan.composeCommand.configYAML().description)` reproduces it")
            }
            let held = try SwarmStackFile.held(resolvedYAML: output.stdout, jobs: jobs)
            // It holds the interpolated secrets: private, like the env file.
            let path = layout.stateDirectory + "/swarm/\(stack).yml"
            try FileManager.default.createDirectory(atPath: layout.stateDirectory + "/swarm", withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            try AtomicFile.write(held, to: path)
            return (path, "held at 0: \(plan.stack.services.count - jobs.count) services, \(jobs.count) jobs")
        }
        try Task.checkCancellation()

        let before = try await SwarmStack.read(client: client, stack: stack)
        // Deploying the held file again would scale a running stack to 0: until updates are rolling updates with
        // rollback, launch deploys a stack only where none runs.
        guard before.services.isEmpty else {
            throw PhaseFailure(phase: "deploy", summary: "the stack \(stack) is already deployed on this swarm; nothing was changed",
                evidence: before.services.values.sorted().map { "service \($0)" },
                hint: "`launch down \(profile.name) --engine swarm` first (volumes stay); rolling updates on swarm are not implemented yet")
        }
        try await timeline.measure("deploy", report: report) {
            let output = try await context.runner.run(context.docker.stackDeploy(stack: stack, files: [stackFile]))
            guard output.succeeded else {
                let undone = await SwarmStack.undo(client: client, stack: stack, before: before)
                report.rolledBack(undone)
                throw SwarmDeployFailure(evidence: output.stderr.split(whereSeparator: \.isNewline).suffix(15).map { redact(String($0)) })
            }
            return ((), "docker stack deploy \(stack)")
        }

        let services = plan.stack.services.map { service in
            SwarmRollout.Service(
                name: service.name, serviceClass: profile.services.serviceClass(of: service.name),
                replicas: max(1, service.replicas), isJob: jobs.contains(service.name), hasHealthcheck: service.healthcheck != nil,
                readiness: ReadinessRule(service: service, policy: profile.health, isJob: jobs.contains(service.name)),
                dependencies: service.dependsOn.map(\.service))
        }
        let startBegan = timeline.clock.now
        report.phaseBegan("start")
        var rollout = SwarmRollout(services: services)
        let seconds = { startBegan.duration(to: timeline.clock.now).seconds }
        var scaledAt: [String: Double] = [:]
        var pending = rollout.handle(.begin, now: seconds())
        var finished = false
        var interrupted = false
        while !finished {
            var next: [SwarmRollout.Action] = []
            for action in pending {
                switch action {
                case .finish:
                    finished = true
                case .changed(let name, let state):
                    let serviceClass = services.first { $0.name == name }?.serviceClass ?? .core
                    let detail = state == .ready ? rollout.records[name]?.readiness : (state == .failed ? rollout.records[name]?.failure : nil)
                    report.serviceChanged(ProgressUpdate(service: name, serviceClass: serviceClass, state: state, elapsed: seconds(), detail: detail))
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
            pending = next
            if finished || !pending.isEmpty { continue }
            if Task.isCancelled {
                interrupted = true
                break
            }
            try? await Task.sleep(for: pollInterval)
            for name in rollout.polling {
                let observed = await observe(Self.serviceName(stack, name), health: services.first { $0.name == name }?.hasHealthcheck ?? false)
                pending += rollout.handle(.observed(name, observed), now: seconds())
            }
        }
        let startSeconds = seconds()

        var results: [LaunchResult.ServiceResult] = []
        for service in services {
            let record = rollout.records[service.name] ?? .init()
            var diagnosis: Diagnosis?
            if record.state == .failed {
                diagnosis = await diagnose(service, record, stack: stack, redact: redact, environment: profile.name)
            }
            var blockedBy: String?
            if case .blocked(let by) = record.state { blockedBy = by }
            results.append(.init(
                name: service.name, serviceClass: service.serviceClass, state: record.state, blockedBy: blockedBy, createdAt: 0,
                startedAt: scaledAt[service.name], readyAt: record.readyAt,
                secondsToReady: record.readyAt.flatMap { ready in scaledAt[service.name].map { ready - $0 } },
                readiness: record.readiness, engineStartSeconds: nil, retries: 0, failure: diagnosis))
        }
        let coreNotReady = results.filter { $0.serviceClass == .core && $0.state != .ready }
        let degraded = results.filter { $0.serviceClass != .core && $0.state != .ready }.map(\.name)
        let outcome: LaunchResult.Outcome =
            interrupted ? .interrupted : (!coreNotReady.isEmpty ? .failed : (degraded.isEmpty ? .success : .degraded))
        report.phaseEnded("start", seconds: startSeconds, status: outcome == .failed || outcome == .interrupted ? "failed" : "ok", detail: nil)
        var phases = timeline.all
        phases.append(.init(name: "start", seconds: startSeconds, status: outcome.rawValue, detail: nil))

        var rollback: RollbackReport?
        if outcome == .failed || outcome == .interrupted {
            if options.keepOnFailure && outcome == .failed {
                report.keptForDebugging(project: stack)
            } else {
                let undone = await SwarmStack.undo(client: client, stack: stack, before: before)
                phases.append(.init(name: "rollback", seconds: undone.seconds, status: undone.errors.isEmpty ? "ok" : "failed", detail: nil))
                report.rolledBack(undone)
                rollback = undone
            }
        }
        let exit = ExitStatus(outcome)
        return LaunchResult(
            environment: profile.name, project: stack, outcome: outcome, exitCode: exit.rawValue, startedAt: startedAt,
            seconds: timeline.elapsed, phases: phases, services: results, degraded: degraded, urls: profile.urls, rollback: rollback,
            error: nil,
            engine: .init(endpoint: client.endpoint.description + " (swarm)", apiVersion: (try? await client.apiVersion())?.description,
                eventStreamReconnects: 0))
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
                try? await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }

    /// One poll of a service: its tasks, and for running tasks of a service with a healthcheck, the health of
    /// the task's container. A container on another node is not visible to this engine: its health stays nil,
    /// so such a service is not declared ready by this driver (single-manager clusters only, for now).
    func observe(_ service: String, health: Bool) async -> [SwarmRollout.TaskObservation] {
        guard let tasks = try? await client.listTasks(services: [service]) else { return [] }
        var observed: [SwarmRollout.TaskObservation] = []
        for task in tasks {
            var status: String?
            if health, ["starting", "running"].contains(task.status.state), let id = task.status.containerStatus?.containerID {
                status = try? await client.inspectContainer(id).state.health?.status
            }
            observed.append(.init(id: task.id, desiredState: task.desiredState, state: task.status.state, error: task.status.err,
                exitCode: task.status.containerStatus?.exitCode, health: status))
        }
        return observed
    }

    func diagnose(_ service: SwarmRollout.Service, _ record: SwarmRollout.Record, stack: String, redact: Redactor, environment: String) async -> Diagnosis {
        let name = Self.serviceName(stack, service.name)
        var logs: [String] = []
        if let output = try? await context.runner.run(context.docker.serviceLogs(service: name)), output.succeeded {
            logs = (output.stdout + output.stderr).split(whereSeparator: \.isNewline).suffix(20).map { redact(String($0)) }
        }
        let reason = redact(record.failure ?? "failed")
        return Diagnosis(
            service: service.name, serviceClass: service.serviceClass, reached: record.readyAt == nil ? "starting" : "ready",
            reason: reason, failureKey: "swarm: \(reason)", exitCode: nil, health: nil, probes: record.taskErrors.map(redact.callAsFunction),
            logTail: logs, classification: "configuration",
            nextStep: "`docker service ps --no-trunc \(name)` shows every task; `docker service logs \(name)` their output")
    }
}

/// `docker stack deploy` refused the stack; what it had created was removed.
public struct SwarmDeployFailure: LaunchFailure {
    public var evidence: [String]
    public var summary: String { "docker stack deploy failed; what this run created on the swarm was removed" }
    public var hint: String? { "read Docker's message above: stack files support fewer keys than Compose (see README, Swarm)" }
    public var exitCode: ExitStatus { .launchFailed }
}
