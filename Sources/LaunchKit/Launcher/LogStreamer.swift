import Foundation

/// `launch logs`: every matching container's `docker logs`, merged line by line with a service prefix,
/// secrets redacted, to stdout.
public struct LogStreamer: Sendable {
    let context: LaunchContext
    let client: EngineClient
    let layout: ProjectLayout
    let profile: Profile

    public init(context: LaunchContext, client: EngineClient, layout: ProjectLayout, profile: Profile) {
        self.context = context
        self.client = client
        self.layout = layout
        self.profile = profile
    }

    /// Why `since` is not something `docker logs --since` takes, or nil when it is: a duration (`10m`, `1h30m`,
    /// `1.5h`, `500ms`; Go's units, at most ~292 years), an RFC 3339 date or time (`2026-12-01`,
    /// `2026-12-01T10:00:00Z`, with fractions and offsets), or Unix seconds (`1764583200.5`). Checked before any
    /// container is read: the engine's own refusal would arrive as a log line, after the exit status was decided.
    public static func sinceProblem(_ value: String) -> String? {
        let accepted = "a duration (10m, 1h30m), an RFC 3339 time (2026-12-01T10:00:00Z) or Unix seconds"
        // A Go duration: launch's own duration reader, signed, every number with its unit, up to what Go's int64
        // nanoseconds hold (~292 years).
        let unsigned = value.first.map { "+-".contains($0) } == true ? String(value.dropFirst()) : value
        if unsigned.last?.isLetter == true {
            do throws(QuantityError) {
                _ = try DurationText.checked(unsigned, limit: .seconds(9_223_372_036))
                return nil
            } catch .tooLarge {
                return "`\(value)` is longer than a duration can be (about 292 years); give \(accepted)"
            } catch {}
        }
        if value.wholeMatch(of: /[0-9]{1,19}(\.[0-9]{1,18})?/) != nil { return nil }
        if let match = value.wholeMatch(
            of:
                /([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?)?)?(Z|[+-][0-9]{2}:[0-9]{2})?/
        ) {
            let month = Int(match.2) ?? 0, day = Int(match.3) ?? 0
            let hour = match.4.flatMap { Int($0) } ?? 0, minute = match.5.flatMap { Int($0) } ?? 0,
                second = match.6.flatMap { Int($0) } ?? 0
            if (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 { return nil }
            return "`\(value)` is not a valid date and time; give \(accepted)"
        }
        return "`\(value)` is not \(accepted)"
    }

    /// `since`: as `docker logs --since` takes it (`10m`, RFC 3339, Unix seconds). With `follow`, a container
    /// that starts again (a restart, or a new one after a recreate) is picked up at its start event, from where
    /// its new run's log begins: the stream goes on until Ctrl-C.
    /// What `launch logs` asks for besides the services.
    public struct Options: Sendable {
        public var follow = false
        public var tail: Int?
        public var since: String?
        public var until: String?
        public var timestamps = false
        /// Each line led by its service (`db | …`); `--no-log-prefix` drops it.
        public var prefix = true
        /// Escape sequences and control characters passed through as the container wrote them (`--raw`).
        public var raw = false
        public init() {}

        /// A line as printed: redacted, and unless `raw` made printable (a container cannot retitle or clear the
        /// terminal), indentation kept.
        func shown(_ line: String, redact: Redactor) -> String {
            raw ? redact(line) : Text.printable(redact(line), limit: .max, trimming: false)
        }
    }

    /// Nothing to show: which services do have containers, or how to start the environment.
    func noContainers(_ services: [String], label: [String]) async throws -> UsageError {
        let known = Set(try await client.listContainers(all: true, labels: label).compactMap { $0.labels[ComposeLabels.service] })
        return UsageError(
            services.isEmpty
                ? "\(profile.name) has no containers" : "no containers for \(services.joined(separator: ", ")) in \(profile.name)",
            evidence: known.isEmpty ? [] : ["services with containers: " + known.sorted().joined(separator: ", ")],
            hint: known.isEmpty ? "start it with `launch \(profile.name)`" : "name one of the services above")
    }

    public func stream(services: [String], options: Options) async throws {
        let (follow, tail, since) = (options.follow, options.tail, options.since)
        let label = ComposeLabels.projectFilter(profile.compose.project)
        // Subscribed before listing, so a container that starts in between is not missed.
        let subscribedAt = Int64((Date().timeIntervalSince1970 * 1e9).rounded(.down))
        let containers = try await client.listContainers(all: true, labels: label)
            .filter { services.isEmpty || services.contains($0.labels[ComposeLabels.service] ?? "") }
            .sorted { $0.name < $1.name }
        guard !containers.isEmpty else { throw try await noContainers(services, label: label) }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let width = containers.map { ($0.labels[ComposeLabels.service] ?? $0.name).count }.max() ?? 0
        let console = context.console
        let runner = context.runner
        let docker = context.docker
        let client = self.client
        func prefix(service: String?, name: String) -> String {
            let label = containers.filter { $0.labels[ComposeLabels.service] == service }.count > 1 ? name : (service ?? name)
            return Text.pad(label, max(width, label.count)) + " | "
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for container in containers {
                let lead = prefix(service: container.labels[ComposeLabels.service], name: container.name)
                group.addTask {
                    let errors = DockerCLIFailure.Tail()
                    let logs = docker.logs(
                        container: container.id, follow: follow, tail: tail, since: since, until: options.until,
                        timestamps: options.timestamps)
                    let status = try await runner.stream(logs) { stream, line in
                        errors.record(stream, line)
                        console.data((options.prefix ? lead : "") + options.shown(line, redact: redact))
                    }
                    if let failure = DockerCLIFailure(
                        command: "docker logs", status: status, stderr: errors.all, cancelled: Task.isCancelled)
                    {
                        throw failure
                    }
                }
            }
            // Waited for here: a task group that returns drops its children's errors (a refused `docker logs`).
            guard follow else {
                try await group.waitForAll()
                return
            }
            group.addTask {
                let events = client.events(sinceNanoseconds: subscribedAt, labels: label, actions: ["start"])
                try await withThrowingTaskGroup(of: Void.self) { followers in
                    for try await event in events {
                        guard let id = event.containerID, let service = event.actor.attributes[ComposeLabels.service],
                            services.isEmpty || services.contains(service), event.actor.attributes[ComposeLabels.oneOff] != "True"
                        else { continue }
                        let lead = prefix(service: service, name: event.actor.attributes["name"] ?? id)
                        followers.addTask {
                            // This run's log on: what came before was printed by the stream that just ended. Not
                            // from the start event's time: the engine stamps a line when it copies it, so a run's
                            // first lines can be stamped before its event (they were lost that way).
                            let details = try? await client.inspectContainer(id)
                            let from =
                                details.map { EngineClient.currentRunSince(finishedAt: $0.state.finishedAt, startedAt: $0.state.startedAt) }
                                ?? event.timeNano
                            let logs = docker.logs(
                                container: id, follow: true, since: from.map(EngineClient.sinceText), timestamps: options.timestamps)
                            _ = try await runner.stream(logs) { _, line in
                                console.data((options.prefix ? lead : "") + options.shown(line, redact: redact))
                            }
                        }
                    }
                    try await followers.waitForAll()
                }
            }
            try await group.waitForAll()
        }
    }

    /// `launch logs <env> --engine swarm`: each service of the stack through `docker service logs` (every task,
    /// on every node), redacted like the compose path. A service the swarm starts again keeps streaming while
    /// following: the swarm's log stream is per service, not per task.
    public func streamSwarm(services: [String], options: Options) async throws {
        let (follow, tail, since) = (options.follow, options.tail, options.since)
        if options.until != nil {
            throw UsageError("--until is not something `docker service logs` can do", hint: "leave --until out with --engine swarm")
        }
        let stack = profile.compose.project
        let all = try await client.listServices(stack: stack)
        let chosen = all.filter { services.isEmpty || services.contains($0.composeName(in: stack)) }
        guard !chosen.isEmpty else {
            throw UsageError(
                services.isEmpty
                    ? "\(profile.name) has no services on the swarm (stack \(stack))"
                    : "no services \(services.joined(separator: ", ")) in the stack \(stack)",
                evidence: all.isEmpty
                    ? [] : ["services of the stack: " + all.map { $0.composeName(in: stack) }.sorted().joined(separator: ", ")],
                hint: all.isEmpty ? "start it with `launch \(profile.name) --engine swarm`" : "name one of the services above")
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let console = context.console
        let runner = context.runner
        let docker = context.docker
        let prefix = stack + "_"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in chosen {
                group.addTask {
                    let lines = DockerCLIFailure.Tail()
                    let status = try await runner.stream(
                        docker.serviceLogs(service: service.id, follow: follow, tail: tail, since: since, timestamps: options.timestamps)
                    ) {
                        stream, line in
                        lines.record(stream, line)
                        // `docker service logs` starts each line with `<stack>_<service>.<slot>@<node> | `: the stack
                        // name is the same on every line and goes; slot and node stay.
                        let shown = options.shown(line, redact: redact)
                        console.data(shown.hasPrefix(prefix) ? String(shown.dropFirst(prefix.count)) : shown)
                    }
                    if let failure = DockerCLIFailure(
                        command: "docker service logs", status: status, stderr: lines.all, cancelled: Task.isCancelled)
                    {
                        throw failure
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
