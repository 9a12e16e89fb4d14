import Foundation

/// What the daemon says about itself, asked once per preflight run and shared by every check.
struct EngineFacts: Sendable {
    enum Problem: Sendable {
        /// The Engine API failed: down, refused, permission denied, hung, too old.
        case engine(EngineError)
    }

    var endpoint: EngineEndpoint
    /// Set when the daemon answers: image and container questions go through it.
    var client: EngineClient?
    /// The version requests use (negotiated); the engine's own is in `info`.
    var apiVersion: APIVersion?
    var info: EngineInfo?
    var problem: Problem?
    /// Running containers of every project; nil when unknown (the daemon is down).
    var runningContainers: [ContainerSummary]?

    var reachable: Bool { info != nil }
    /// Ports are published on the daemon's host; only a local socket means that host is this one.
    var isLocal: Bool { endpoint.socketPath != nil }

    /// Every transport speaks the Engine API, so one client serves all of them; its first request negotiates
    /// the API version with a short deadline, so a hung daemon is a failed check, not a hung doctor.
    static func gather(context: LaunchContext) async -> EngineFacts {
        let endpoint = context.engine
        let client = EngineClient(context: context)
        do {
            let version = try await client.apiVersion()
            async let info = client.info()
            async let containers = client.listContainers(all: false)
            return EngineFacts(
                endpoint: endpoint, client: client, apiVersion: version, info: try await info, problem: nil,
                runningContainers: try await containers)
        } catch let error as EngineError {
            return EngineFacts(endpoint: endpoint, client: nil, info: nil, problem: .engine(error))
        } catch {
            return EngineFacts(endpoint: endpoint, client: nil, info: nil, problem: .engine(.io(0, "\(error)")))
        }
    }
}
