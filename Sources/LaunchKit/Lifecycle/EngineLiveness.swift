import Foundation

/// Whether the engine is still there, decided from the heartbeat's answers alone (pure, so the launch machine and
/// the create phase decide it the same way, and unit tests replay it).
///
/// Any answer — an HTTP error included — is an engine that is there. Only requests that got no answer at all
/// (refused, reset, timed out) count as silence, and only silence that lasts `grace` with nothing answered in
/// between is a lost engine: one dropped connection is not.
struct EngineLiveness: Sendable, Equatable {
    /// Nothing but silence for this long is a lost engine. Long enough for a busy engine's slow ping and a
    /// restarted proxy; short enough that no service deadline is sat out in its place.
    static let grace: Double = 4
    /// When the current run of silence began (seconds on the caller's clock), and the last thing that went unanswered.
    private(set) var silentSince: Double?
    private(set) var lastSilence: String?
    /// Unanswered requests in a row: one slow dial (an ssh hop) is never a lost engine on its own.
    private(set) var silences = 0

    mutating func answered() {
        silentSince = nil
        lastSilence = nil
        silences = 0
    }

    /// A request sent `waited` seconds before `now` got no answer: how long the engine has been silent (since the
    /// first unanswered request was sent), once that is `grace` or more.
    mutating func silent(_ what: String, at now: Double, waited: Double = 0) -> Double? {
        let since = silentSince ?? (now - max(waited, 0))
        silentSince = since
        lastSilence = what
        silences += 1
        return silences >= 2 && now - since >= Self.grace ? now - since : nil
    }
}

/// The engine stopped answering: when (seconds into the phase that saw it), for how long, and its last words.
public struct EngineSilence: Sendable, Equatable, Encodable {
    public var endpoint: String
    /// `create`, `start`: the phase that was running.
    public var phase: String
    public var seconds: Double
    public var lastError: String

    enum CodingKeys: String, CodingKey {
        case endpoint, phase, seconds, lastError = "last_error"
    }
}

/// Pings the engine while something long runs, so a lost engine is said in seconds, never as a deadline sat out.
enum EngineHeartbeat {
    enum Beat: Sendable, Equatable {
        case answered
        /// No answer, after waiting `waited` seconds for one (a frozen engine: the whole timeout).
        case silent(String, waited: Double)
    }

    static let interval: Duration = .seconds(1)
    /// A ping over a local socket answers in a millisecond; a busy engine in tens.
    static let timeout: Duration = .seconds(2)

    /// One beat per `interval` (after the previous ping ended) until cancelled.
    static func beats(_ engine: any ContainerEngine, every interval: Duration = interval) -> AsyncStream<Beat> {
        AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    continuation.yield(await beat(engine))
                    try? await Task.sleep(for: interval)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func beat(_ engine: any ContainerEngine) async -> Beat {
        let clock = ContinuousClock(), sent = clock.now
        do {
            _ = try await engine.ping(timeout: timeout)
            return .answered
        } catch let error as EngineError where error.isNoAnswer {
            return .silent(error.summary, waited: sent.duration(to: clock.now).seconds)
        } catch {
            return .answered  // it answered, with an error of its own
        }
    }

    /// Listens until the engine answers (nil) or has been silent for `EngineLiveness.grace` (the silence). Asked
    /// after a failure that may be the engine's: at most a few seconds.
    static func confirmLoss(_ engine: any ContainerEngine, phase: String, interval: Duration = interval) async -> EngineSilence? {
        await listen(engine, phase: phase, interval: interval, endOnAnswer: true)
    }

    /// Listens until the engine has been silent for `EngineLiveness.grace` (the silence), or the task is cancelled
    /// (nil) — or, with `endOnAnswer`, until it answers (nil).
    static func listen(
        _ engine: any ContainerEngine, phase: String, interval: Duration = interval, endOnAnswer: Bool = false
    ) async -> EngineSilence? {
        var liveness = EngineLiveness()
        let clock = ContinuousClock(), origin = clock.now
        for await beat in beats(engine, every: interval) {
            switch beat {
            case .answered:
                if endOnAnswer { return nil }
                liveness.answered()
            case .silent(let what, let waited):
                guard let seconds = liveness.silent(what, at: origin.duration(to: clock.now).seconds, waited: waited) else { continue }
                return EngineSilence(endpoint: engine.endpoint.description, phase: phase, seconds: seconds, lastError: what)
            }
        }
        return nil
    }

    /// Runs `body` while listening: when the engine has been silent for `EngineLiveness.grace`, `body` is cancelled
    /// (a Compose child is stopped with its process group) and `EngineLostError` is thrown at once — not after the
    /// body's own request deadline, which a blocked engine request would sit out. Cancelling the caller cancels `body`.
    static func guarding<T: Sendable>(
        _ engine: any ContainerEngine, phase: String, interval: Duration = interval, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let first = FirstAnswer<GuardOutcome<T>>()
        let work = Task {
            do {
                first.resume(.done(.success(try await body())))
            } catch {
                first.resume(.done(.failure(error)))
            }
        }
        let watch = Task {
            if let silence = await listen(engine, phase: phase, interval: interval) { first.resume(.lost(silence)) }
        }
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { first.set($0) }
        } onCancel: {
            work.cancel()
        }
        watch.cancel()
        switch outcome {
        case .done(let result): return try result.get()
        case .lost(let silence):
            work.cancel()
            // A moment for a cancelled Compose to be stopped with its group; a blocked engine request is not waited for.
            _ = await within(.seconds(2)) { _ = await work.result }
            throw EngineLostError(silence: silence)
        }
    }
}

/// How a guarded phase ended: on its own, or with the engine lost first.
enum GuardOutcome<T: Sendable>: Sendable {
    case done(Result<T, any Error>)
    case lost(EngineSilence)
}

/// Thrown inside a launch when the engine was lost; the launcher turns it into `EngineLost` once it has tried to
/// undo what the run created.
struct EngineLostError: Error, Sendable {
    var silence: EngineSilence
}

/// The engine stopped answering during a launch: its own verdict (exit 6), never a service's failure and never
/// "rolled back" unless the removal was seen to happen.
public struct EngineLost: LaunchFailure {
    public var silence: EngineSilence
    public var environment: String
    /// The engine answered again in time and everything this run created was removed.
    public var rolledBack: Bool
    /// What this run created (or was creating) that may still exist, in words, from what launch recorded.
    public var leftovers: [String]
    /// What launch knew of the services when the engine went (`db ready`, `api starting`).
    public var servicesAtLoss: [String] = []
    /// A command that changes no stack of its own (`restart`, `start`): where its services were left, said instead
    /// of a rollback.
    public var leftAsIs: String? = nil
    /// Services that ran before this (re)launch: it may have replaced them, and nothing puts them back until the
    /// engine answers and the environment is launched again.
    public var ranBefore: [String] = []

    public var summary: String {
        "the engine at \(silence.endpoint) stopped answering during \(silence.phase) (no answer for \(String(format: "%.1f", silence.seconds))s)"
            + (leftAsIs.map { "; \($0)" } ?? "")
            + (leftAsIs != nil
                ? ""
                : rolledBack
                    ? "; what this run created was removed once it answered again"
                    : leftovers.isEmpty
                        ? "; nothing of the stack had been created"
                        : "; nothing could be rolled back: what this run created may still exist")
    }

    public var evidence: [String] {
        ["last error: \(silence.lastError)"] + (servicesAtLoss.isEmpty ? [] : ["when it went: " + servicesAtLoss.joined(separator: ", ")])
            + leftovers.map { "may still exist: \($0)" }
            + (ranBefore.isEmpty
                ? []
                : [
                    "ran before this relaunch and may have been replaced: \(ranBefore.joined(separator: ", ")) (`launch \(environment)` puts them back once the engine answers)"
                ])
    }

    public var hint: String? {
        if leftAsIs != nil {
            return "once the engine answers again (`docker info`), `launch status \(environment)` shows where the services are"
        }
        return rolledBack || leftovers.isEmpty
            ? "find out why the engine stopped answering (its log, `journalctl -u docker`), then launch again"
            : "once the engine answers again (`docker info`), `launch down \(environment)` removes what this run left"
    }

    public var exitCode: ExitStatus { .engineLost }
}
