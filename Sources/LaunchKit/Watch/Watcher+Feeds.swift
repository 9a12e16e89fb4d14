import Foundation
import Synchronization

extension Watcher {
    /// The tasks that feed the machine: the engine's events (compose) or the swarm's tasks, a tick for due restarts
    /// and deadlines, and — with `--metrics` — a resource sampler.
    func startFeeds(
        model: Model, clock: EngineClock, subscription: (events: AsyncThrowingStream<EngineEvent, any Error>, resumeFrom: Int64)?,
        watched: Set<String>, post: AsyncStream<Inbox>.Continuation, metrics: SharedMetrics
    ) -> [Task<Void, Never>] {
        var tasks: [Task<Void, Never>] = []
        if let subscription {
            tasks.append(Task { await follow(subscription, model: model, clock: clock, watched: watched, post: post) })
        } else {
            tasks.append(Task { await poll(model: model, clock: clock, watched: watched, post: post) })
        }
        tasks.append(
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.tickInterval)
                    post.yield(.input(.tick))
                }
            })
        if options.metrics != nil {
            tasks.append(Task { await sample(metrics) })
        }
        return tasks
    }

    /// Each event of a watched service: that service inspected and observed. A `die` whose container the engine has
    /// already started again (its restart policy, faster than the inspect) is reported as the crash it was before
    /// what the inspect found. A lost stream is resumed from the last event's time (the engine replays what was
    /// missed) and every service is read again, so no change is lost.
    func follow(
        _ subscription: (events: AsyncThrowingStream<EngineEvent, any Error>, resumeFrom: Int64), model: Model, clock: EngineClock,
        watched: Set<String>, post: AsyncStream<Inbox>.Continuation
    ) async {
        var events = subscription.events
        var last = subscription.resumeFrom
        var failures = 0
        var outage = false
        while !Task.isCancelled {
            do {
                for try await event in events {
                    last = max(last, event.timeNano)
                    guard let service = event.service, watched.contains(service) else { continue }
                    let observation = try await observe(service, model: model, clock: clock)
                    if event.action == "die", let code = event.exitCode, !observation.condition.isFailure,
                        observation.condition != .removed
                    {
                        var crash = observation
                        crash.condition = .restarting(exitCode: code, oomKilled: false)
                        // When it died, so a stop watching's own restart made is known as such.
                        crash.since = clock.local(Date(timeIntervalSince1970: Double(event.timeNano) / 1e9))
                        post.yield(.input(.observed(crash)))
                    }
                    post.yield(.input(.observed(observation)))
                    failures = 0
                }
                guard !Task.isCancelled else { return }
                throw EngineError.decoding("the event stream ended")
            } catch {
                guard !Task.isCancelled else { return }
                failures += 1
                if !outage {
                    outage = true
                    post.yield(.note("warning: lost the engine's event stream (\(error)); reconnecting"))
                }
                try? await Task.sleep(for: Backoff.reconnect.delay(attempt: failures))
                events = client.projectEvents(project, sinceNanoseconds: last, actions: Self.watchedActions)
                // Whatever the replay does not carry is still seen: every service is read again.
                guard let all = try? await observeAll(model, clock: clock) else { continue }
                postReading(all, watched: watched, to: post)
                outage = false
                post.yield(.note("the engine answers again; every service was read again"))
            }
        }
    }

    /// A full reading: every watched service, the missing ones as removed.
    func postReading(_ all: [ServiceObservation], watched: Set<String>, to post: AsyncStream<Inbox>.Continuation) {
        let present = Set(all.map(\.service))
        let sequence = all.first?.sequence ?? 0
        for observation in all where watched.contains(observation.service) { post.yield(.input(.observed(observation))) }
        for missing in watched.subtracting(present).sorted() {
            var removed = ServiceObservation(service: missing, condition: .removed)
            removed.sequence = sequence
            post.yield(.input(.observed(removed)))
        }
    }

    /// Swarm: the stack's tasks, every second.
    func poll(model: Model, clock: EngineClock, watched: Set<String>, post: AsyncStream<Inbox>.Continuation) async {
        var failing = false
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.pollInterval)
            guard !Task.isCancelled else { return }
            do {
                let all = try await observeAll(model, clock: clock)
                if failing { post.yield(.note("the swarm answers again")) }
                failing = false
                postReading(all, watched: watched, to: post)
            } catch {
                if !failing { post.yield(.note("warning: could not read the swarm's tasks (\(error)); trying again every second")) }
                failing = true
            }
        }
    }

    /// The running containers of each service: the compose project's, or the swarm stack's tasks on this engine.
    func runningContainers() async -> [String: [ContainerDetails]] {
        guard options.engine == .swarm else {
            return (try? await ServiceControl.containersByService(client: client, project: project)) ?? [:]
        }
        let tasks = (try? await client.listContainers(all: false, labels: ["com.docker.stack.namespace=\(project)"])) ?? []
        var byService: [String: [ContainerDetails]] = [:]
        for task in tasks {
            guard let name = task.labels["com.docker.swarm.service.name"], let details = try? await client.inspectContainer(task.id)
            else { continue }
            byService[String(name.dropFirst(name.hasPrefix(project + "_") ? project.count + 1 : 0)), default: []].append(details)
        }
        return byService
    }

    /// Every few seconds: memory against the limit, CPU throttling since the previous reading, the last probe's
    /// duration, per service (replicas summed), for `--metrics`.
    func sample(_ metrics: SharedMetrics) async {
        var previous: [String: ResourceSample] = [:]
        while !Task.isCancelled {
            var samples: [String: WatchMetrics.Sample] = [:]
            var seen: [String: ResourceSample] = [:]
            for (service, containers) in await runningContainers() {
                var sample = WatchMetrics.Sample()
                var periods: Int64 = 0
                var throttled: Int64 = 0
                for details in containers where details.state.running {
                    if let limit = details.hostConfig.memoryLimit { sample.memoryLimitBytes = (sample.memoryLimitBytes ?? 0) &+ limit }
                    if let probe = details.state.health?.log.last, let start = EngineTime.parse(probe.start),
                        let end = EngineTime.parse(probe.end)
                    {
                        sample.probeSeconds = max(sample.probeSeconds ?? 0, end.timeIntervalSince(start))
                    }
                    guard let stats = try? await client.stats(details.id) else { continue }
                    sample.memoryBytes &+= max(0, stats.memoryStats?.usage ?? 0)
                    let now = stats.sample
                    if let before = previous[details.id], details.hostConfig.cpuLimit != nil {
                        periods &+= max(0, now.cpuPeriods &- before.cpuPeriods)
                        throttled &+= max(0, now.cpuThrottledPeriods &- before.cpuThrottledPeriods)
                    }
                    seen[details.id] = now
                }
                if periods > 0 { sample.cpuThrottledRatio = min(1, Double(throttled) / Double(periods)) }
                samples[service] = sample
            }
            // Only the containers still running are remembered: a replaced one's counters go with it.
            previous = seen
            metrics.update { $0.samples = samples }
            try? await Task.sleep(for: Self.sampleInterval)
        }
    }
}

/// Writes watching's events in the order they happened, each loss with its diagnosis (read concurrently, so a slow
/// one never holds the machine up), to stdout — lines, or JSON Lines — and to the notifier. On a terminal, a board of
/// every service stays under the lines (on stderr), redrawn after each event and every second.
actor WatchOutput {
    let context: LaunchContext
    let profile: Profile
    let engine: Orchestration
    let redact: Redactor
    let notifier: WatchNotifier
    let json: Bool
    private var last: Task<Void, Never>?
    private let board: BoardArea?

    init(context: LaunchContext, profile: Profile, engine: Orchestration, redact: Redactor, notifier: WatchNotifier, json: Bool) {
        self.context = context
        self.profile = profile
        self.engine = engine
        self.redact = redact
        self.notifier = notifier
        self.json = json
        board = context.console.isInteractive && !json ? BoardArea(console: context.console) : nil
    }

    func emit(_ event: WatchEvent, diagnosis: Task<Diagnosis?, Never>?, services: [String: WatchMachine.Watched]) {
        let previous = last
        last = Task { [context, profile, engine, redact, notifier, json, board] in
            await previous?.value
            let diagnosis = await diagnosis?.value
            let document = WatchEventDocument(
                event, environment: profile.name, project: profile.compose.project, engine: engine, diagnosis: diagnosis, redact: redact)
            board?.erase()
            if json {
                if let line = try? JSONOutput.encode(document, line: true) { context.console.data(line) }
            } else {
                WatchRenderer.lines(event, environment: profile.name, diagnosis: diagnosis, console: context.console, redact: redact)
                    .forEach(context.console.data)
            }
            board?.draw(WatchRenderer.board(services, now: context.now(), redact: redact, width: BoardArea.width()))
            if event.kind != .initial { notifier.send(document) }
        }
    }

    /// A line of talk (stderr), in order with the events and above the board.
    func note(_ line: String) {
        let previous = last
        last = Task { [context, board] in
            await previous?.value
            let height = board?.erase()
            context.console.say(line)
            if let board, let height, height > 0 { board.redraw() }
        }
    }

    /// The board again (its times move on), after whatever is being written.
    func refresh(_ services: [String: WatchMachine.Watched]) {
        guard let board else { return }
        let previous = last
        last = Task { [context, redact] in
            await previous?.value
            board.erase()
            board.draw(WatchRenderer.board(services, now: context.now(), redact: redact, width: BoardArea.width()))
        }
    }

    /// Waits until every event so far is written, and takes the board away.
    func drain() async {
        await last?.value
        board?.erase()
    }
}

/// The lines at the bottom of a terminal that the board occupies: erased (cursor up, clear to the end) before
/// anything else is written, drawn again after.
final class BoardArea: Sendable {
    private let console: Console
    private let shown = Mutex<[String]>([])
    init(console: Console) { self.console = console }

    /// Takes the board off the screen; returns how many lines it had.
    @discardableResult
    func erase() -> Int {
        let lines = shown.withLock { $0.count }
        if lines > 0 { console.raw("\u{1B}[\(lines)A\u{1B}[J") }
        return lines
    }

    func draw(_ lines: [String]) {
        console.raw(lines.map { $0 + "\n" }.joined())
        shown.withLock { $0 = lines }
    }

    /// The last board again, below what was just written.
    func redraw() { draw(shown.withLock { $0 }) }

    /// The terminal's width (stderr's), so no row wraps and the erase stays exact.
    static func width() -> Int { Platform.terminalColumns(2) ?? 80 }
}
