import Foundation

/// Builds a `LaunchPlan`: probes GPUs, picks the overlay, reads the resolved stack and orders it.
/// Reads the world, never changes it.
public struct Planner: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout

    public init(context: LaunchContext, layout: ProjectLayout) {
        self.context = context
        self.layout = layout
    }

    /// `overlay`: decided elsewhere (a swarm's GPUs are its nodes'), so this machine's GPUs are not probed for it.
    public func plan(
        _ profile: Profile, probe knownProbe: GPUProbe? = nil, compose knownCompose: ComposeDetector.Detection?? = nil,
        overlay knownOverlay: OverlayDecision? = nil
    ) async throws -> LaunchPlan {
        // An engine elsewhere is asked first: one that does not answer is exit 2 within seconds, as in doctor.
        if !context.engine.isLocal && knownOverlay == nil { _ = try await EngineClient(context: context).apiVersion() }
        // A local engine is asked beside Compose: one that is hung is known before its images are asked about, and
        // no question waits out the same deadline again.
        let contact = Task { [context] in await Self.hungEngine(context) }
        var probe = try await initialProbe(profile, known: knownProbe, overlay: knownOverlay)
        let overlay = knownOverlay ?? OverlayDecision.decide(profile.gpu, probe: probe)
        let files = (profile.compose.files + (overlay.file.map { [$0] } ?? [])).map(layout.composeFile)
        let env = EnvInputs(profile: profile, layout: layout, environment: context.environment, files: files)
        var compose = composeCommand(profile, files: files, env: env)
        var profiles = composeProfiles(profile, files: files, env: env)
        compose.profiles = profiles.active
        var model = try await resolveModel(compose, known: knownCompose, profile: profile, files: files, env: env, profiles: profiles)
        compose.flavor = model.detection?.flavor ?? compose.flavor
        let everyProfile = try await activatingNamedServices(
            profile, compose: &compose, model: &model, profiles: &profiles, files: files, env: env)
        var stack = model.stack
        // Without an env file yet, the plan shows the flag `launch` will pass once `launch env` created it.
        if !env.exists { compose.envFile = env.provisioner.path }
        try Self.checkNamedServices(
            profile, stack: stack, serviceProfiles: everyProfile ?? ComposeFileSet.serviceProfiles(files),
            defined: everyProfile.map { Set($0.keys) },
            layout: layout)
        var graph = try DependencyGraph(stack)
        // The stack's own GPU requests count whatever the profile says: a base file may reserve GPUs itself.
        if knownProbe == nil, knownOverlay == nil, profile.gpu.mode == .none, stack.services.contains(where: \.requestsGPUs) {
            probe = try await probeGPUs()
        }
        // An image's own HEALTHCHECK counts like one in the compose file (the engine runs it, Compose waits for it).
        let hung = await contact.value
        let imageChecks = await imageHealthchecks(stack, asking: hung == nil)
        stack = Self.applying(imageChecks, to: stack)
        let checked = try Self.checkingConditions(
            stack, graph: graph, imageChecks: imageChecks, file: files.first.map(layout.display) ?? "compose")
        (stack, graph) = (checked.stack, checked.graph)
        let skipped = checked.warnings
        let history = ReadinessHistory(store: RunStore(layout: layout), environment: profile.name)
        let builds = await buildDecisions(stack, project: profile.compose.project)
        // What is shown (and `--json`) never carries a secret that interpolation put into an image name.
        let jobs = Self.jobs(in: stack)
        let services = stack.services.map { service in
            var planned = plannedService(service, profile: profile, dependedOnForCompletion: jobs, history: history)
            planned.image = planned.image.map { env.redact($0) }
            planned.build = builds[service.name]?.description
            return planned
        }
        var warnings = skipped + Self.healthcheckWarnings(stack, imageChecks: imageChecks, profile: profile)
        warnings += ComposeLifecycle.warnings(
            ComposeLifecycle.uses(files, display: layout.display), composeVersion: model.detection?.version)
        warnings += Self.setupWarnings(stack, overlay: overlay, profile: profile, envExists: env.exists)
        if knownOverlay == nil, let shortfall = Self.gpuShortfall(stack, probe: probe, profile: profile) { warnings.append(shortfall) }
        if let drivers = GPUChecks.unknownDrivers(stack) {
            warnings.append("\(drivers.evidence): `launch doctor \(profile.name)` fails on it")
        }
        warnings += Self.historyWarnings(services, history: history)
        if let hung { warnings.append("the engine did not answer (\(hung)): images' own healthchecks and what runs now were not read") }
        if profile.health.requireHealthcheck {
            for service in services where service.readiness.hasPrefix("running") {
                warnings.append("\(service.name) has no healthcheck but the profile sets health.require_healthcheck")
            }
        }
        return LaunchPlan(
            environment: profile.name, aliases: profile.aliases, summary: profile.summary,
            profileFile: profile.sourceFile, projectRoot: layout.root, project: profile.compose.project,
            composeFiles: files.map(layout.display), composeProfiles: profiles, overlay: overlay, envFile: env.state,
            modelSource: model.source, compose: model.detection.map { "\($0.flavor.displayName) \($0.version)" }, services: services,
            levels: graph.levels, commands: commands(compose, stack: stack), urls: profile.urls,
            warnings: warnings.map { env.redact($0) }, engineProblem: hung,
            stack: stack, graph: graph, buildDecisions: builds, composeCommand: compose, profile: profile, gpuProbe: probe,
            composeDetection: model.detection)
    }

    /// The engine's first contact, when it timed out (a hung daemon); nil when it answered or is simply not there
    /// (refused, missing: every question about it fails at once anyway).
    static func hungEngine(_ context: LaunchContext) async -> String? {
        do {
            _ = try await EngineClient(context: context).apiVersion()
            return nil
        } catch let error as EngineError {
            if case .timedOut = error { return "\(error.summary) at \(context.engine)" }
            return nil
        } catch {
            return nil
        }
    }

    /// Compose for this profile: its files, the env files (the project's `.env` first), and the variables `.env`
    /// refers to that the profile's env file holds — it stands where the shell stands for `.env`
    /// (`NVIDIA_API_KEY=${NGC_API_KEY}` finds the key in it, as in an exported shell variable).
    func composeCommand(_ profile: Profile, files: [String], env: EnvInputs) -> Compose {
        var compose = Compose(
            flavor: .plugin(docker: context.docker.executable), project: profile.compose.project, files: files,
            envFile: env.exists ? env.provisioner.path : nil, environment: context.docker.environment)
        compose.baseEnvFile = env.dotEnv?.path
        compose.environment.merge(
            Self.exports(forDotEnv: env.dotEnv?.file, envFile: env.file, supplied: env.supplied, shell: context.environment)
        ) { current, _ in current }
        return compose
    }

    /// A service the environment names that the files' own text does not place under a profile (a merge key, an
    /// `extends`, an `include` carries it) is looked up in Compose's whole model, its profile activated and the model
    /// read again. Returns Compose's every service with its profiles, when it was asked.
    func activatingNamedServices(
        _ profile: Profile, compose: inout Compose,
        model: inout (stack: ComposeStack, source: String, detection: ComposeDetector.Detection?),
        profiles: inout ComposeProfileSelection, files: [String], env: EnvInputs
    ) async throws -> [String: [String]]? {
        let named = Self.namedServices(profile)
        // Compose v1 reads `*` as a profile name; there the files' own text is all there is.
        guard let detection = model.detection, !detection.version.hasPrefix("1."),
            named.contains(where: { model.stack.service($0) == nil }),
            let every = await composeServiceProfiles(compose, env: env)
        else { return nil }
        let decided = ComposeProfileSelection.decide(requested: profiles.active, named: named, serviceProfiles: every)
        if decided.active != profiles.active {
            profiles.activations += decided.activations
            profiles.active = decided.active
            compose.profiles = profiles.active
            model = try await resolveModel(compose, known: model.detection, profile: profile, files: files, env: env, profiles: profiles)
        }
        return every
    }

    /// This machine's GPUs, unless they do not matter: known already, decided elsewhere (a swarm's nodes), or a
    /// profile without GPUs (then asked later only if the stack itself requests some).
    func initialProbe(_ profile: Profile, known: GPUProbe?, overlay: OverlayDecision?) async throws -> GPUProbe {
        if let known { return known }
        if profile.gpu.mode == .none || overlay != nil { return .notInstalled }
        return try await probeGPUs()
    }

    /// The GPUs of the machine the engine runs on: this one's through nvidia-smi for a local socket, the engine's
    /// own word for any other endpoint (never this machine's figures for a remote engine).
    func probeGPUs() async throws -> GPUProbe {
        guard context.engine.isLocal else { return try await EngineGPUProbe.run(client: EngineClient(context: context)) }
        return await GPUProbe.run(context.nvidiaSMI, runner: context.runner, environment: context.environment)
    }

    /// The env file as the plan sees it: what is there, what a launch will add, and the redactor for both.
    struct EnvInputs {
        let provisioner: EnvProvisioner
        let file: EnvFile?
        let state: LaunchPlan.EnvFileState
        /// Values the env file will get on launch, in memory: Compose must be able to resolve `${SECRET:?}` now.
        /// The shell wins over them, as it wins over the env file.
        let supplied: [String: String]
        let redact: Redactor
        var exists: Bool { file != nil }

        /// The project's own `.env` beside the first compose file (Compose reads it too), read once.
        let dotEnv: (path: String, file: EnvFile)?

        init(profile: Profile, layout: ProjectLayout, environment: [String: String], files: [String]) {
            dotEnv = files.first.flatMap { first -> (String, EnvFile)? in
                let path = (first as NSString).deletingLastPathComponent + "/.env"
                return FileManager.default.contents(atPath: path).map { (path, EnvFile(bytes: [UInt8]($0))) }
            }
            provisioner = EnvProvisioner(layout: layout, profile: profile)
            file = try? provisioner.read()
            let missing = provisioner.missingKeys(in: file)
            state = LaunchPlan.EnvFileState(
                path: profile.envFile, exists: file != nil, missingVariables: missing.variables, missingSecrets: missing.secrets,
                mode: AtomicFile.mode(of: provisioner.path).map { String($0, radix: 8) })
            let pending = provisioner.pendingValues(in: file)
            supplied = pending.variables.merging(pending.secrets) { a, _ in a }.filter { environment[$0.key] == nil }
            redact = Redactor(profile: profile, envFile: file, environment: environment).adding(Array(pending.secrets.values))
        }
    }

    /// The resolved model, from Compose where there is one (asked while detection runs: most machines have the v2
    /// plugin), else read from the files as Compose would read them.
    func resolveModel(
        _ plugin: Compose, known: ComposeDetector.Detection??, profile: Profile, files: [String], env: EnvInputs,
        profiles: ComposeProfileSelection
    ) async throws -> (stack: ComposeStack, source: String, detection: ComposeDetector.Detection?) {
        let supplied = env.supplied, redact = env.redact
        let detection: ComposeDetector.Detection?
        let optimistic: Result<ComposeStack, any Error>?
        if let known {
            detection = known
            optimistic = nil
        } else {
            async let detected = ComposeDetector(runner: context.runner, docker: context.docker).detect()
            let envFileName = layout.display(env.provisioner.path)
            async let early = Self.capture {
                try await resolvedStack(plugin, supplied: supplied, redact: redact, envFileName: envFileName)
            }
            detection = await detected
            optimistic = detection?.flavor == plugin.flavor ? await early : nil
        }
        if let optimistic { return (try optimistic.get(), "docker compose config", detection) }
        if let detection {
            var compose = plugin
            compose.flavor = detection.flavor
            return (
                try await resolvedStack(compose, supplied: supplied, redact: redact, envFileName: layout.display(env.provisioner.path)),
                "docker compose config", detection
            )
        }
        let values = (env.file?.values ?? [:]).merging(supplied) { a, _ in a }
        let defaults = Dictionary(profile.variables.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let expanded = ComposeFileSet.expandingIncludes(files)
        let environment = context.environment
        var stack = try ComposeModelReader.read(
            files: expanded, displayNames: expanded.map(layout.display), lookup: { environment[$0] ?? values[$0] ?? defaults[$0] })
        // As Compose would: a service behind a profile that is not active does not exist.
        let inProfiles = ComposeFileSet.serviceProfiles(files)
        stack.services.removeAll { service in
            guard let own = inProfiles[service.name], !own.isEmpty else { return false }
            return !profiles.active.contains("*") && !own.contains(where: profiles.active.contains)
        }
        return (stack, "compose files (Compose not found; read directly)", nil)
    }

    /// What the plan says about how services will be judged ready: images whose HEALTHCHECK is not known yet,
    /// services with none (and the check to add), jobs whose readiness label goes unused.
    static func healthcheckWarnings(_ stack: ComposeStack, imageChecks: [String: ImageHealthcheck], profile: Profile) -> [String] {
        var warnings: [String] = []
        let jobs = Self.jobs(in: stack)
        for service in stack.services where service.healthcheck == nil && service.image != nil && imageChecks[service.name] == .absent {
            // One warning per service: the check to add, if the image turns out to have none, goes with it — for a
            // service a healthcheck would decide (not a job, not one with a readiness label or its check switched off).
            let decidedByCheck = !jobs.contains(service.name) && ReadySignal(labels: service.labels) == nil && !service.healthcheckDisabled
            let known =
                !decidedByCheck
                ? nil
                : service.image.flatMap(HealthcheckSuggestion.suggestion).map {
                    " (if it has none, add `healthcheck: {test: \($0.test)}`: \($0.what))"
                }
            warnings.append(
                "\(service.name): image \(service.image ?? "") is not present: whether it has a HEALTHCHECK is decided after the pull"
                    + (known ?? ""))
        }
        // An image not pulled yet may bring its own HEALTHCHECK (said above); a well-known one documents none.
        for service in stack.services
        where service.healthcheck == nil && !service.healthcheckDisabled && !jobs.contains(service.name)
            && ReadySignal(labels: service.labels) == nil
            && (service.builds || imageChecks[service.name] != .absent)
        {
            warnings.append(
                HealthcheckSuggestion.warning(
                    service: service.name, image: service.image, stability: DurationText.format(profile.health.stability)))
        }
        for service in stack.services where jobs.contains(service.name) && ReadySignal(labels: service.labels) != nil {
            warnings.append("\(service.name) is a job: it is ready when it exits 0, so its readiness label is not used")
        }
        return warnings
    }

    /// The overlay's own warning, tensor parallelism without shared memory, an env file not made yet.
    static func setupWarnings(_ stack: ComposeStack, overlay: OverlayDecision, profile: Profile, envExists: Bool) -> [String] {
        var warnings: [String] = []
        if let warning = overlay.warning { warnings.append(warning) }
        for parallel in stack.services.compactMap(\.tensorParallelism) where !parallel.hasEnoughSharedMemory {
            warnings.append(GPUChecks.sharedMemoryWarning(parallel) + "; " + GPUChecks.sharedMemoryFix(parallel))
        }
        if !envExists {
            warnings.append(
                "\(profile.envFile) does not exist yet: `launch \(profile.name)` creates it (or run `launch env \(profile.name)`)")
        }
        return warnings
    }

    /// The image HEALTHCHECK of every service whose compose file declares none, one `docker image inspect` per
    /// distinct image, concurrently (through the runner, so plans stay testable without an engine). Unknown
    /// (no engine, no CLI) counts as absent: the plan must not fail because doctor would.
    /// `asking: false` (a hung engine): nothing is asked, every image counts as not read (`.absent`).
    func imageHealthchecks(_ stack: ComposeStack, asking: Bool = true) async -> [String: ImageHealthcheck] {
        let images =
            asking ? Set(stack.services.filter { $0.healthcheck == nil && !$0.healthcheckDisabled && !$0.builds }.compactMap(\.image)) : []
        let runner = context.runner, docker = context.docker
        let byImage = await withTaskGroup(of: (String, ImageHealthcheck).self) { group in
            for image in images {
                group.addTask {
                    guard let output = try? await runner.run(docker.imageHealthcheck(image)), output.succeeded else {
                        return (image, .absent)
                    }
                    return (image, ImageHealthcheck.parse(output.stdout))
                }
            }
            var found: [String: ImageHealthcheck] = [:]
            for await (image, check) in group { found[image] = check }
            return found
        }
        var result: [String: ImageHealthcheck] = [:]
        for service in stack.services where service.healthcheck == nil {
            // Switched off in the compose file: the engine runs none, whatever the image declares.
            result[service.name] = service.healthcheckDisabled ? ImageHealthcheck.none : service.image.flatMap { byImage[$0] } ?? .absent
        }
        return result
    }

    /// For each `build:` service: its context hashed now (through the cache in `.launch/cache/`) against the label on
    /// its image (one Engine API inspect each, concurrently). Reads files and asks the engine; builds nothing.
    func buildDecisions(_ stack: ComposeStack, project: String) async -> [String: BuildDecision] {
        let client = EngineClient(context: context), layout = layout
        return await withTaskGroup(of: (String, BuildDecision).self) { group in
            for service in stack.services where service.builds {
                let image = service.image ?? "\(project)-\(service.name)"
                let buildContext = service.buildContext
                let cache = buildContext.flatMap { BuildContextCache.for(context: $0.directory, layout: layout) }
                group.addTask {
                    // No label: the image exists without it (built by Compose alone); no image, or no engine: missing.
                    let labels = (try? await client.imageLabels(image)) ?? nil
                    let label = labels.map { $0[BuildContext.label] ?? "" }
                    return (
                        service.name,
                        BuildDecision.decide(
                            imageLabel: label, contextHash: buildContext?.hash(cache: cache, excluding: layout.stateDirectory))
                    )
                }
            }
            var found: [String: BuildDecision] = [:]
            for await (name, decision) in group { found[name] = decision }
            return found
        }
    }

    static func applying(_ checks: [String: ImageHealthcheck], to stack: ComposeStack) -> ComposeStack {
        var stack = stack
        // Changed as a copy and assigned once: every write to `stack.services` re-indexes it.
        var services = stack.services
        for index in services.indices {
            guard services[index].healthcheck == nil, case .check(let check)? = checks[services[index].name] else { continue }
            services[index].healthcheck = Healthcheck(image: check)
        }
        stack.services = services
        return stack
    }

    /// `condition: service_healthy` on a service that has no healthcheck anywhere can never hold: Compose refuses
    /// it ("has no healthcheck configured"), and so does launch, before anything starts. An optional one
    /// (`required: false`) is skipped instead, as Compose skips it: the dependent waits only for its start, and
    /// the returned warning says so.
    static func checkHealthyConditions(_ stack: inout ComposeStack, imageChecks: [String: ImageHealthcheck], file: String)
        throws(ConfigurationError) -> [String]
    {
        var problems: [ConfigProblem] = []
        var warnings: [String] = []
        for (index, service) in stack.services.enumerated() {
            for (d, dependency) in service.dependsOn.enumerated() where dependency.condition == .healthy {
                // A readiness label is launch's healthcheck for it (Compose creates such a stack; only its own
                // `up` would refuse to wait).
                guard let target = stack.service(dependency.service), target.healthcheck == nil, ReadySignal(labels: target.labels) == nil
                else { continue }
                // Not present yet: its image may bring one; the launch decides after the pull.
                if target.image != nil && imageChecks[target.name] == .absent { continue }
                if !dependency.required {
                    stack.services[index].dependsOn[d].condition = .started
                    warnings.append(
                        "\(service.name) waits for \(target.name) to be healthy, but \(target.name) has no healthcheck: as the dependency is optional (required: false), \(service.name) waits only for it to start, as Compose does"
                    )
                    continue
                }
                problems.append(
                    ConfigProblem(
                        SourceLocation(file: file, line: 0),
                        "\(service.name) waits for \(target.name) to be healthy (condition: service_healthy), but \(target.name) has no healthcheck, in its compose file or its image",
                        hint:
                            "add a healthcheck to \(target.name) (see `launch plan` for one that fits its image) or a \(ReadySignal.logLabel)/\(ReadySignal.httpLabel) label, or depend on it with condition: service_started"
                    ))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return warnings
    }

    /// `checkHealthyConditions`, with the graph that goes with the stack it leaves: rebuilt when an optional
    /// dependency was relaxed (only a condition changes, the edges do not, so it cannot fail where the first did not).
    static func checkingConditions(
        _ stack: ComposeStack, graph: DependencyGraph, imageChecks: [String: ImageHealthcheck], file: String
    ) throws(ConfigurationError) -> (stack: ComposeStack, graph: DependencyGraph, warnings: [String]) {
        var stack = stack
        let warnings = try checkHealthyConditions(&stack, imageChecks: imageChecks, file: file)
        guard !warnings.isEmpty else { return (stack, graph, warnings) }
        return (stack, (try? DependencyGraph(stack)) ?? graph, warnings)
    }

    /// `COMPOSE_PROFILES` where Compose would find it (the shell, then the profile's env file, then the project's
    /// `.env`) — a value from a file interpolated as Compose's dotenv reader does (`COMPOSE_PROFILES=${ENGINE},${DEVICE}`
    /// names the profiles those variables hold) — then `compose.profiles` (with `--profile` added by the command
    /// line), then the profiles of the services the environment names. All are passed as `--profile`, so the set is
    /// explicit in every command.
    func composeProfiles(_ profile: Profile, files: [String], env: EnvInputs) -> ComposeProfileSelection {
        let key = "COMPOSE_PROFILES"
        let base = env.dotEnv?.file.resolvedValues
        let fromFiles = env.file?.resolvedValues
        let supplied = env.supplied
        let environment = context.environment
        var requested = environment[key]
        if requested == nil, let written = fromFiles?[key] ?? supplied[key] ?? base?[key] {
            requested = Interpolation.substitute(written) { name in
                environment[name] ?? fromFiles?[name] ?? supplied[name] ?? base?[name]
            }
        }
        return ComposeProfileSelection.decide(
            requested: ComposeProfileSelection.split(requested) + profile.compose.profiles,
            named: Self.namedServices(profile), serviceProfiles: ComposeFileSet.serviceProfiles(files))
    }

    /// The variables the project's `.env` refers to that the profile's env file (or a value launch will write there)
    /// defines and the shell does not: given to Compose as its environment, so `.env` resolves them the way it would
    /// from an exported shell variable. Compose reads `--env-file`s one by one, each against the environment only.
    static func exports(forDotEnv base: EnvFile?, envFile: EnvFile?, supplied: [String: String], shell: [String: String]) -> [String:
        String]
    {
        guard let base else { return [:] }
        let values = (envFile?.resolvedValues ?? [:]).merging(supplied) { file, _ in file }
        var exports: [String: String] = [:]
        for (_, value) in base.entries {
            for reference in Interpolation.references(in: value) where shell[reference.name] == nil {
                if let defined = values[reference.name] { exports[reference.name] = defined }
            }
        }
        return exports
    }

    /// What doctor's `gpu.requests` will fail on, said by the plan already (the same check, one place).
    static func gpuShortfall(_ stack: ComposeStack, probe: GPUProbe, profile: Profile) -> String? {
        guard stack.services.contains(where: \.requestsGPUs) else { return nil }
        let check = GPUChecks.requests(GPUDemand(stack: stack, inventory: probe.inventory), probe: probe, profile: profile)
        guard check.status == .fail else { return nil }
        return "\(check.evidence): `launch doctor \(profile.name)` fails on it (gpu.requests)"
    }

    /// Every `${VAR:?…}` / `${VAR?…}` in the compose files (and what they include) whose variable nothing sets — not
    /// the shell, the env files Compose is given, nor a value launch will write — one problem each, at its line.
    func missingRequiredVariables(_ compose: Compose, supplied: [String: String], envFileName: String?) -> [ConfigProblem] {
        var known = context.environment.merging(supplied) { shell, _ in shell }
        for path in [compose.baseEnvFile, compose.envFile].compactMap({ $0 }) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            known.merge(EnvFile(bytes: [UInt8](data)).resolvedValues) { current, _ in current }
        }
        let envFile = envFileName ?? compose.envFile.map(layout.display) ?? "the env file"
        // The doctor's own reading of the files (values only: keys and comments are not interpolated).
        let files = ComposeFileSet.expandingIncludes(compose.files).map { (display: layout.display($0), path: $0) }
        return VariableChecks.requiredVariables(files: files).filter { reference in
            reference.required && (known[reference.name]?.isEmpty ?? true)
        }.map { reference in
            ConfigProblem(
                SourceLocation(file: reference.location.file, line: reference.location.line),
                "required variable \(reference.name) is not set (Compose refuses the stack without it)",
                hint: "set \(reference.name)=… in \(envFile) (or export it in the shell)")
        }
    }

    /// The services the environment lists under `services:` (core, optional, stretch).
    static func namedServices(_ profile: Profile) -> [String] {
        profile.services.core + profile.services.optional + profile.services.stretch
    }

    /// Every service Compose defines, with its profiles, whatever is active (`config --profile '*'`); nil when Compose
    /// cannot say (a service of an inactive profile it cannot read, say), and then the files' own text decides.
    func composeServiceProfiles(_ compose: Compose, env: EnvInputs) async -> [String: [String]]? {
        var command = compose.configAllProfiles()
        command.environment.merge(env.supplied) { current, _ in current }
        guard let output = try? await context.runner.run(command), output.succeeded,
            let tree = try? YAMLTree.parse(output.stdout, file: "docker compose config"), case .map(let services, _)? = tree["services"]
        else { return nil }
        var result: [String: [String]] = [:]
        for service in services {
            guard case .list(let items, _)? = service.value["profiles"] else {
                result[service.key] = []
                continue
            }
            result[service.key] = items.compactMap { if case .scalar(let text, _) = $0 { text } else { nil } }
        }
        return result
    }

    /// A service the environment names but Compose did not resolve (its profile is off, or Compose does not define it
    /// at all) would otherwise be a launch that succeeds without it. `defined`: every service Compose has, when it was
    /// asked.
    static func checkNamedServices(
        _ profile: Profile, stack: ComposeStack, serviceProfiles: [String: [String]], defined: Set<String>?, layout: ProjectLayout
    ) throws(ConfigurationError) {
        var problems: [ConfigProblem] = []
        for service in namedServices(profile) where stack.service(service) == nil {
            let location = namedLocation(service, profile: profile, layout: layout)
            if let defined, !defined.contains(service) {
                problems.append(
                    ConfigProblem(
                        location, "service `\(service)` is named by this environment but Compose does not define it",
                        hint: Text.suggestion(for: service, among: defined).map { "did you mean `\($0)`?" }
                            ?? "`docker compose config --services` lists what the compose files define"))
            } else if let own = serviceProfiles[service], !own.isEmpty {
                problems.append(
                    ConfigProblem(
                        location,
                        "service `\(service)` is named by this environment but Compose did not enable it (profiles: \(own.joined(separator: ", ")))",
                        hint: "add one of its profiles under compose.profiles, or pass --profile"))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
    }

    /// Where the profile (or a profile it extends) lists `service`, for an error that points at the line.
    static func namedLocation(_ service: String, profile: Profile, layout: ProjectLayout) -> SourceLocation {
        var file: String? = profile.sourceFile
        var seen: Set<String> = []
        while let current = file, seen.insert(current).inserted {
            guard case .success(let text) = TextFile.read(layout.root + "/" + current, display: current),
                let tree = try? YAMLTree.parse(text, file: current)
            else { break }
            for serviceClass in ServiceClass.allCases {
                guard case .list(let items, _)? = tree["services"]?[serviceClass.rawValue] else { continue }
                for case .scalar(let name, let location) in items where name == service { return location }
            }
            guard case .scalar(let parent, _)? = tree["extends"] else { break }
            file = "environments/\(parent).yml"
        }
        return SourceLocation(file: profile.sourceFile, line: 0)
    }

    static func capture<T: Sendable>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// Runs `docker compose config`; a rejection is a configuration error carrying Compose's own words.
    /// `envFileName`: the profile's env file as the user sees it (it may not exist yet), for where a missing variable goes.
    func resolvedStack(
        _ compose: Compose, supplied: [String: String] = [:], redact: Redactor, envFileName: String? = nil
    ) async throws -> ComposeStack {
        var command = compose.config()
        command.environment.merge(supplied) { current, _ in current }
        let output = try await context.runner.run(command)
        if output.status == 124 {
            throw ConfigurationError([
                ConfigProblem(
                    SourceLocation(file: "docker compose config", line: 0),
                    "Compose did not finish reading the stack within \(DurationText.format(Compose.configDeadline)) (stopped)",
                    hint:
                        "look for YAML aliases of aliases or an `include` of a remote file that does not answer; `\(compose.config())` shows where it stalls"
                )
            ])
        }
        guard output.succeeded else {
            // Compose names the first required variable it misses; every one is said, each where it is required.
            if let named = output.stderr.firstMatch(of: /required variable ([A-Za-z_][A-Za-z0-9_]*) is missing/)?.output.1 {
                let missing = missingRequiredVariables(compose, supplied: supplied, envFileName: envFileName)
                // Only when the list holds the one Compose named: otherwise Compose's own words stand.
                if missing.contains(where: { $0.message.hasPrefix("required variable \(named) ") }) { throw ConfigurationError(missing) }
            }
            let lines = output.stderr.split(whereSeparator: \.isNewline).map { redact(String($0)) }
                .filter { !$0.contains("variable is not set") }
            throw ConfigurationError(
                lines.map { ConfigProblem(SourceLocation(file: "docker compose config", line: 0), $0) }
                    + [
                        ConfigProblem(
                            SourceLocation(file: "docker compose config", line: 0),
                            "Compose rejected the stack (exit \(output.status))",
                            hint: "run `\(compose.config())` to see the full message")
                    ])
        }
        do {
            return try ComposeModelReader.read(config: output.stdout)
        } catch {
            // The merged model has no files or lines; the same problem found in the files themselves (included
            // ones too) can be shown where it was written.
            let files = ComposeFileSet.expandingIncludes(compose.files)
            do {
                _ = try ComposeModelReader.read(
                    files: files, displayNames: files.map(layout.display),
                    lookup: { context.environment[$0] ?? supplied[$0] })
            } catch let located {
                throw located
            }
            throw error
        }
    }

    /// The stack as its compose files say, without Compose, an overlay or an env file: enough for commands that
    /// only need service names and dependency order (`down`, `status`). Nil when the files do not parse.
    public static func outline(_ profile: Profile, layout: ProjectLayout) -> DependencyGraph? {
        outlineStack(profile, layout: layout).flatMap { try? DependencyGraph($0) }
    }

    /// The stack `outline` orders: its services as the files write them (`launch watch` takes jobs and deadlines
    /// from it).
    static func outlineStack(_ profile: Profile, layout: ProjectLayout) -> ComposeStack? {
        try? ComposeModelReader.read(files: profile.compose.files.map(layout.composeFile), lookup: { _ in nil })
    }

    /// One-shot jobs: services others wait on with `service_completed_successfully`, and services labelled
    /// `launch.job: "true"` (run once, like a load test). They are ready when they exit 0. `restart: "no"` alone
    /// does not make a job: it is Compose's default for long-running services too.
    static func jobs(in stack: ComposeStack) -> Set<String> {
        let awaited = stack.services.flatMap { $0.dependsOn.filter { $0.condition == .completedSuccessfully }.map(\.service) }
        return Set(awaited).union(stack.services.filter(\.isDeclaredJob).map(\.name))
    }

    func plannedService(
        _ service: ComposeService, profile: Profile, dependedOnForCompletion: Set<String>, history: ReadinessHistory = .empty
    )
        -> LaunchPlan.PlannedService
    {
        let stats = history.stats(service.name)
        let readiness = ReadinessRule(
            service: service, policy: profile.health, isJob: dependedOnForCompletion.contains(service.name), history: stats)
        return LaunchPlan.PlannedService(
            name: service.name, serviceClass: profile.services.serviceClass(of: service.name), image: service.image,
            builds: service.builds, replicas: service.replicas, gpus: service.gpuCount, gpuDevices: service.gpuDeviceIDs,
            dependsOn: service.dependsOn.map { "\($0.service) (\($0.condition.rawValue)\($0.required ? "" : ", optional"))" },
            readiness: readiness.description, deadlineSeconds: readiness.deadline.seconds,
            ports: service.ports.map(\.description), history: stats, deadlineLearned: readiness.isLearned)
    }

    /// A deadline below what past runs needed fails some launches by design: say how many it would have failed.
    static func historyWarnings(_ services: [LaunchPlan.PlannedService], history: ReadinessHistory) -> [String] {
        services.compactMap { service in
            guard let stats = service.history, stats.runs >= LearnedDeadline.minimumRuns, service.deadlineSeconds < stats.p95 else {
                return nil
            }
            let failed = history.exceeding(service.name, deadline: service.deadlineSeconds)
            return "\(service.name): deadline \(DurationText.format(.seconds(service.deadlineSeconds))) is below its p95 time to ready "
                + "(\(stats.description)): it would have failed \(failed) of the last \(stats.runs) runs; raise it, or set health.timeout: learned"
        }
    }

    func commands(_ compose: Compose, stack: ComposeStack) -> [String] {
        var list = [compose.config().description]
        if stack.services.contains(where: { $0.image != nil && !$0.builds }) { list.append(compose.pull().description) }
        if stack.services.contains(where: \.builds) { list.append(compose.build().description) }
        list.append(compose.create().description)
        list.append("then: start each container through the Engine API as soon as its depends_on conditions hold")
        return list
    }
}
