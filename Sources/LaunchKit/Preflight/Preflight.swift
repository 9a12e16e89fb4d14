import Foundation

/// Finds every problem that would stop a launch before anything starts, in about a second, and says how to fix
/// each one. All checks run concurrently; the engine is asked once, over its socket, and the answer is shared.
///
/// `launch doctor [<env>]` prints the report; `launch <env>` runs it first and starts nothing when it failed.
public struct Preflight: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    /// Where /proc is; tests point it at fixtures.
    var proc = ProcFS()
    /// How long a registry gets to accept a TCP connection before its images count as unpullable.
    var registryTimeout: Duration = .milliseconds(1500)

    public init(context: LaunchContext, layout: ProjectLayout) {
        self.context = context
        self.layout = layout
    }

    private typealias Job = @Sendable () async -> [CheckResult]

    /// Every check for `plan`: machine, GPUs and overlay, memory and disk against `requires`, paths, env file and
    /// variables, published ports, images, and the profile's own `preflight:` checks.
    /// `probe` is the GPU probe the plan was made with (`plan.gpuProbe`), so nvidia-smi runs once.
    public func run(_ plan: LaunchPlan, probe: GPUProbe, options: PreflightOptions) async -> PreflightReport {
        let started = ContinuousClock.now
        let context = context, layout = layout, proc = proc
        let (facts, engineTime) = await Self.timed { await EngineFacts.gather(context: context) }
        let profile = plan.profile
        var jobs = machineJobs(facts: facts, engineTime: engineTime)

        let detection = plan.composeDetection
        jobs.append { [DockerChecks.compose(flavor: detection?.flavor, version: detection?.version)] }
        jobs.append {
            guard options.gpusOnThisMachine else {
                return plan.stack.services.contains(where: \.requestsGPUs)
                    ? [.skip("gpu.host", "GPUs of this machine", "on a swarm the stack's GPUs are the nodes': see swarm.gpu")] : []
            }
            var results = GPUChecks.plan(profile, probe: probe, overlay: plan.overlay, stack: plan.stack)
            let stack = plan.stack
            if stack.services.contains(where: \.requestsGPUs) {
                let cdi = await Self.cdiFacts(facts, context: context)
                results += GPUToolkitChecks.check(
                    facts, stack: stack, cdi: cdi, driverVersion: probe.inventory?.driverVersion, environment: context.environment)
                if options.gpuSmoke {
                    results.append(await GPUSmokeTest.run(stack: stack, project: plan.project, facts: facts))
                } else {
                    results.append(.skip(GPUSmokeTest.id, GPUSmokeTest.title, "not run (--no-gpu-smoke)"))
                }
            }
            let nvidiaRequested = stack.services.flatMap(\.gpuRequests).contains { $0.driver == .nvidia }
            if !nvidiaRequested && (plan.overlay.choice == .dual || plan.overlay.choice == .single) {
                results.append(DockerChecks.nvidiaRuntime(facts, environment: context.environment))
            }
            return results
        }
        jobs.append { [HostChecks.memory(facts, proc: proc, required: profile.requires.memory, profile: profile)] }
        jobs.append { [HostChecks.disk(facts, required: profile.requires.disk, profile: profile)] }
        jobs.append { HostChecks.paths(profile, layout: layout).map { [$0] } ?? [] }
        jobs.append { [VariableChecks.envFile(profile, layout: layout, options: options)] }
        jobs.append {
            [VariableChecks.variables(plan, layout: layout, environment: context.environment, options: options)]
        }
        for wanted in PortChecks.wanted(plan.stack) {
            jobs.append { [PortChecks.check(wanted, project: plan.project, facts: facts, proc: proc)] }
        }
        jobs.append { await imageChecks(plan.stack, facts: facts, network: options.network) }
        jobs.append { ImageChecks.floatingTags(plan.stack).map { [$0] } ?? [] }
        for service in plan.stack.services {
            guard let name = service.containerName else { continue }
            jobs.append {
                let output = try? await context.runner.run(context.docker.containersNamed(name))
                let lines = output.flatMap { $0.succeeded ? $0.stdout : nil }
                return [ContainerNameChecks.check(service: service.name, name: name, project: plan.project, lines: lines)]
            }
        }

        // Byte-safe: one non-UTF-8 line must not leave the checks without redaction.
        let envFile = (try? EnvProvisioner(layout: layout, profile: profile).read()) ?? nil
        let values = (envFile?.values ?? [:]).merging(context.environment) { _, environment in environment }
        let redact = Redactor(profile: profile, envFile: envFile, environment: context.environment)
        for spec in profile.preflight {
            jobs.append {
                [await ProfileChecks.run(spec, profile: profile, values: values, redact: redact, network: options.network)]
            }
        }
        // Secrets can reach image names and labels by interpolation: no check prints them.
        let checks = await Self.runAll(jobs).map { $0.redacted(by: redact) }
        return PreflightReport(
            environment: profile.name, project: plan.project, overlay: plan.overlay, checks: checks,
            durationSeconds: (ContinuousClock.now - started).seconds)
    }

    /// `launch doctor <env>` when Compose refuses the stack only for variables nothing sets (`${DB_PASSWORD:?…}`):
    /// no plan can be made, yet every check of the machine still runs, and each missing variable is a failed check
    /// at its line with where to set it. Nil when the refusal is about anything else (then it is the error).
    public func runWithoutPlan(
        _ refusal: ConfigurationError, profile: Profile, options: PreflightOptions = PreflightOptions()
    ) async -> PreflightReport? {
        let missing = refusal.problems.compactMap { problem -> CheckResult? in
            guard let name = problem.message.firstMatch(of: /^required variable ([A-Za-z_][A-Za-z0-9_]*) is not set/)?.output.1 else {
                return nil
            }
            return .fail(
                "variable.\(name)", "variable \(name)", "\(problem.location): required by the stack, and nothing sets it",
                fix: problem.hint ?? "set \(name) in \(profile.envFile) (or export it in the shell)")
        }
        guard !missing.isEmpty, missing.count == refusal.problems.count else { return nil }
        var report = await runMachine(options: options)
        report.environment = profile.name
        report.project = profile.compose.project
        report.checks += missing
        return report
    }

    /// `launch doctor` without an environment: Docker, Compose, GPUs, memory and disk of this machine.
    /// Probes GPUs unless `probe` is given.
    public func runMachine(probe: GPUProbe? = nil, options: PreflightOptions = PreflightOptions()) async -> PreflightReport {
        let started = ContinuousClock.now
        let context = context, proc = proc
        let (facts, engineTime) = await Self.timed { await EngineFacts.gather(context: context) }
        var jobs = machineJobs(facts: facts, engineTime: engineTime)
        jobs.append {
            let detection = await ComposeDetector(runner: context.runner, docker: context.docker).detect()
            return [DockerChecks.compose(flavor: detection?.flavor, version: detection?.version)]
        }
        jobs.append {
            let found: GPUProbe
            if let probe {
                found = probe
            } else if !facts.isLocal {
                // Another machine's engine: its GPUs, by its own word (and none claimed when it does not answer).
                guard let client = facts.client, let engine = try? await EngineGPUProbe.run(client: client) else {
                    return [.skip("gpu.devices", "NVIDIA GPUs", "the engine at \(facts.endpoint) does not answer")]
                }
                found = engine
            } else {
                found = await GPUProbe.run(context.nvidiaSMI, runner: context.runner, environment: context.environment)
            }
            var results = GPUChecks.machine(found)
            if found.count > 0 { results.append(DockerChecks.nvidiaRuntime(facts, environment: context.environment)) }
            return results
        }
        jobs.append { [HostChecks.memory(facts, proc: proc, required: nil, profile: nil)] }
        jobs.append { [HostChecks.disk(facts, required: nil, profile: nil)] }
        let checks = await Self.runAll(jobs)
        return PreflightReport(checks: checks, durationSeconds: (ContinuousClock.now - started).seconds)
    }

    /// CDI specs in the engine's spec directories (readable only when the engine is on this machine) and what
    /// `nvidia-ctk cdi list` finds, when the toolkit's CLI is installed.
    private static func cdiFacts(_ facts: EngineFacts, context: LaunchContext) async -> GPUToolkitChecks.CDIFacts {
        var cdi = GPUToolkitChecks.CDIFacts()
        guard facts.isLocal else { return cdi }
        cdi.specs = CDISpec.read(directories: facts.info?.cdiSpecDirs ?? [])
        let ctk = NvidiaCTK()
        if Executables.find(ctk.executable, environment: context.environment) != nil,
            let output = try? await context.runner.run(ctk.cdiList()), output.succeeded
        {
            cdi.toolkitDevices = CDISpec.parseList(output.stdout)
        }
        return cdi
    }

    private func machineJobs(facts: EngineFacts, engineTime: Double) -> [Job] {
        let context = context
        return [
            { [await DockerChecks.cli(context: context, facts: facts)] },
            {
                var daemon = DockerChecks.daemon(facts)
                daemon.durationSeconds = engineTime
                return [daemon]
            },
        ]
    }

    // MARK: Images

    private func imageChecks(_ stack: ComposeStack, facts: EngineFacts, network: Bool) async -> [CheckResult] {
        let images = ImageChecks.pulled(stack)
        guard !images.isEmpty else { return [] }
        guard facts.reachable else {
            return [.skip("images", "Images", "the Docker daemon is not reachable: \(images.count) images not checked")]
        }
        let context = context
        let presence = await withTaskGroup(of: (String, Bool?).self) { group in
            for (image, _) in images {
                group.addTask {
                    if let client = facts.client { return (image, try? await client.imageExists(image)) }
                    let output = try? await context.runner.run(context.docker.inspectImages([image]))
                    return (image, output.map(\.succeeded))
                }
            }
            var found: [String: Bool?] = [:]
            for await (image, present) in group { found[image] = present }
            return found
        }
        let missingRegistries = Set(images.filter { presence[$0.image] == .some(false) }.map { ImageChecks.registry(for: $0.image) })
        var reachability: [ImageChecks.Registry: ImageChecks.Reachability] = [:]
        if network {
            let timeout = registryTimeout
            reachability = await withTaskGroup(of: (ImageChecks.Registry, ImageChecks.Reachability).self) { group in
                for registry in missingRegistries {
                    group.addTask {
                        let outcome = await TCPProbe.connect(host: registry.host, port: registry.port, timeout: timeout)
                        return (registry, ImageChecks.reachability(outcome, timeout: timeout))
                    }
                }
                var answers: [ImageChecks.Registry: ImageChecks.Reachability] = [:]
                for await (registry, answer) in group { answers[registry] = answer }
                return answers
            }
        }
        return images.map { image, services in
            let registry = ImageChecks.registry(for: image)
            return ImageChecks.check(
                image: image, services: services, present: presence[image] ?? nil, registry: registry,
                reachability: reachability[registry] ?? .notChecked)
        }
    }

    // MARK: Running

    /// Runs every job at once; results keep the jobs' order, each stamped with its job's wall time.
    private static func runAll(_ jobs: [Job]) async -> [CheckResult] {
        await withTaskGroup(of: (Int, [CheckResult]).self) { group in
            for (index, job) in jobs.enumerated() {
                group.addTask {
                    let (results, seconds) = await timed(job)
                    return (
                        index,
                        results.map { result in
                            var result = result
                            if result.durationSeconds == 0 { result.durationSeconds = seconds }
                            return result
                        }
                    )
                }
            }
            var byIndex: [Int: [CheckResult]] = [:]
            for await (index, results) in group { byIndex[index] = results }
            return jobs.indices.flatMap { byIndex[$0] ?? [] }
        }
    }

    private static func timed<T: Sendable>(_ body: @Sendable () async -> T) async -> (T, Double) {
        let started = ContinuousClock.now
        let value = await body()
        return (value, (ContinuousClock.now - started).seconds)
    }
}
