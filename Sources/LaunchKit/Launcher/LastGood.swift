import Foundation

/// What a relaunch would do to one service, from Compose's config hash and the running containers' label.
public enum ServiceChange: String, Sendable, Hashable, Encodable {
    /// No container yet: Compose creates one.
    case create
    /// Its containers carry another `com.docker.compose.config-hash`: Compose replaces them.
    case recreate = "recreate (config changed)"
    /// Same configuration, running: adopted as it is.
    case keep = "keep (unchanged)"
    /// Same configuration, stopped: started again.
    case start = "start (unchanged, stopped)"
}

/// The state a project was last seen good in, and putting services back to it.
///
/// After every successful launch the resolved model (`docker compose config`) is saved with each service's
/// image pinned to the image id its container runs, as `.launch/last-good/<project>.json` (0600: the resolved
/// model carries the env file's values). When a relaunch fails after Compose recreated services, the rollback
/// removes the failed containers and `restore` creates those services again from that record and waits for them
/// with the same readiness rules, so the stack ends as it was.
struct LastGood: Sendable {
    let context: LaunchContext
    let layout: ProjectLayout
    let client: any ContainerEngine
    let project: String

    var path: String { (layout.stateDirectory as NSString).appendingPathComponent("last-good/\(project).json") }

    /// `docker compose config --hash '*'`: service → hash of its resolved configuration, as Compose labels the
    /// containers it creates. Nil when this Compose cannot tell (v1, or the model does not resolve).
    static func configHashes(_ compose: Compose, runner: any ProcessRunning) async -> [String: String]? {
        guard let output = try? await runner.run(compose.configHash()), output.succeeded else { return nil }
        var hashes: [String: String] = [:]
        for line in output.stdout.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2 { hashes[String(parts[0])] = String(parts[1]) }
        }
        return hashes.isEmpty ? nil : hashes
    }

    /// The breaker's notion of "the same configuration": the resolved model's hashes (or, without them, the
    /// reduced model) and the profile file's text, as a short hex digest.
    static func fingerprint(hashes: [String: String]?, stack: ComposeStack, profileFile: String) -> String {
        var text =
            hashes.map { $0.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "\n") }
            ?? ((try? JSONOutput.encode(stack)) ?? "")
        text += "\n--\n" + ((try? String(contentsOfFile: profileFile, encoding: .utf8)) ?? profileFile)
        return ProjectLock.engineKey(text)
    }

    /// Per service: create, recreate, keep or start, comparing Compose's hashes with the containers' labels.
    static func changes(hashes: [String: String], containers: [ContainerSummary]) -> [String: ServiceChange] {
        var result: [String: ServiceChange] = [:]
        let byService = Dictionary(grouping: containers.filter { $0.labels[ComposeLabels.oneOff] != "True" }) {
            $0.labels[ComposeLabels.service] ?? ""
        }
        for (service, hash) in hashes {
            let existing = byService[service] ?? []
            if existing.isEmpty {
                result[service] = .create
            } else if existing.contains(where: { $0.labels[ComposeLabels.configHash] != hash }) {
                result[service] = .recreate
            } else {
                result[service] = existing.allSatisfy { $0.state == "running" } ? .keep : .start
            }
        }
        return result
    }

    /// Why a last good state could not be kept now (nil: it can): the state directory is not a directory, or it
    /// cannot be written.
    func unrecordable() -> String? {
        do {
            let directory = try layout.privateStateDirectory("last-good")
            guard access(directory, W_OK) == 0 else {
                return "cannot write \(layout.display(directory)): \(String(cString: strerror(errno)))"
            }
            return nil
        } catch {
            return error.summary
        }
    }

    /// Saves the running stack as the last good state. Returns a warning when it could not.
    /// `model`: Compose's `config` output when the caller already asked for it (nil: ask now).
    func record(_ plan: LaunchPlan, model prefetched: ProcessOutput? = nil) async -> String? {
        guard plan.composeCommand.flavor.supportsJSONConfig else {
            return "last good state not recorded: this Compose cannot print its model as JSON"
        }
        let fetched: ProcessOutput?
        if let prefetched { fetched = prefetched } else { fetched = try? await context.runner.run(plan.composeCommand.config()) }
        guard let output = fetched, output.succeeded,
            var model = (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any],
            var services = model["services"] as? [String: Any]
        else { return "last good state not recorded: `docker compose config` did not answer" }
        let running = (try? await client.listContainers(all: false, labels: ComposeLabels.projectFilter(project))) ?? []
        for (name, value) in services {
            guard var service = value as? [String: Any] else { continue }
            // Pinned to what runs: a tag moved by a later pull or build cannot change what a restore starts.
            if let image = running.first(where: { $0.labels[ComposeLabels.service] == name && !$0.imageID.isEmpty })?.imageID {
                service["image"] = image
                service["build"] = nil
                service["pull_policy"] = nil
            }
            services[name] = service
        }
        model["services"] = services
        do {
            let directory = try layout.privateStateDirectory("last-good")
            let data = try JSONSerialization.data(withJSONObject: model, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(
                String(decoding: data, as: UTF8.self) + "\n", to: (directory as NSString).appendingPathComponent("\(project).json"),
                mode: 0o600)
            return nil
        } catch {
            return "last good state not recorded: \((error as? any LaunchFailure)?.summary ?? "cannot write \(layout.display(path))")"
        }
    }

    /// Which services lost every container that was running before the run (Compose recreated them and the
    /// rollback removed the failed replacements): what a restore must bring back.
    /// Throws when the engine does not list the project's containers: then nobody knows what was lost, and restoring
    /// every service that ran before would recreate healthy ones that were never touched.
    func lostServices(before: ProjectSnapshot) async throws -> [String] {
        let now = try await client.listContainers(all: false, labels: ComposeLabels.projectFilter(project))
        let runningNow = Set(now.map(\.id))
        return before.runningByService.filter { _, ids in !ids.isEmpty && ids.allSatisfy { !runningNow.contains($0) } }.keys.sorted()
    }

    /// Recreates `services` from the last good record (`up --no-start --no-deps`), starts them and waits with the
    /// profile's readiness rules. Never throws: the report says what is running and what is not.
    func restore(
        _ services: [String], plan: LaunchPlan, profile: Profile, redact: Redactor, onChange: @escaping @Sendable (ProgressUpdate) -> Void
    ) async -> RestoreReport {
        var report = RestoreReport(attempted: services)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            report.problem = "no last good state is recorded for \(project) (\(layout.display(path)))"
            return await finish(report, plan: plan)
        }
        var compose = plan.composeCommand
        compose.files = [path]
        compose.envFile = nil
        compose.baseEnvFile = nil
        let create = compose.create(services: services, dependencies: false)
        // The same deadline as a launch's create: a restore that hangs is said, never waited on for ever.
        let output = try? await context.runner.run(create.limited(to: Compose.createDeadline(containers: services.count)))
        guard let output, output.succeeded else {
            let said = output?.stderr.split(whereSeparator: \.isNewline).last.map { ": " + redact(String($0)) } ?? ""
            report.problem = "Compose could not create them from the last good state (`\(create)`)\(said)"
            return await finish(report, plan: plan)
        }
        let full: ComposeStack
        do {
            full = try ComposeModelReader.read(config: text, source: layout.display(path))
        } catch {
            report.problem = "the last good state does not read as a compose model: \(error.summary)"
            return await finish(report, plan: plan)
        }
        let wanted = Set(services)
        // The others are running: dependencies on them hold already.
        let subset = ComposeStack(
            services: full.services.filter { wanted.contains($0.name) }.map { service in
                var service = service
                service.dependsOn = service.dependsOn.filter { wanted.contains($0.service) }
                return service
            }, volumes: full.volumes, networks: full.networks)
        do {
            let graph = try DependencyGraph(subset)
            let listed = try await client.listContainers(all: true, labels: ComposeLabels.projectFilter(project))
            var containers: [String: [ContainerDetails]] = [:]
            for container in listed
            where wanted.contains(container.labels[ComposeLabels.service] ?? "") && container.labels[ComposeLabels.oneOff] != "True" {
                let details = try await client.inspectContainer(container.id)
                containers[details.config.labels[ComposeLabels.service] ?? "", default: []].append(details)
            }
            let (events, since) = await client.subscribe(project: project, actions: Orchestrator.watchedActions)
            var orchestrator = Orchestrator(
                client: client, project: project, stack: subset, graph: graph, profile: profile, onChange: onChange)
            orchestrator.jobs = Planner.jobs(in: full)
            orchestrator.redact = redact
            let outcome = await orchestrator.run(containers: containers, events: events, since: since)
            if let lost = outcome.engineLost {
                // Nothing more can be read: where the services are is unknown, and said so.
                report.problem = redact("the engine stopped answering (\(lost.lastError))")
                report.unknown = true
                return report
            }
            for run in outcome.services {
                if run.state == .ready {
                    report.restored.append(run.name)
                } else {
                    report.failed.append("\(run.name): \(redact(run.failure.map { "\($0)" } ?? run.state.description))")
                }
            }
        } catch {
            report.problem = redact((error as? any LaunchFailure)?.summary ?? "\(error)")
        }
        return await finish(report, plan: plan)
    }

    /// What is running and what is not, by service, after the attempt.
    private func finish(_ report: RestoreReport, plan: LaunchPlan) async -> RestoreReport {
        var report = report
        let running = (try? await client.listContainers(all: false, labels: ComposeLabels.projectFilter(project))) ?? []
        let up = Set(running.compactMap { $0.labels[ComposeLabels.service] })
        report.running = plan.stack.serviceNames.filter(up.contains)
        report.notRunning = plan.stack.serviceNames.filter { !up.contains($0) }
        return report
    }
}

/// What a restore to the last good state did.
public struct RestoreReport: Sendable, Encodable {
    /// Services whose running containers were replaced by the failed run.
    public var attempted: [String]
    /// Back, and ready by the profile's rules.
    public var restored: [String] = []
    /// `api: exited with code 1`.
    public var failed: [String] = []
    /// Why nothing could be tried (no record, Compose refused it).
    public var problem: String?
    /// Services with a running container afterwards, and those without one.
    public var running: [String] = []
    public var notRunning: [String] = []
    /// The engine did not say what runs, so whether anything was lost is not known (`problem` says why).
    public var unknown = false

    public var complete: Bool { problem == nil && failed.isEmpty && restored.count == attempted.count }

    enum CodingKeys: String, CodingKey {
        case attempted, restored, failed, problem, running, notRunning = "not_running", complete, unknown
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempted, forKey: .attempted)
        try container.encode(restored, forKey: .restored)
        try container.encode(failed, forKey: .failed)
        try container.encodeIfPresent(problem, forKey: .problem)
        try container.encode(running, forKey: .running)
        try container.encode(notRunning, forKey: .notRunning)
        try container.encode(complete, forKey: .complete)
        if unknown { try container.encode(unknown, forKey: .unknown) }
    }

    /// The end of a summary line after "rolled back what it created": what is back, what is not, or what is unknown.
    /// Never "rolled back" over a hole.
    public var verdict: String {
        if complete { return "and \(line)" }
        if unknown { return "but whether the stack is as it was is unknown: \(problem ?? "the engine did not answer")" }
        return "but the stack is NOT as it was: \(line)"
    }

    /// One line for the progress log and the summary.
    public var line: String {
        if complete { return "restored to last good: \(restored.joined(separator: ", "))" }
        if unknown { return "not known what this run replaced: \(problem ?? "the engine did not answer")" }
        var parts: [String] = []
        if !restored.isEmpty { parts.append("restored to last good: \(restored.joined(separator: ", "))") }
        let missing = attempted.filter { !restored.contains($0) }
        parts.append("NOT restored: \(missing.joined(separator: ", "))" + (problem.map { " (\($0))" } ?? ""))
        parts += failed.map { "  \($0)" }
        // Both empty: the engine did not say what runs, so nothing is claimed about it.
        if !running.isEmpty || !notRunning.isEmpty {
            parts.append("left running: \(running.isEmpty ? "nothing" : running.joined(separator: ", "))")
            parts.append("not running: \(notRunning.isEmpty ? "nothing" : notRunning.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}

extension LaunchPlan {
    /// Fills each service's `change` from Compose's config hashes and the project's containers on the engine.
    /// Leaves them nil when either cannot be read (no engine, Compose v1): a plan never fails for this.
    public mutating func compareWithRunning(context: LaunchContext) async {
        guard engineProblem == nil, let hashes = await LastGood.configHashes(composeCommand, runner: context.runner),
            let containers = try? await EngineClient(context: context).listContainers(
                all: true, labels: ComposeLabels.projectFilter(project))
        else { return }
        let changes = LastGood.changes(hashes: hashes, containers: containers)
        for index in services.indices { services[index].change = changes[services[index].name] }
    }
}
