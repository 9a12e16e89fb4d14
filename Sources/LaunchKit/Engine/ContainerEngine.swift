/// What launch's compose-side drivers — the orchestrator's effects, rollback, teardown, the snapshot, the
/// diagnosis, the last-good restore — ask of a Docker engine. `EngineClient` is the real one; unit tests hand
/// the drivers a fake that answers what a test scripted and fails loudly on anything else, so what a driver does
/// with the engine's answers (and its errors) is tested without Docker, and the end-to-end suite proves the
/// client.
public protocol ContainerEngine: Sendable {
    /// Where the engine is, for messages that must name it.
    var endpoint: EngineEndpoint { get }

    /// True when the engine answers `/_ping` with OK within `timeout`; throws when it does not answer at all.
    func ping(timeout: Duration) async throws -> Bool
    /// `labels` are `key` or `key=value` filters, ANDed by the engine.
    func listContainers(all: Bool, labels: [String]) async throws -> [ContainerSummary]
    func inspectContainer(_ id: String) async throws -> ContainerDetails
    /// Already running is success.
    func startContainer(_ id: String) async throws
    /// Already stopped is success.
    func stopContainer(_ id: String, timeoutSeconds: Int) async throws
    func restartContainer(_ id: String, timeoutSeconds: Int) async throws
    /// Already gone is success.
    func removeContainer(_ id: String, force: Bool, volumes: Bool) async throws
    func listNetworks(labels: [String]) async throws -> [NetworkSummary]
    func removeNetwork(_ id: String) async throws
    func listVolumes(labels: [String]) async throws -> [VolumeSummary]
    func removeVolume(_ name: String, force: Bool) async throws
    func systemDataUsage() async throws -> SystemDataUsage

    /// One run of `command` in the container: its outcome, or a thrown error when the engine itself failed.
    func probe(_ container: String, command: [String], timeout: Duration) async throws -> EngineClient.ProbeAnswer
    func stats(_ id: String) async throws -> ContainerStats
    func containerLogs(_ id: String, tail: Int) async throws -> [String]
    /// Follows this run of the container's log until a line matches `pattern` (nil: it ended without one).
    func firstLogLine(_ id: String, matching pattern: String) async throws -> String?

    /// What a swarm task or service printed, read through the manager (a task on any node).
    func swarmLogs(_ source: SwarmLogSource, tail: Int) async throws -> [String]

    /// The container events of compose project `project`, replayed from `sinceNanoseconds` when given.
    func projectEvents(_ project: String, sinceNanoseconds: Int64?, actions: [String]) -> AsyncThrowingStream<EngineEvent, any Error>
    /// `projectEvents`, returning once the engine has the subscription in place (see `EngineClient.subscribe`).
    func subscribe(project: String, actions: [String]) async -> (events: AsyncThrowingStream<EngineEvent, any Error>, resumeFrom: Int64)
}

extension EngineClient: ContainerEngine {
    public func projectEvents(_ project: String, sinceNanoseconds: Int64?, actions: [String]) -> AsyncThrowingStream<EngineEvent, any Error>
    {
        events(sinceNanoseconds: sinceNanoseconds, labels: ComposeLabels.projectFilter(project), actions: actions)
    }
}

/// Whose log a swarm reads: one task's, or every task's of a service.
public enum SwarmLogSource: Sendable, Hashable {
    case task(String)
    case service(String)

    var path: String {
        switch self {
        case .task(let id): "/tasks/\(EngineClient.escape(id))/logs"
        case .service(let name): "/services/\(EngineClient.escape(name))/logs"
        }
    }
}
