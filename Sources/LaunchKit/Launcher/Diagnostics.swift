/// Builds the `Diagnosis` of a failed service from what the engine still knows: exit code, health log,
/// the last log lines. Every string passes through the redactor.
struct Diagnostics: Sendable {
    /// The last three probes of a container's healthcheck, each `exit N: output` (redacted, then cut).
    static func probeLines(_ health: ContainerDetails.Health?, redact: Redactor) -> [String] {
        (health?.log ?? []).suffix(3).map { entry in
            // Redact the whole output first: cutting first could leave a secret's prefix that no longer matches.
            let output = redact(entry.output).trimmingCharacters(in: .whitespacesAndNewlines)
                .split(whereSeparator: \.isNewline).prefix(3).joined(separator: " | ")
            return "exit \(entry.exitCode): \(output.isEmpty ? "(no output)" : Text.printable(output, limit: 300))"
        }
    }

    let client: any ContainerEngine
    let redact: Redactor
    let environment: String
    let project: String
    let logLines: Int
    /// The stack's own Compose command (files, env file), so a reproduce hint runs as printed.
    let compose: Compose?
    /// The swarm service (`<stack>_<service>`) when the container was a swarm task: the next steps then name the
    /// swarm's own commands, never a Compose project that does not exist.
    let swarmService: String?

    init(
        client: any ContainerEngine, redact: Redactor, environment: String, project: String, compose: Compose? = nil,
        swarmService: String? = nil, logLines: Int = 40
    ) {
        self.client = client
        self.compose = compose
        self.swarmService = swarmService
        self.redact = redact
        self.environment = environment
        self.project = project
        self.logLines = logLines
    }

    /// The last lines of a container's log. An exited container's last lines can still be on their way into the log
    /// when the engine reports `die` (seen on Docker 26.1 under load), and the last line is usually the one that
    /// says why: its log is read again until two reads agree, for at most a second.
    private func settledLogs(_ id: String, exited: Bool) async -> [String] {
        var logs = (try? await client.containerLogs(id, tail: logLines)) ?? []
        guard exited else { return logs }
        for _ in 0..<10 {
            guard (try? await Task.sleep(for: .milliseconds(100))) != nil,
                let again = try? await client.containerLogs(id, tail: logLines), again != logs
            else { break }
            logs = again
        }
        return logs
    }

    /// How long a log read through the swarm may take: a task on a node that went down has a log the manager waits
    /// for without end.
    static let swarmLogLimit: Duration = .seconds(5)

    /// What a swarm's failed tasks printed (the newest task with any lines), else every task of the service, read
    /// through the manager: a task on another node has its lines here too. Bounded; redacted and cut as any log.
    func swarmLogs(tasks: [String]) async -> [String] {
        guard let swarmService else { return [] }
        let client = self.client, tail = logLines
        for source in tasks.reversed().map(SwarmLogSource.task) + [.service(swarmService)] {
            let lines = await within(Self.swarmLogLimit) { (try? await client.swarmLogs(source, tail: tail)) ?? [] } ?? []
            if !lines.isEmpty { return lines.map { Text.printable(redact($0), limit: 500) } }
        }
        return []
    }

    /// `resources`: what the launch sampled while the service started; a container still running is read once more.
    /// `signal`: the readiness label that decided it, if one did (the next step then speaks of it). `tasks`: on a
    /// swarm, the failed tasks, whose lines are read through the swarm when no container of theirs is reachable here.
    func diagnose(
        service: String, serviceClass: ServiceClass, failure: FailureKind, containers: [String], resources: ResourceUsage? = nil,
        signal: ReadySignal? = nil, tasks: [String] = []
    ) async -> Diagnosis {
        var details: ContainerDetails?
        var logs: [String] = []
        // The container most worth reading is the one that failed; with replicas, the first that is not running,
        // else the first the engine calls unhealthy (a healthy replica's log explains nothing).
        var rank = Int.max
        for id in containers {
            guard let inspected = try? await client.inspectContainer(id) else { continue }
            let own = !inspected.state.running ? 0 : (inspected.state.health?.status == "unhealthy" ? 1 : 2)
            if own < rank {
                details = inspected
                rank = own
            }
            if rank == 0 { break }
        }
        if let details {
            // Only a container that stays down: one the engine will restart reads `restarting`, not `exited`.
            let exited = (details.state.status == "exited" || details.state.status == "dead") && !details.state.restarting
            // Redacted whole, then made printable and cut: a log line can hold escape sequences and 16 KiB.
            logs = await settledLogs(details.id, exited: exited).map { Text.printable(redact($0), limit: 500) }
        }
        if logs.isEmpty { logs = await swarmLogs(tasks: tasks) }
        let health = details?.state.health
        let probes = Diagnostics.probeLines(health, redact: redact)
        let reached: String =
            switch details?.state {
            case let state? where state.oomKilled: "oom-killed"
            case let state? where state.restarting: "restarting"
            case let state? where state.running: state.health.map { "running (\($0.status))" } ?? "running"
            case let state?: "\(state.status) (exit \(state.exitCode))"
            case nil: "not created"
            }
        var usage = resources ?? ResourceUsage(limitsOf: details)
        if let details {
            usage.cpuLimit = usage.cpuLimit ?? details.hostConfig.cpuLimit
            usage.memoryLimit = usage.memoryLimit ?? details.hostConfig.memoryLimit
            if details.state.oomKilled || failure == .oomKilled { usage.oomKilled = true }
            // The counters are cumulative: one reading now covers the whole start, whatever the sampler caught.
            if details.state.running, let now = try? await client.stats(details.id) { usage.record(now.sample) }
        }
        let measured = usage.cpuLimit != nil || usage.memoryLimit != nil || usage.samples > 0 || usage.oomKilled
        var exitCode: Int? = nil
        if case .exited(let code) = failure { exitCode = code }
        if exitCode == nil, let state = details?.state, !state.running, state.status == "exited" { exitCode = state.exitCode }
        return Diagnosis(
            service: service, serviceClass: serviceClass, reached: reached, reason: Text.printable(redact(failure.description), limit: 500),
            failureKey: failure.key, exitCode: exitCode, health: health?.status, probes: probes, logTail: logs,
            classification: failure.classification,
            nextStep: redact(
                Self.starvationFirst(
                    usage.suggestion(service: service),
                    then: nextStep(
                        service: service, failure: failure, hasProbes: !probes.isEmpty, hasLogs: !logs.isEmpty, signal: signal))),
            resources: measured ? usage : nil, pressure: measured ? usage.findings : [])
    }

    /// The diagnosis of a service a launch, a restore or a day-two command ended with as failed; nil when it did not
    /// fail. Probes the engine failed to run are evidence too: a deadline that came while the engine was not running
    /// them is not read as a slow service.
    func diagnose(_ run: ServiceRun) async -> Diagnosis? {
        guard let failure = run.failure else { return nil }
        var diagnosis = await diagnose(
            service: run.name, serviceClass: run.serviceClass, failure: failure, containers: run.containers.map(\.id),
            resources: run.resources,
            signal: run.rule.signal)
        if let fault = run.containers.compactMap(\.lastEngineFault).last {
            diagnosis.probes.append("the engine did not run launch's probe: \(Text.printable(redact(fault), limit: 300))")
            if case .deadline = failure, run.containers.contains(where: { $0.engineFaults > 0 }) {
                diagnosis.nextStep =
                    "the engine failed launch's last probes (above): the deadline may be the engine's, not \(run.name)'s — check `docker info` and the daemon's log, then launch again"
            }
        }
        return diagnosis
    }

    /// The engine's words for a host port someone else holds.
    static func isPortClash(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return ["port is already allocated", "address already in use", "bind for"].contains { lowered.contains($0) }
    }

    /// A starved container explains most slow or failed starts: its suggested limit comes first.
    static func starvationFirst(_ suggestion: String?, then step: String) -> String {
        guard let suggestion else { return step }
        return "\(suggestion) — it was starved (figures above); otherwise: \(step)"
    }

    /// `docker compose --project-name … --file … --env-file … up <service>`: the exact command, runnable as printed.
    func reproduce(_ service: String) -> String {
        if let swarmService { return "docker service ps --no-trunc \(swarmService)" }
        return compose?.up(services: [service]).description ?? "docker compose --project-name \(project) up \(service)"
    }

    /// One next step. Never points at a log that is empty: then it says so and how to see more.
    func nextStep(service: String, failure: FailureKind, hasProbes: Bool, hasLogs: Bool, signal: ReadySignal? = nil) -> String {
        let readLog = hasLogs ? "read the log above" : "it printed nothing before failing"
        if case .deadline = failure, let signal {
            let slow = "or set launch.timeout on \(service) if it is just slow"
            return switch signal {
            case .log(let pattern):
                "it never printed a line matching /\(pattern)/ (\(signal.label)): compare it with the log above, \(slow)"
            case .http: "it never answered 2xx to \(signal) from inside its container (\(signal.label)): check the port and path, \(slow)"
            }
        }
        return switch failure {
        case .exited(127):
            "the command in \(service)'s image was not found (exit 127): check `command:`/`entrypoint:` in its compose file"
        case .exited(126):
            "\(service)'s command is not executable (exit 126): check file permissions in the image"
        case .exited(125):
            "the engine could not run \(service) (exit 125): check its compose options"
        case .exited(137):
            "\(service) was killed with SIGKILL (exit 137): by `docker kill`, a stop past its grace period or the kernel (out of memory on the host: check `dmesg`); `launch logs \(environment) \(service)\(swarmService == nil ? "" : " --engine swarm")` shows what it printed"
        case .exited:
            swarmService.map { name in
                "\(readLog); `docker service ps --no-trunc \(name)` shows every task and `docker service logs \(name)` their output, or rerun with `launch \(environment) --engine swarm --keep-on-failure` and inspect it"
            }
                ?? "\(readLog); reproduce with `\(reproduce(service))`, or rerun with `launch \(environment) --keep-on-failure` and inspect it"
        case .oomKilled:
            "raise \(service)'s memory limit (deploy.resources.limits.memory) or free memory on the host"
        case .restartLoop:
            "it crashes right after starting: \(readLog); then `launch logs \(environment) \(service)`"
        case .unhealthy where hasProbes:
            "its healthcheck fails (probe output above): fix the service or the healthcheck's test command"
        case .unhealthy:
            "its healthcheck fails: run the healthcheck command by hand with `docker exec`"
        case .deadline:
            hasProbes
                ? "it never passed its healthcheck (probes above): fix the service, or raise start_period/retries if it is just slow"
                : "it never became ready: raise its healthcheck's start_period, or set health.timeout in the profile"
        case .startRejected(let message) where Self.isPortClash(message):
            "free the port above: `launch doctor \(environment)` shows who holds it"
        case .startRejected:
            "the engine refused to start \(service) (its words above): fix that in its compose file, then `\(reproduce(service))` shows it again"
        case .dependencyFailed(let dependency):
            "fix \(dependency) first; \(service) waits for it to exit 0"
        case .noContainers:
            "Compose created the stack on a different engine than launch watches: check DOCKER_HOST, DOCKER_CONTEXT and `docker context ls`, or pass --context/--host"
        case .startTimedOut:
            "the engine is overloaded or stuck: `docker info` and the daemon log say which; retry when it answers"
        case .engineFault:
            "the engine failed on its own side (its words above), again on every retry: the daemon's log (`journalctl -u docker`) says why; launch again once it is healthy"
        case .readinessUnavailable:
            "give \(service) a healthcheck instead, or change its \(ReadySignal.logLabel)/\(ReadySignal.httpLabel) label so launch can see it (`launch plan \(environment)` shows its rule)"
        }
    }
}
