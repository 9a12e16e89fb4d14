import Foundation
import Synchronization

/// How `launch watch` reports and what it may do.
public struct WatchOptions: Sendable {
    public var json = false
    public var notify = WatchNotifier.Target()
    /// `--metrics ADDR:PORT`.
    public var metrics: String?
    public var engine: Orchestration = .compose
    /// Each service's time to ready from the launch that watching follows (`launch <env> --watch`).
    public var timeToReady: [String: Double] = [:]
    public init() {}
}

/// The driver of `WatchMachine` over a running environment: it reads every service once, then follows the engine's
/// events (compose; inspecting a service on each of its events and everything again after a lost stream) or polls
/// the swarm's tasks every second, feeds what it sees to the machine, and performs what the machine decides —
/// reporting each event (a loss with the same diagnosis a failed launch prints), restarting within the budget,
/// notifying, serving metrics. It never changes anything unless the profile asks for restarts. Ctrl-C or SIGTERM
/// ends it with the stack left running (exit 0).
public struct Watcher: Sendable {
    let context: LaunchContext
    let client: EngineClient
    let layout: ProjectLayout
    let profile: Profile
    let options: WatchOptions
    /// Swarm: node ids to hostnames, read again only for a node not seen yet.
    let nodeNames = SwarmNodeNames()

    enum Inbox: Sendable {
        case input(WatchMachine.Input)
        case note(String)
        case stop
    }

    /// What watching knows of the stack's model: readiness rules (deadline, job or not) per service.
    struct Model: Sendable {
        var jobs: Set<String> = []
        var deadlines: [String: Duration] = [:]
        var services: [String] = []
    }

    static let pollInterval: Duration = .seconds(1)
    static let tickInterval: Duration = .milliseconds(250)
    static let sampleInterval: Duration = .seconds(5)
    static let watchedActions = ["create", "start", "die", "oom", "health_status", "destroy", "pause", "unpause", "restart"]

    public init(context: LaunchContext, client: EngineClient, layout: ProjectLayout, profile: Profile, options: WatchOptions) {
        self.context = context
        self.client = client
        self.layout = layout
        self.profile = profile
        self.options = options
    }

    var project: String { profile.compose.project }

    func model() -> Model {
        guard let stack = Planner.outlineStack(profile, layout: layout) else { return Model() }
        let jobs = Planner.jobs(in: stack)
        var model = Model(jobs: jobs, services: stack.serviceNames)
        for service in stack.services {
            model.deadlines[service.name] =
                ReadinessRule(service: service, policy: profile.health, isJob: jobs.contains(service.name)).deadline
        }
        return model
    }

    /// Every service's observation now (compose: its containers inspected; swarm: its tasks counted).
    func observeAll(_ model: Model, clock: EngineClock) async throws -> [ServiceObservation] {
        let sequence = clock.nextSequence()
        if options.engine == .swarm {
            return try await SwarmStatus.read(client: client, stack: project, names: nodeNames).services.map {
                var observation = ServiceObservation.swarm($0, service: $0.name)
                observation.sequence = sequence
                return observation
            }
        }
        let byService = try await ServiceControl.containersByService(client: client, project: project)
        return byService.map { name, containers in observe(name, containers, model: model, clock: clock, sequence: sequence) }
    }

    /// A compose service's observation, its times judged on the engine's clock and given on this machine's.
    func observe(_ service: String, _ containers: [ContainerDetails], model: Model, clock: EngineClock, sequence: UInt64)
        -> ServiceObservation
    {
        var observation = ServiceObservation.compose(
            service: service, containers: containers, isJob: model.jobs.contains(service), stability: profile.health.stability,
            now: clock.engineNow())
        observation.since = observation.since.map(clock.local)
        observation.sequence = sequence
        return observation
    }

    func observe(_ service: String, model: Model, clock: EngineClock) async throws -> ServiceObservation {
        let sequence = clock.nextSequence()
        let containers = try await ServiceControl.containersByService(client: client, project: project, service: service)[service] ?? []
        return observe(service, containers, model: model, clock: clock, sequence: sequence)
    }

    /// What one watch holds while it runs: where events go, the figures, the clock and the model.
    struct Session: Sendable {
        let model: Model
        let clock: EngineClock
        let redact: Redactor
        let metrics: SharedMetrics
        let output: WatchOutput
        let post: AsyncStream<Inbox>.Continuation
    }

    public func run() async throws -> ExitStatus {
        let (inbox, post) = AsyncStream.makeStream(of: Inbox.self)
        // First of all, so a Ctrl-C while it connects ends watching as one later would (exit 0).
        let interrupts = InterruptHandler(
            console: context.console, first: nil, second: "exiting now", onFirst: { post.yield(.stop) })
        defer { interrupts.cancel() }
        let model = model()
        let clock = EngineClock(context: context, info: try? await client.info())
        // Subscribed before the first reading, so nothing that happens between them is missed.
        let subscription = options.engine == .compose ? await client.subscribe(project: project, actions: Self.watchedActions) : nil
        let first = try await observeAll(model, clock: clock)
        let (watched, policy) = scope(first, model: model)
        var machine = WatchMachine(
            policy: policy,
            services: Dictionary(
                uniqueKeysWithValues: watched.map { ($0, (profile.services.serviceClass(of: $0), model.deadlines[$0] ?? .seconds(60))) }))

        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        var initial = WatchMetrics(
            environment: profile.name, project: project, engine: options.engine.rawValue, version: Version.current,
            startedAt: context.now())
        initial.timeToReady = options.timeToReady
        let metrics = SharedMetrics(initial)
        let server = try options.metrics.map { address in
            try MetricsServer(listen: address) { [context] in metrics.render(now: context.now()) }
        }
        defer { server?.stop() }
        // A hook's own stderr may print anything it inherited: redacted like everything else launch says.
        let notifier = WatchNotifier(target: options.notify, runner: context.runner) { [console = context.console] in
            console.say("warning: \(redact($0))")
        }
        let session = Session(
            model: model, clock: clock, redact: redact, metrics: metrics,
            output: WatchOutput(
                context: context, profile: profile, engine: options.engine, redact: redact, notifier: notifier, json: options.json),
            post: post)

        let tasks = startFeeds(model: model, clock: clock, subscription: subscription, watched: watched, post: post, metrics: metrics)
        defer { tasks.forEach { $0.cancel() } }
        say(header(first, watched: watched, server: server, policy: policy))
        postReading(first.sorted { $0.service < $1.service }, watched: watched, to: post)

        var status = ExitStatus.success
        var lastRefresh = context.now()
        loop: for await message in inbox {
            switch message {
            case .stop:
                await session.output.note("stopped watching \(profile.name); the stack keeps running")
                break loop
            case .note(let text):
                await session.output.note(text)
            case .input(let input):
                if case .observed(let observation) = input { scheduleSettle(observation, model: model, clock: clock, post: post) }
                let exit = await perform(machine.handle(input, now: context.now()), machine: machine, session)
                if case .tick = input, context.now().timeIntervalSince(lastRefresh) >= 1 {
                    lastRefresh = context.now()
                    await session.output.refresh(machine.services)
                }
                if let exit {
                    status = exit
                    break loop
                }
            }
        }
        await session.output.drain()
        await notifier.finish(within: .seconds(10))
        return status
    }

    /// Which services are watched (those with containers, those the profile names, else the stack's) and the restart
    /// policy that applies (none on a swarm: its own restart policy replaces tasks).
    func scope(_ first: [ServiceObservation], model: Model) -> (Set<String>, Profile.WatchPolicy) {
        let seen = Set(first.map(\.service))
        var watched = seen.union(profile.services.core + profile.services.optional + profile.services.stretch)
        if seen.isEmpty { watched.formUnion(model.services) }
        if !model.services.isEmpty { watched.formIntersection(Set(model.services).union(seen)) }
        var policy = profile.watch
        if options.engine == .swarm && !policy.restart.isEmpty {
            say("note: watch.restart is not applied on a swarm: the swarm's own restart policy replaces failed tasks")
            policy.restart = []
        }
        return (watched, policy)
    }

    /// Performs what the machine decided: events written (a loss with its diagnosis, read concurrently), restarts
    /// started (their answer comes back as an input); the exit status when watching ends.
    func perform(_ actions: [WatchMachine.Action], machine: WatchMachine, _ session: Session) async -> ExitStatus? {
        var exit: ExitStatus?
        for action in actions {
            switch action {
            case .report(let event):
                let redact = session.redact
                let diagnosis = event.failure.map { failure in Task { await diagnose(event, failure, redact: redact) } }
                await session.output.emit(event, diagnosis: diagnosis, services: machine.services)
                session.metrics.update { $0.events += 1 }
            case .restart(let service, let containers):
                Task {
                    let (error, started) = await restart(service, containers, clock: session.clock)
                    session.post.yield(.input(.restarted(service: service, error: error, startedAt: started)))
                }
            case .exit(let code, let reason):
                await session.output.note(reason)
                exit = code
            }
        }
        let services = machine.services
        session.metrics.update { $0.services = services }
        return exit
    }

    func say(_ line: String) { context.console.say(line) }

    func header(_ first: [ServiceObservation], watched: Set<String>, server: MetricsServer?, policy: Profile.WatchPolicy) -> String {
        let ready = first.filter { watched.contains($0.service) && $0.condition.isReady }.count
        var line = "watching \(profile.name) (\(options.engine == .swarm ? "swarm stack" : "project") \(project) on \(client.endpoint)): "
        line += "\(ready)/\(watched.count) ready"
        if let server { line += "; metrics at http://\(server.address)/metrics" }
        if !policy.restart.isEmpty {
            line +=
                "; restarts \(policy.restart.joined(separator: ", ")) up to \(policy.max) times within \(DurationText.format(policy.window))"
        }
        return line + "; Ctrl-C stops watching (the stack keeps running)"
    }

    /// A running service inside its stability window is looked at again when the window ends.
    func scheduleSettle(_ observation: ServiceObservation, model: Model, clock: EngineClock, post: AsyncStream<Inbox>.Continuation) {
        guard let wait = observation.settlesIn, options.engine == .compose else { return }
        Task {
            try? await Task.sleep(for: wait + .milliseconds(50))
            if let again = try? await observe(observation.service, model: model, clock: clock) { post.yield(.input(.observed(again))) }
        }
    }

    /// The diagnosis a failed launch prints; on a swarm, of the newest failed task's container where this engine holds
    /// it, with the swarm's own commands as next steps.
    func diagnose(_ event: WatchEvent, _ failure: FailureKind, redact: Redactor) async -> Diagnosis? {
        let swarm = options.engine == .swarm
        if swarm && event.containers.isEmpty { return nil }
        // On a swarm, the failed task's container is on its node: read there when launch can reach that node's engine.
        var engine = client
        if swarm, let node = event.failedOn, let id = event.containers.first, let nodes = try? await client.listNodes() {
            let engines = await SwarmNodeEngines.resolve(nodes: nodes, client: client)
            engine = await SwarmNodeEngines.inspect(id, node: node, engines: engines, client: client)?.engine ?? client
        }
        let diagnostics = Diagnostics(
            client: engine, redact: redact, environment: profile.name, project: project,
            swarmService: swarm ? "\(project)_\(event.service)" : nil)
        return await diagnostics.diagnose(
            service: event.service, serviceClass: event.serviceClass, failure: failure,
            containers: swarm ? Array(event.containers.prefix(1)) : event.containers)
    }

    /// Restarts the service's containers (stopped ones are started): nil and when it started again (this machine's
    /// clock), or what the engine said.
    func restart(_ service: String, _ containers: [String], clock: EngineClock) async -> (String?, Date?) {
        guard !containers.isEmpty else {
            return ("no container of \(service) exists to restart: `\(context.console.command("\(profile.name)"))` creates it", nil)
        }
        var started: Date?
        for id in containers {
            do {
                try await client.restartContainer(id, timeoutSeconds: 10)
                let details = try await client.inspectContainer(id)
                if let time = EngineTime.parse(details.state.startedAt).map(clock.local) { started = max(started ?? time, time) }
            } catch {
                return ("\(error)", nil)
            }
        }
        return (nil, started)
    }
}

/// The engine's clock against this machine's (from `/info`'s `SystemTime`, read once), so times the engine stamps —
/// a start, an exit — are judged against the engine's own now, and shown on this machine's; and the order in which
/// reads began.
final class EngineClock: Sendable {
    let context: LaunchContext
    /// Engine time minus this machine's time, in seconds.
    let offset: TimeInterval
    private let sequence = Atomic<UInt64>(0)

    init(context: LaunchContext, info: EngineInfo?) {
        self.context = context
        let engine = info.flatMap { EngineTime.parse($0.systemTime) }
        // A clock more than a day off is a broken clock, not a skew to correct for.
        let skew = engine.map { $0.timeIntervalSince(context.now()) } ?? 0
        offset = abs(skew) < 86_400 ? skew : 0
    }

    func engineNow() -> Date { context.now().addingTimeInterval(offset) }
    func local(_ engineTime: Date) -> Date { engineTime.addingTimeInterval(-offset) }
    func nextSequence() -> UInt64 { sequence.add(1, ordering: .relaxed).newValue }
}
