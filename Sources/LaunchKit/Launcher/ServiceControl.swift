import Foundation

/// `launch restart|start|stop <env> <service>…`: day-two changes to some services of a running stack.
///
/// Each takes the project's lock and resolves the environment like `launch <env>` (plan, overlay, env file).
/// Waiting reuses the launch's own `Orchestrator` and `LaunchStateMachine` on a sub-stack: the named services,
/// what must restart with them, and those of their dependencies that are not settled yet. Everything else is
/// left alone: a settled dependency is not in the sub-stack, so the machine never touches it.
public struct ServiceControl: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let profile: Profile
    let client: EngineClient

    public init(context: LaunchContext, layout: ProjectLayout, profile: Profile) {
        self.context = context
        self.layout = layout
        self.profile = profile
        self.client = EngineClient(context: context)
    }

    public enum Verb: String, Sendable, Encodable { case restart, start, stop }

    /// What a per-service command did. `--json` prints it (snake_case, like every other JSON output).
    public struct Outcome: Sendable, Encodable {
        public struct Service: Sendable, Encodable {
            public var name: String
            public var serviceClass: ServiceClass
            /// `recreated` (its configuration changed), `restarted`, `started`, `stopped`, `already running`,
            /// `already stopped`, `no container`.
            public var action: String
            /// The state it ended in (`ready`, `failed`, `blocked`, `stopped`).
            public var state: String
            public var secondsToReady: Double?
            public var failure: Diagnosis?

            enum CodingKeys: String, CodingKey {
                case name, serviceClass = "class", action, state, secondsToReady = "seconds_to_ready", failure
            }
        }
        public var verb: Verb
        public var environment: String
        public var project: String
        public var services: [Service]
        /// Services that depend on a stopped one and still run (`stop` does not stop them).
        public var stillRunningDependents: [String]
        public var seconds: Double
        public var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case verb, environment, project, services, stillRunningDependents = "still_running_dependents", seconds,
                exitCode = "exit_code"
        }
    }

    // MARK: Decisions (pure)

    /// `targets` plus, transitively, every service that depends on one of them with `restart: true`.
    static func restartSet(_ targets: [String], graph: DependencyGraph) -> [String] {
        var chosen = targets
        var queue = targets
        while let next = queue.first {
            queue.removeFirst()
            for dependent in graph.services where !chosen.contains(dependent) {
                if graph.dependencies[dependent, default: []].contains(where: { $0.service == next && $0.restart }) {
                    chosen.append(dependent)
                    queue.append(dependent)
                }
            }
        }
        return graph.startOrder.filter(chosen.contains)
    }

    /// The sub-stack to wait for: `chosen` and every transitive dependency that is not `settled` (a settled one
    /// is ready as it is and stays out, untouched). In start order.
    static func scope(_ chosen: [String], graph: DependencyGraph, settled: (String) -> Bool) -> [String] {
        var included = Set(chosen)
        var queue = chosen
        while let next = queue.first {
            queue.removeFirst()
            for dependency in graph.dependencies[next, default: []] where !included.contains(dependency.service) {
                guard !settled(dependency.service) else { continue }
                included.insert(dependency.service)
                queue.append(dependency.service)
            }
        }
        return graph.startOrder.filter(included.contains)
    }

    /// Ready without our help: every container of a job exited 0; every container of a service runs and, when
    /// it has a healthcheck, is healthy.
    static func isSettled(_ containers: [ContainerDetails], isJob: Bool) -> Bool {
        guard !containers.isEmpty else { return false }
        if isJob { return containers.allSatisfy { !$0.state.running && $0.state.status == "exited" && $0.state.exitCode == 0 } }
        return containers.allSatisfy { container in
            container.state.running && !container.state.restarting
                && (container.state.health.map { $0.status == "healthy" } ?? true)
        }
    }

    /// Names the user gave that the stack does not have: a usage error with the list and a did-you-mean.
    static func validate(_ services: [String], known: [String], environment: String) throws {
        for name in services where !known.contains(name) {
            let guess = Text.suggestion(for: name, among: known)
            throw UsageError(
                "\(environment) has no service `\(name)`", evidence: ["services: " + known.joined(separator: ", ")],
                hint: guess.map { "did you mean `\($0)`?" } ?? "name one of the services above")
        }
    }

    // MARK: Commands

    /// Recreates the named services whose configuration changed, restarts the others (and their `restart: true`
    /// dependents), and waits until they are ready. Nothing else is stopped or started, except dependencies that
    /// are not running yet.
    public func restart(_ services: [String], report: ProgressReporter) async throws -> Outcome {
        try await withPlan(services, verb: .restart) { plan, containers in
            let chosen = Self.restartSet(services, graph: plan.graph)
            let before = containers.mapValues { Set($0.map(\.id)) }
            let configured = try await configHashes(plan, services)
            let changed = services.filter { name in
                let stamped = (containers[name] ?? []).map { $0.config.labels[ComposeLabels.configHash] }
                return stamped.isEmpty || configured[name] == nil || stamped.contains { $0 != configured[name] }
            }
            if !changed.isEmpty { try await createOnly(plan, changed, recreate: true) }
            let after = changed.isEmpty ? containers : try await containersByService(plan.project)
            var actions: [String: String] = [:]
            var toStop: [String] = []
            for name in chosen {
                let ids = Set((after[name] ?? []).map(\.id))
                if !ids.isEmpty && ids.isDisjoint(with: before[name] ?? []) {
                    actions[name] = "recreated"
                } else {
                    actions[name] = "restarted"
                    toStop.append(name)
                }
            }
            // Dependents first, as `down` does: nothing loses a dependency while it still runs.
            for name in toStop.reversed() {
                for container in after[name] ?? [] where container.state.running {
                    try await client.stopContainer(container.id, timeoutSeconds: 10)
                }
            }
            return (chosen, actions)
        }
    }

    /// What Compose would stamp on each service's containers now; a service whose containers carry another
    /// hash has a changed configuration. Empty when Compose cannot say (then every named service is recreated).
    func configHashes(_ plan: LaunchPlan, _ services: [String]) async throws -> [String: String] {
        let output = try await context.runner.run(plan.composeCommand.configHashes(services: services))
        guard output.succeeded else { return [:] }
        return Self.parseHashes(output.stdout)
    }

    static func parseHashes(_ text: String) -> [String: String] {
        var hashes: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2 { hashes[String(parts[0])] = String(parts[1]) }
        }
        return hashes
    }

    /// Starts the named services, and first what they depend on that is not ready; creates missing containers,
    /// keeps existing ones as they are.
    public func start(_ services: [String], report: ProgressReporter) async throws -> Outcome {
        try await withPlan(services, verb: .start) { plan, containers in
            let jobs = Planner.jobs(in: plan.stack)
            let scope = Self.scope(services, graph: plan.graph) { Self.isSettled(containers[$0] ?? [], isJob: jobs.contains($0)) }
            let missing = scope.filter { (containers[$0] ?? []).isEmpty }
            if !missing.isEmpty { try await createOnly(plan, missing, recreate: false) }
            var actions: [String: String] = [:]
            for name in scope {
                actions[name] = Self.isSettled(containers[name] ?? [], isJob: jobs.contains(name)) ? "already running" : "started"
            }
            return (services, actions)
        }
    }

    /// Stops the named services' containers (dependents among them first); they stay, for `start`.
    public func stop(_ services: [String]) async throws -> Outcome {
        let began = ContinuousClock.Instant.now
        let lock = try ProjectLock(
            context: context, root: layout.root, project: profile.compose.project, environment: profile.name,
            command: "launch stop \(profile.name) \(services.joined(separator: " "))")
        defer { lock.release() }
        let graph = try Planner.outline(profile, layout: layout) ?? DependencyGraph(ComposeStack(services: [], volumes: [], networks: []))
        if !graph.services.isEmpty { try Self.validate(services, known: graph.services, environment: profile.name) }
        let containers = try await containersByService(profile.compose.project)
        var results: [Outcome.Service] = []
        let order = graph.startOrder.filter(services.contains).reversed() + services.filter { !graph.services.contains($0) }
        for name in order {
            let running = (containers[name] ?? []).filter(\.state.running)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for container in running { group.addTask { try await client.stopContainer(container.id, timeoutSeconds: 10) } }
                try await group.waitForAll()
            }
            let action = (containers[name] ?? []).isEmpty ? "no container" : (running.isEmpty ? "already stopped" : "stopped")
            results.append(.init(name: name, serviceClass: profile.services.serviceClass(of: name), action: action, state: "stopped"))
        }
        let dependents = Set(services.flatMap { graph.transitiveDependents(of: $0) }).subtracting(services)
        let stillRunning = dependents.filter { (containers[$0] ?? []).contains(where: \.state.running) }.sorted()
        return Outcome(
            verb: .stop, environment: profile.name, project: profile.compose.project, services: results,
            stillRunningDependents: stillRunning, seconds: began.duration(to: .now).seconds, exitCode: 0)
    }

    // MARK: Driver

    /// Lock, env file, plan; `prepare` changes the world and returns the services the user asked about and what
    /// was done to each; then the sub-stack is awaited with the launch's state machine.
    private func withPlan(
        _ services: [String], verb: Verb,
        prepare: (LaunchPlan, [String: [ContainerDetails]]) async throws -> (chosen: [String], actions: [String: String])
    ) async throws -> Outcome {
        let began = ContinuousClock.Instant.now
        let lock = try ProjectLock(
            context: context, root: layout.root, project: profile.compose.project, environment: profile.name,
            command: "launch \(verb.rawValue) \(profile.name) \(services.joined(separator: " "))")
        defer { lock.release() }
        if let stale = lock.clearedStale {
            context.console.say("note: cleared a stale lock left by pid \(stale.pid) (`\(stale.command)`), which is no longer running")
        }
        _ = try EnvProvisioner(layout: layout, profile: profile).provision(now: context.now(), environment: context.environment)
        let plan = try await Planner(context: context, layout: layout).plan(profile)
        try Self.validate(services, known: plan.stack.serviceNames, environment: profile.name)
        let (chosen, actions) = try await prepare(plan, try await containersByService(plan.project))
        // From here on, every engine event is about this command's own starts (the stops above are done).
        let (events, since) = await client.subscribe(project: plan.project, actions: Orchestrator.watchedActions)
        let now = try await containersByService(plan.project)
        let jobs = Planner.jobs(in: plan.stack)
        let scope = Self.scope(chosen, graph: plan.graph) { Self.isSettled(now[$0] ?? [], isJob: jobs.contains($0)) }
        let stack = ComposeStack(
            services: plan.stack.services.filter { scope.contains($0.name) }, volumes: plan.stack.volumes,
            networks: plan.stack.networks)
        let reporter = ProgressReporter(console: context.console)
        var orchestrator = Orchestrator(
            client: client, project: plan.project, stack: stack, graph: try DependencyGraph(stack),
            profile: profile, onChange: { reporter.serviceChanged($0) })
        // A job is judged by its exit code even when none of its dependents is restarted with it.
        orchestrator.jobs = jobs
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        orchestrator.redact = redact
        let outcome = await orchestrator.run(containers: now.filter { scope.contains($0.key) }, events: events, since: since)
        if let silence = outcome.engineLost {
            throw EngineLost(
                silence: silence, environment: profile.name, rolledBack: false, leftovers: [],
                servicesAtLoss: outcome.services.map { "\($0.name) \($0.state)" }, leftAsIs: "its services are as the engine left them")
        }
        let diagnostics = Diagnostics(
            client: client, redact: redact, environment: profile.name, project: plan.project,
            compose: plan.composeCommand)
        var results: [Outcome.Service] = []
        for run in outcome.services {
            let diagnosis = await diagnostics.diagnose(run)
            let state: String =
                switch run.state {
                case .ready: "ready"
                case .blocked(let by): "blocked by \(by)"
                case .failed: "failed"
                default: "not ready"
                }
            results.append(
                .init(
                    name: run.name, serviceClass: run.serviceClass, action: actions[run.name] ?? "started", state: state,
                    secondsToReady: run.state == .ready ? run.readyAt.flatMap { ready in run.startedAt.map { ready - $0 } } : nil,
                    failure: diagnosis))
        }
        let failed = results.contains { $0.state != "ready" && (chosen.contains($0.name) || $0.serviceClass == .core) }
        let exit: ExitStatus = outcome.interrupted ? .interrupted : (failed ? .launchFailed : .success)
        return Outcome(
            verb: verb, environment: profile.name, project: plan.project, services: results, stillRunningDependents: [],
            seconds: began.duration(to: .now).seconds, exitCode: exit.rawValue)
    }

    private func createOnly(_ plan: LaunchPlan, _ services: [String], recreate: Bool) async throws {
        let command = plan.composeCommand.create(services: services, recreate: recreate)
        let output = try await context.runner.run(command.limited(to: Compose.createDeadline(containers: services.count)))
        guard output.succeeded else {
            let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
            throw CreateFailure(
                evidence: output.stderr.split(whereSeparator: \.isNewline).suffix(15).map { redact(String($0)) },
                command: command.description, rolledBack: false)
        }
    }

    /// The project's containers by service (one-off `run` containers excluded), inspected.
    func containersByService(_ project: String) async throws -> [String: [ContainerDetails]] {
        try await Self.containersByService(client: client, project: project)
    }

    /// The project's containers by service (one-off `run` containers excluded), inspected; `service`: only its own.
    static func containersByService(
        client: any ContainerEngine, project: String, service: String? = nil
    ) async throws -> [String: [ContainerDetails]] {
        let labels = service.map { ComposeLabels.serviceFilter(project, service: $0) } ?? ComposeLabels.projectFilter(project)
        let containers = try await client.listContainers(all: true, labels: labels)
            .filter { $0.labels[ComposeLabels.oneOff] != "True" }
        var byService: [String: [ContainerDetails]] = [:]
        try await withThrowingTaskGroup(of: ContainerDetails?.self) { group in
            // A container removed between the list and its inspect is simply gone; any other failure is the engine's.
            for container in containers {
                group.addTask {
                    do {
                        return try await client.inspectContainer(container.id)
                    } catch EngineError.http(status: 404, _) {
                        return nil
                    }
                }
            }
            for try await details in group {
                guard let details, let service = details.config.labels[ComposeLabels.service] else { continue }
                byService[service, default: []].append(details)
            }
        }
        return byService.mapValues { $0.sorted { $0.name < $1.name } }
    }
}
