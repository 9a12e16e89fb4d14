import Foundation

public struct LaunchOptions: Sendable {
    public var keepOnFailure = false
    public var cleanup = true
    public var networkChecks = true
    /// Preflight starts a short-lived GPU container when the stack requests GPUs and an image is at hand.
    public var gpuSmoke = true
    /// Launch even when the circuit breaker is open.
    public var force = false
    /// A failed launch also removes the named volumes it created (they are kept by default: they are data).
    public var rollbackVolumes = false
    /// `build:` services: rebuilt when their context changed (default), always (`--build`) or never (`--no-build`).
    public var build: BuildMode = .whenChanged
    /// `--pull`: pull every pulled image even when it is present (as `pull_policy: always`).
    public var pull = false
    /// Which engine runs the stack: Compose on one engine (the default) or a Docker Swarm (`--engine swarm`).
    public var engine: Orchestration? = nil
    public init() {}

    public enum BuildMode: Sendable, Hashable {
        case whenChanged, always, never
    }
}

/// A failure before any service started: nothing to roll back.
public struct PhaseFailure: LaunchFailure {
    public var phase: String
    public var summary: String
    public var evidence: [String]
    public var hint: String?
    public var exitCode: ExitStatus { .preflightFailed }
}

/// `launch <env>`: preflight → env file → cleanup → pull/build → create → start and wait → summary.
/// Every phase is timed; every failure says what, why and what next.
public struct Launcher: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let client: EngineClient
    /// Runs the preflight checks for a plan; returns failures (empty when everything passed).
    public var preflight: @Sendable (LaunchPlan) async -> [String]
    /// Asked with the configuration's fingerprint once the model is resolved, before anything changes: throws to
    /// refuse the launch (the circuit breaker).
    public var admit: @Sendable (String) throws -> Void = { _ in }

    public init(
        context: LaunchContext, layout: ProjectLayout, client: EngineClient,
        preflight: @escaping @Sendable (LaunchPlan) async -> [String]
    ) {
        self.context = context
        self.layout = layout
        self.client = client
        self.preflight = preflight
    }

    final class Timeline: @unchecked Sendable {
        private let lock = NSLock()
        private var phases: [LaunchResult.Phase] = []
        let clock = ContinuousClock()
        let origin: ContinuousClock.Instant
        init() { origin = clock.now }
        var all: [LaunchResult.Phase] { lock.withLock { phases } }
        var elapsed: Double { origin.duration(to: clock.now).seconds }

        func measure<T>(_ name: String, report: ProgressReporter, _ body: () async throws -> (T, String?)) async rethrows -> T {
            let began = clock.now
            report.phaseBegan(name)
            do {
                let (value, detail) = try await body()
                record(name, began, "ok", detail, report)
                return value
            } catch {
                record(name, began, "failed", nil, report)
                throw error
            }
        }

        /// Phases that just ended one after another (a rollback, then a restore), each given the moment it began,
        /// counted back from now.
        func endingNow(_ phases: [LaunchResult.Phase?]) -> [LaunchResult.Phase] {
            var end = elapsed
            return phases.compactMap { $0 }.reversed().map { phase in
                var phase = phase
                let began = phase.began ?? max(end - phase.seconds, 0)
                phase.began = began
                end = began
                return phase
            }
            .reversed()
        }

        func skip(_ name: String, _ why: String, report: ProgressReporter) {
            let at = elapsed
            lock.withLock { phases.append(.init(name: name, seconds: 0, status: "skipped", detail: why, began: at)) }
            report.phaseEnded(name, seconds: 0, status: "skipped", detail: why)
        }

        private func record(
            _ name: String, _ began: ContinuousClock.Instant, _ status: String, _ detail: String?, _ report: ProgressReporter
        ) {
            let seconds = began.duration(to: clock.now).seconds
            let at = origin.duration(to: began).seconds
            lock.withLock { phases.append(.init(name: name, seconds: seconds, status: status, detail: detail, began: at)) }
            report.phaseEnded(name, seconds: seconds, status: status, detail: detail)
        }
    }

    /// Throws `LaunchFailure`s that happen before anything starts (config: 65, preflight/pull: 2), and failures to
    /// create the stack (after undoing what the attempt changed). Returns the result of a launch that got as far as
    /// starting services: a pipeline of named phases, each timed, over one undo stack.
    public func launch(_ profile: Profile, options: LaunchOptions, report: ProgressReporter) async throws -> LaunchResult {
        let timeline = Timeline()
        let startedAt = context.now()
        let prepared: Prepared
        do {
            prepared = try await prepare(profile, options: options, timeline: timeline, report: report)
        } catch {
            // An engine that answered this run and then went: nothing was created yet. (A preflight that failed against
            // an engine that never answered is preflight's own verdict: exit 2, with the engine's words.)
            guard !Task.isCancelled, (error as? PhaseFailure)?.phase != "preflight" || EngineClient.hasAnswered(client.endpoint),
                let silence = await Self.silence(error, client: client, phase: "prepare")
            else { throw error }
            throw EngineLost(silence: silence, environment: profile.name, rolledBack: false, leftovers: [])
        }
        let plan = prepared.plan, redact = prepared.redact
        let before = try await ProjectSnapshot.take(client: client, project: plan.project)
        let lastGood = LastGood(context: context, layout: layout, client: client, project: plan.project)
        var undo = LaunchUndo()
        undo.push(.restoreReplaced(before: before, lastGood: lastGood))
        try await noteRecreations(plan, before: before, hashes: prepared.hashes, lastGood: lastGood, force: options.force, report: report)
        // Subscribed (and confirmed by the engine) before anything is created: no reaction can be missed.
        let (events, since) = await client.subscribe(project: plan.project, actions: Orchestrator.watchedActions)
        undo.push(
            .removeCreated(
                Rollback(client: client, project: plan.project, removeNewVolumes: options.rollbackVolumes), before: before,
                levels: plan.graph.levels))
        let created: [String: [ContainerDetails]]
        let checked: (stack: ComposeStack, graph: DependencyGraph)
        do {
            created = try await timeline.measure("create", report: report) {
                try await EngineHeartbeat.guarding(client, phase: "create") { [self] in try await create(plan, redact: redact) }
            }
            try Self.checkPlanned(plan, created: created, before: before, inputs: prepared.inputs)
            checked = try checkConditions(plan, created: created, redact: redact, report: report)
        } catch {
            if !Task.isCancelled, let silence = await Self.silence(error, client: client, phase: "create") {
                throw await lost(silence, plan: plan, undo: undo, before: before, services: [], report: report)
            }
            let unwound = await undo.unwind(
                plan: plan, profile: profile, redact: redact, report: report, createRaced: !(error is ConfigurationError))
            if Task.isCancelled {
                let phases = timeline.all + timeline.endingNow([unwound.rollbackPhase, unwound.restorePhase])
                return interruptedResult(plan, startedAt: startedAt, phases: phases, timeline: timeline, unwound: unwound)
            }
            throw Self.failure(error, fingerprint: prepared.fingerprint, restore: unwound.restore, rollback: unwound.rollback)
        }
        let started = await start(
            plan, stack: checked.stack, graph: checked.graph, created: created, events: (events, since), profile: profile, redact: redact,
            timeline: timeline, report: report)
        if let silence = started.run.engineLost {
            started.model.cancel()
            throw await lost(silence, plan: plan, undo: undo, before: before, services: started.run.services, report: report)
        }
        var phases = timeline.all + [started.phase]
        var unwound = LaunchUndo.Unwound()
        if started.outcome == .failed && options.keepOnFailure {
            report.keptForDebugging(project: plan.project)
        } else if started.outcome == .failed || started.outcome == .interrupted {
            unwound = await undo.unwind(plan: plan, profile: profile, redact: redact, report: report)
            phases += timeline.endingNow([unwound.rollbackPhase, unwound.restorePhase])
        } else if let warning = await lastGood.record(plan, model: await started.model.value) {
            report.note(warning)
        }
        // A signal while a failed run was being undone is still a signal: exit 130, as in every other phase.
        let outcome = started.outcome == .failed && Task.isCancelled ? .interrupted : started.outcome
        return LaunchResult(
            environment: profile.name, project: plan.project, outcome: outcome, exitCode: ExitStatus(outcome).rawValue,
            startedAt: startedAt, seconds: timeline.elapsed, phases: phases, services: started.services,
            degraded: started.services.filter { $0.serviceClass != .core && $0.state != .ready }.map(\.name), urls: profile.urls,
            rollback: unwound.rollback, error: started.run.eventStreamError.map { "engine event stream: \($0)" },
            engine: .init(
                endpoint: client.endpoint.description, apiVersion: (try? await client.apiVersion())?.description,
                eventStreamReconnects: started.run.streamReconnects, launcherCPUSeconds: Self.ownCPUSeconds()),
            configFingerprint: prepared.fingerprint, restore: unwound.restore, hostPressure: started.hostPressure
        )
        .describing(plan, graph: checked.graph)
    }

    /// What Compose created must be what was planned: a container this run created for a service the plan does not
    /// have, or a file Compose read that is not as it was when the plan was made, means the files changed between
    /// plan and create. The run then fails (and unwinds) rather than start, or leave behind, what nobody planned.
    /// (Compose's own config hash is not compared with its labels: it differs for `env_file:` services on many
    /// Compose versions and for `network_mode: service:…`.)
    static func checkPlanned(
        _ plan: LaunchPlan, created: [String: [ContainerDetails]], before: ProjectSnapshot, inputs: [String: String]
    ) throws {
        let planned = Set(plan.stack.serviceNames)
        var changed = created.filter { service, containers in
            !planned.contains(service) && containers.contains { !before.containers.contains($0.id) }
        }.keys.sorted().map { "\($0): created, but not in the plan" }
        let now = inputDigests(plan.composeCommand)
        changed += inputs.keys.sorted().filter { now[$0] != inputs[$0] }.map { "\($0): changed since the plan was made" }
        guard !changed.isEmpty else { return }
        throw CreateFailure(
            evidence: changed, command: plan.composeCommand.create().description,
            what: "the compose files changed between plan and create",
            nextStep: "launch again once the files are as you want them; `launch plan \(plan.environment)` shows what they ask for")
    }

    /// The SHA-256 of every file Compose reads for the stack (the compose files and what they include, the env files),
    /// by path; a file that cannot be read is "absent".
    static func inputDigests(_ compose: Compose) -> [String: String] {
        let files = ComposeFileSet.expandingIncludes(compose.files) + [compose.baseEnvFile, compose.envFile].compactMap { $0 }
        return Dictionary(files.map { ($0, BuildContext.digest(of: $0) ?? "absent") }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether a failure was the engine going away: the heartbeat said so, or the engine does not answer now (Compose's
    /// own words for an engine that went are many; a few seconds of pings decide).
    static func silence(_ error: any Error, client: EngineClient, phase: String) async -> EngineSilence? {
        if let lost = error as? EngineLostError { return lost.silence }
        guard error is CreateFailure || error is PhaseFailure || (error as? EngineError)?.isNoAnswer == true else { return nil }
        return await EngineHeartbeat.confirmLoss(client, phase: (error as? PhaseFailure)?.phase ?? phase)
    }

    /// The engine went during `silence.phase`: the removal is tried briefly (only if it answers now), and the failure
    /// says what this run made that may still exist.
    func lost(
        _ silence: EngineSilence, plan: LaunchPlan, undo: LaunchUndo, before: ProjectSnapshot, services: [ServiceRun],
        report: ProgressReporter
    ) async -> EngineLost {
        report.note(
            "the engine at \(silence.endpoint) has not answered for \(String(format: "%.1f", silence.seconds))s (\(silence.lastError)): the launch stops here"
        )
        // Lost while Compose was creating: what it sent may land after it is gone, so the removal lists again.
        let undone = await undo.unwindAfterLoss(report: report, createRaced: services.isEmpty)
        let complete = undone.map { $0.errors.isEmpty } ?? false
        var lost = EngineLost(
            silence: silence, environment: plan.environment, rolledBack: complete,
            leftovers: complete ? [] : Self.leftovers(plan, before: before, services: services, removed: undone?.removedContainers ?? []),
            servicesAtLoss: services.map { "\($0.name) \($0.state)" })
        // The last good state is not restored against a lost engine: what a relaunch may have replaced is named.
        lost.ranBefore = before.runningByService.filter { !$0.value.isEmpty }.keys.sorted()
        return lost
    }

    /// What a run that lost its engine may have left, from what it recorded: the containers it created (or, lost while
    /// Compose was creating, the services it was creating them for) and the networks Compose makes with them.
    static func leftovers(_ plan: LaunchPlan, before: ProjectSnapshot, services: [ServiceRun], removed: [String]) -> [String] {
        let containers = services.flatMap(\.containers).filter { !before.containers.contains($0.id) && !removed.contains($0.name) }
        let made =
            services.isEmpty
            ? ["containers Compose was creating for \(plan.stack.services.map(\.name).joined(separator: ", "))"]
            : containers.isEmpty ? [] : ["containers \(containers.map(\.name).sorted().joined(separator: ", "))"]
        return made + ["networks of project \(plan.project) this run created (named volumes are data: `launch down` keeps them)"]
    }

    /// A failure of the create phase as the user sees it: a create failure carries the configuration's fingerprint
    /// (for the circuit breaker) and the restore; any other failure is wrapped with the restore when there was one.
    static func failure(_ error: any Error, fingerprint: String, restore: RestoreReport?, rollback: RollbackReport? = nil) -> any Error {
        if var failure = error as? CreateFailure {
            failure.fingerprint = fingerprint
            failure.restore = restore
            failure.undoErrors = rollback?.errors.count ?? 0
            return failure
        }
        if let restore, let failure = error as? any LaunchFailure { return RestoredFailure(underlying: failure, restore: restore) }
        return error
    }

    /// Images that were pulled just now may or may not bring a HEALTHCHECK: a `service_healthy` on one that has
    /// none can never hold (refused before anything starts), unless the dependency is optional (skipped, warned).
    /// The stack and graph the start phase then works with.
    func checkConditions(_ plan: LaunchPlan, created: [String: [ContainerDetails]], redact: Redactor, report: ProgressReporter) throws
        -> (stack: ComposeStack, graph: DependencyGraph)
    {
        let checked = try Planner.checkingConditions(
            plan.stack, graph: plan.graph, imageChecks: Self.containerHealthchecks(created), file: plan.composeFiles.first ?? "compose")
        for warning in checked.warnings { report.note("warning: " + redact(warning)) }
        return (checked.stack, checked.graph)
    }

    /// A relaunch that will recreate running services says so before it does, and whether it can put them back. When
    /// `.launch/` cannot hold a last good state (a file, read-only, full), a failure could not be undone: refused
    /// before anything changes, unless `--force`.
    func noteRecreations(
        _ plan: LaunchPlan, before: ProjectSnapshot, hashes: [String: String]?, lastGood: LastGood, force: Bool, report: ProgressReporter
    ) async throws {
        guard let hashes, !before.runningByService.isEmpty,
            let existing = try? await client.listContainers(all: true, labels: ComposeLabels.projectFilter(plan.project))
        else { return }
        let recreated = LastGood.changes(hashes: hashes, containers: existing).filter { $0.value == .recreate }.keys.sorted()
        guard !recreated.isEmpty else { return }
        if !force, let problem = lastGood.unrecordable() {
            throw PhaseFailure(
                phase: "relaunch",
                summary:
                    "this relaunch would recreate \(recreated.joined(separator: ", ")), and no last good state can be kept to put them back on failure; nothing was changed",
                evidence: [problem], hint: "fix the state directory as said above, or pass --force to relaunch without a way back")
        }
        let saved = FileManager.default.fileExists(atPath: lastGood.path)
        report.note(
            "relaunch: recreate (config changed): \(recreated.joined(separator: ", "))"
                + (saved
                    ? "; the last good state is kept to restore them on failure" : "; no last good state is recorded to restore them from"))
    }

    /// The preflight phase both engines run: every check, and nothing started when one fails.
    static func preflightPhase(
        _ plan: LaunchPlan, preflight: @Sendable (LaunchPlan) async -> [String], timeline: Timeline, report: ProgressReporter
    ) async throws {
        try await timeline.measure("preflight", report: report) {
            let failures = await preflight(plan)
            guard failures.isEmpty else {
                throw PhaseFailure(
                    phase: "preflight", summary: "preflight failed: nothing was started", evidence: failures,
                    hint: "fix the failing checks; `launch doctor \(plan.environment)` runs them alone")
            }
            return ((), nil)
        }
    }

    /// The env phase both engines run: create or complete the env file, saying what changed.
    static func envPhase(
        _ profile: Profile, context: LaunchContext, layout: ProjectLayout, timeline: Timeline, report: ProgressReporter
    ) async throws -> EnvProvisioner.Outcome {
        try await timeline.measure("env", report: report) {
            let outcome = try EnvProvisioner(layout: layout, profile: profile).provision(
                now: context.now(), environment: context.environment)
            let added = outcome.addedSecrets.count + outcome.addedVariables.count
            return (
                outcome,
                outcome.created
                    ? "created \(outcome.path)" : (added > 0 ? "added \(added) keys to \(outcome.path)" : "\(outcome.path) complete")
            )
        }
    }

    /// User + system CPU of this process (all its threads, none of its children).
    static func ownCPUSeconds() -> Double? {
        guard let usage = Platform.ownUsage() else { return nil }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// What the created containers say about health, for services whose compose file has no healthcheck.
    static func containerHealthchecks(_ created: [String: [ContainerDetails]]) -> [String: ImageHealthcheck] {
        created.compactMapValues { containers in containers.first.map { ImageHealthcheck(stored: $0.config.healthcheck) } }
    }

    func interruptedResult(
        _ plan: LaunchPlan, startedAt: Date, phases: [LaunchResult.Phase], timeline: Timeline, unwound: LaunchUndo.Unwound
    ) -> LaunchResult {
        LaunchResult(
            environment: plan.environment, project: plan.project, outcome: .interrupted, exitCode: ExitStatus.interrupted.rawValue,
            startedAt: startedAt, seconds: timeline.elapsed, phases: phases, services: [], degraded: [], urls: plan.urls,
            rollback: unwound.rollback, error: nil, restore: unwound.restore
        )
        .describing(plan, graph: plan.graph)
    }

    /// Prunes this project's stopped containers and dangling images (never volumes, never anything of another
    /// project: engine-wide pruning is `launch clean`, which asks first) when more than the profile's share of
    /// them is reclaimable. A cleanup problem is reported, never a reason to stop the launch.
    func cleanup(_ policy: Profile.CleanupPolicy, project: String) async -> ((), String?) {
        do {
            guard
                let pruned = try await Cleanup(context: context, label: ComposeLabels.projectLabel(project)).runIfNeeded(policy: policy)
            else {
                return ((), "prunable space below the \(Int(policy.reclaimablePercent))% threshold")
            }
            return ((), "reclaimed \(pruned.reclaimed)" + (pruned.decision.map { " (\($0.reason))" } ?? ""))
        } catch {
            return ((), "skipped: \((error as? any LaunchFailure)?.summary ?? "\(error)")")
        }
    }

    /// Pulls what `pull_policy` (or `--pull`) asks for — by default only images not present — and builds `build:`
    /// services whose image is missing or was built from another context (`launch.context-hash`), or all of them
    /// with `--build`, none with `--no-build`.
    func prepareImages(_ plan: LaunchPlan, options: LaunchOptions, report: ProgressReporter, redact: Redactor) async throws -> ((), String?)
    {
        // Each distinct image once, all at once: this runs before anything can start.
        let references = Dictionary(grouping: plan.stack.services) { $0.image ?? "\(plan.project)-\($0.name)" }
        let client = self.client
        let present = await withTaskGroup(of: (String, Bool).self) { group in
            for reference in references.keys {
                group.addTask { (reference, (try? await client.imageExists(reference)) ?? false) }
            }
            var found: [String: Bool] = [:]
            for await (reference, exists) in group { found[reference] = exists }
            return found
        }
        var missingPull: [String] = []
        var missingBuild: [String] = []
        var neverPulled: [String] = []
        for service in plan.stack.services {
            let isPresent = present[service.image ?? "\(plan.project)-\(service.name)"] == true
            let policy = service.pullPolicy ?? "missing"
            if service.builds {
                switch options.build {
                case .never: continue
                case .always: missingBuild.append(service.name)
                case .whenChanged:
                    if !isPresent || plan.buildDecisions[service.name] == .changed || policy == "build" {
                        missingBuild.append(service.name)
                    }
                }
            } else if let image = service.image {
                if options.pull || policy == "always" {
                    missingPull.append(service.name)
                } else if !isPresent {
                    if policy == "never" { neverPulled.append("\(service.name) (\(image))") } else { missingPull.append(service.name) }
                }
            }
        }
        if !neverPulled.isEmpty {
            throw PhaseFailure(
                phase: "images", summary: "images are missing and pull_policy: never forbids pulling them; nothing was started",
                evidence: neverPulled, hint: "load or pull them yourself (`docker pull`), or drop `pull_policy: never`")
        }
        if !missingPull.isEmpty {
            do {
                try await runStreaming(
                    plan.composeCommand.pull(services: missingPull), what: "pulling images for \(missingPull.joined(separator: ", "))",
                    report: report, redact: redact,
                    hint: "check the network and registry credentials (`docker login`), or pull the images yourself")
            } catch let failure as PhaseFailure {
                let images = Set(missingPull.compactMap { plan.stack.service($0)?.image })
                throw await Self.explainPull(failure, images: images.sorted())
            }
        }
        if !missingBuild.isEmpty {
            try await build(missingBuild, plan: plan, report: report, redact: redact)
        }
        let detail =
            missingPull.isEmpty && missingBuild.isEmpty
            ? "all present locally" : "pulled \(missingPull.count), built \(missingBuild.count)"
        return ((), detail)
    }

    /// Builds through Compose with one extra file that only adds the label `launch.context-hash` to each image, so
    /// the next plan can tell whether the context changed since. The file is private and removed afterwards; it is
    /// passed to `build` only, so the services' config hashes (and containers) are not affected by it.
    func build(_ services: [String], plan: LaunchPlan, report: ProgressReporter, redact: Redactor) async throws {
        var compose = plan.composeCommand
        let labels = services.compactMap { name in
            // The plan's reading left every file's digest in the cache: this costs a stat per file.
            plan.stack.service(name)?.buildContext.flatMap {
                $0.hash(cache: BuildContextCache.for(context: $0.directory, layout: layout), excluding: layout.stateDirectory)
            }
            .map { (name, $0) }
        }
        let overlay = FileManager.default.temporaryDirectory.appendingPathComponent("launch-build-\(UUID().uuidString).yml").path
        if !labels.isEmpty {
            let text =
                "services:\n"
                + labels.map { "  \($0.0):\n    build:\n      labels:\n        \(BuildContext.label): \"\($0.1)\"\n" }.joined()
            try? AtomicFile.write(text, to: overlay)
            if FileManager.default.fileExists(atPath: overlay) { compose.files.append(overlay) }
        }
        defer { try? FileManager.default.removeItem(atPath: overlay) }
        let reasons = services.map { "\($0) (\(plan.buildDecisions[$0]?.description ?? "build"))" }
        try await runStreaming(
            compose.build(services: services), what: "building \(reasons.joined(separator: ", "))",
            report: report, redact: redact, hint: "fix the build error above; `docker compose build` reproduces it")
    }

    /// A failed pull whose registries do not answer at all is not a credentials problem: say so, and point at
    /// the quickstart, which needs no registry. Decided by probing the registries, not by reading Compose's words.
    static func explainPull(_ failure: PhaseFailure, images: [String], timeout: Duration = .seconds(3)) async -> PhaseFailure {
        let registries = Array(Set(images.map(ImageChecks.registry(for:))))
        let unreachable = await withTaskGroup(of: (ImageChecks.Registry, ImageChecks.Reachability).self) { group in
            for registry in registries {
                group.addTask {
                    (
                        registry,
                        ImageChecks.reachability(
                            await TCPProbe.connect(host: registry.host, port: registry.port, timeout: timeout), timeout: timeout)
                    )
                }
            }
            var found: [String] = []
            for await (registry, reachability) in group {
                if case .unreachable(let reason) = reachability { found.append("\(registry): \(reason)") }
            }
            return found.sorted()
        }
        return Self.pullFailure(failure, unreachable: unreachable, registries: registries.count, images: images)
    }

    /// Pure: the pull failure, rewritten when every registry it needed was unreachable.
    static func pullFailure(_ failure: PhaseFailure, unreachable: [String], registries: Int, images: [String] = []) -> PhaseFailure {
        guard !unreachable.isEmpty, unreachable.count == registries else { return failure }
        var explained = failure
        explained.summary = "images could not be pulled: no registry answers; nothing was started"
        explained.evidence = unreachable.map { "registry \($0)" } + failure.evidence.suffix(5)
        explained.hint = Self.noRegistryHint(missing: images)
        return explained
    }

    /// The quickstart's one image: what it needs to run at all.
    public static let quickstartImage = "local/busybox:latest"

    /// Where to go when this machine has no registry: the quickstart, which needs only a local image — unless that
    /// image is the one missing, when pointing at the quickstart would go round in a circle: then how to make it.
    public static func noRegistryHint(missing images: [String]) -> String {
        if images.contains(quickstartImage) {
            return
                "\(quickstartImage) is made locally, never pulled: `.ci/docker-engine.sh up` in the launch repository imports it offline "
                + "(from Debian's busybox-static), or `docker pull busybox:1.36 && docker tag busybox:1.36 \(quickstartImage)` where a registry answers"
        }
        return quickstartHint
    }

    /// Where to go when this machine has no registry: the stack that needs none.
    public static let quickstartHint =
        "without a registry, run the quickstart, which needs only local images: `launch --project-dir examples/quickstart demo` in the launch repository"

    func runStreaming(_ command: Command, what: String, report: ProgressReporter, redact: Redactor, hint: String) async throws {
        let tail = LineBuffer(limit: 20)
        report.note(what)
        let status = try await context.runner.stream(command) { _, line in
            let clean = redact(line)
            tail.append(clean)
            report.passthrough(clean)
        }
        try Task.checkCancellation()
        guard status == 0 else {
            // A child that died of SIGINT/SIGTERM was interrupted with us, not a failed pull.
            if status == 130 || status == 143 { throw CancellationError() }
            throw PhaseFailure(
                phase: "images", summary: "\(what) failed (exit \(status)); nothing was started", evidence: tail.lines, hint: hint)
        }
    }

    /// `docker compose up --no-start`: networks, volumes and containers, nothing running yet.
    func create(_ plan: LaunchPlan, redact: Redactor) async throws -> ([String: [ContainerDetails]], String?) {
        let expected = plan.services.reduce(0) { $0 + max($1.replicas, 1) }
        let output = try await context.runner.run(
            plan.composeCommand.create().limited(to: Compose.createDeadline(containers: expected)))
        try Task.checkCancellation()
        guard output.succeeded else {
            let lines = output.stderr.split(whereSeparator: \.isNewline).suffix(15).map { redact(String($0)) }
            throw CreateFailure(evidence: lines, command: plan.composeCommand.create().description)
        }
        let containers = try await client.listContainers(all: true, labels: ComposeLabels.projectFilter(plan.project))
        var byService: [String: [ContainerDetails]] = [:]
        try await withThrowingTaskGroup(of: ContainerDetails.self) { group in
            for container in containers where container.labels[ComposeLabels.oneOff] != "True" {
                group.addTask { try await client.inspectContainer(container.id) }
            }
            for try await details in group {
                guard let service = details.config.labels[ComposeLabels.service] else { continue }
                byService[service, default: []].append(details)
            }
        }
        return (byService.mapValues { $0.sorted { $0.name < $1.name } }, "\(containers.count) containers")
    }
}

public struct CreateFailure: LaunchFailure {
    public var evidence: [String]
    public var command: String
    /// What went wrong, when it was not Compose refusing (the files changed under it).
    public var what = "Compose could not create the stack"
    public var nextStep: String? = nil
    /// False for the per-service commands, which change only what they name and undo nothing.
    public var rolledBack = true
    /// The configuration that failed, for the circuit breaker.
    public var fingerprint: String? = nil
    /// Services Compose had already replaced, put back from the last good state (or why they could not be).
    public var restore: RestoreReport? = nil
    /// Things the rollback could not undo (listed as it ran): the summary then never says "rolled back".
    public var undoErrors = 0
    public var summary: String {
        guard rolledBack else { return "Compose could not create the containers" }
        let undone =
            undoErrors == 0
            ? "what this run created was rolled back"
            : "the rollback could not undo \(undoErrors) thing\(undoErrors == 1 ? "" : "s") (listed above)"
        guard let restore else { return "\(what); \(undone)" }
        return "\(what); \(undone) \(restore.verdict)"
    }
    public var hint: String? { nextStep ?? "read Compose's message above; `\(command)` reproduces it" }
    public var exitCode: ExitStatus { .launchFailed }
}

/// A failure after which launch put back (or tried to) what the run had replaced: the failure as it was, with the
/// restore's outcome in its summary and in the run report.
public struct RestoredFailure: LaunchFailure {
    public var underlying: any LaunchFailure
    public var restore: RestoreReport
    public var summary: String { "\(underlying.summary); what this run created was rolled back \(restore.verdict)" }
    public var evidence: [String] { underlying.evidence }
    public var hint: String? { underlying.hint }
    public var exitCode: ExitStatus { underlying.exitCode }
}

/// Keeps the last lines of a stream, for evidence.
final class LineBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [String] = []
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func append(_ line: String) {
        lock.withLock {
            buffer.append(line)
            if buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
        }
    }
    var lines: [String] { lock.withLock { buffer } }
}

extension Launcher {
    /// The runs of a ready, label-judged service's containers as the engine names them (`<id>@<StartedAt>`): what a
    /// relaunch compares with exactly, never a time on another clock. Nil for every other service.
    func judgedRuns(_ run: ServiceRun, client: EngineClient) async -> [String]? {
        guard run.state == .ready, run.rule.signal != nil else { return nil }
        var runs: [String] = []
        for container in run.containers {
            guard let details = try? await client.inspectContainer(container.id), details.state.running else { continue }
            runs.append("\(details.id)@\(details.state.startedAt)")
        }
        return runs
    }
}
