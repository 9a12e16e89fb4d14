import Foundation

/// `HostConfig.DeviceRequests` entry: what `--gpus` and Compose's device reservations become.
public struct DeviceRequest: Sendable, Hashable, Encodable {
    public var driver: String
    /// -1: all.
    public var count: Int
    public var deviceIDs: [String]?
    public var capabilities: [[String]]

    enum CodingKeys: String, CodingKey {
        case driver = "Driver", count = "Count", deviceIDs = "DeviceIDs", capabilities = "Capabilities"
    }
}

/// The body of `POST /containers/create`, reduced to what launch's own short-lived containers need.
public struct ContainerCreateRequest: Sendable, Hashable, Encodable {
    public var image: String
    public var entrypoint: [String]
    public var command: [String]
    public var labels: [String: String]
    public var deviceRequests: [DeviceRequest]

    public init(image: String, entrypoint: [String], command: [String], labels: [String: String], deviceRequests: [DeviceRequest]) {
        self.image = image
        self.entrypoint = entrypoint
        self.command = command
        self.labels = labels
        self.deviceRequests = deviceRequests
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", entrypoint = "Entrypoint", command = "Cmd", labels = "Labels", hostConfig = "HostConfig"
        case networkDisabled = "NetworkDisabled"
    }
    enum HostConfigKeys: String, CodingKey { case deviceRequests = "DeviceRequests", networkMode = "NetworkMode" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(entrypoint, forKey: .entrypoint)
        try container.encode(command, forKey: .command)
        try container.encode(labels, forKey: .labels)
        // It only lists its own /dev: no network, so it can neither reach nor be reached by anything.
        try container.encode(true, forKey: .networkDisabled)
        var host = container.nestedContainer(keyedBy: HostConfigKeys.self, forKey: .hostConfig)
        try host.encode(deviceRequests, forKey: .deviceRequests)
        try host.encode("none", forKey: .networkMode)
    }
}

extension EngineClient {
    /// Creates a container (no pull: a missing image is a 404 error); returns its id.
    public func createContainer(_ request: ContainerCreateRequest, name: String) async throws -> String {
        struct Created: Decodable { let Id: String }
        let body = try JSONEncoder().encode(request)
        let response = try await perform("POST", "/containers/create", [("name", name)], body: Array(body))
        do {
            return try JSONDecoder().decode(Created.self, from: Data(response.body)).Id
        } catch {
            throw EngineError.decoding("container id from /containers/create: \(error)")
        }
    }

    /// Blocks until the container exits; its exit code.
    public func waitContainer(_ id: String, timeout: Duration = EngineClient.requestTimeout) async throws -> Int {
        struct Waited: Decodable { let StatusCode: Int }
        let response = try await perform("POST", "/containers/\(Self.escape(id))/wait", timeout: timeout)
        do {
            return try JSONDecoder().decode(Waited.self, from: Data(response.body)).StatusCode
        } catch {
            throw EngineError.decoding("exit code from /containers/wait: \(error)")
        }
    }
}

/// What one of launch's short-lived containers (the GPU smoke test, the engine's GPU count) came to.
public enum OneShotOutcome: Sendable, Hashable {
    /// It could not be created (its image, the request as written): the engine's words.
    case notCreated(String)
    /// The engine refused to start it (a device request it cannot satisfy): its words.
    case refused(String)
    case exited(code: Int, output: [String])
}

extension EngineClient {
    /// Creates, starts and waits for one short-lived container, reads what it printed and removes it whatever
    /// happened — also one whose create answer was lost on the way (removed by its name).
    func runOnce(_ request: ContainerCreateRequest, name: String) async -> OneShotOutcome {
        let container: String
        do {
            container = try await createContainer(request, name: name)
        } catch {
            try? await removeContainer(name, force: true)
            return .notCreated("\(error)")
        }
        let outcome: OneShotOutcome
        do {
            try await startContainer(container)
            let code = try await waitContainer(container)
            outcome = .exited(code: code, output: (try? await containerLogs(container, tail: 500)) ?? [])
        } catch let EngineError.http(_, message) {
            outcome = .refused(message)
        } catch {
            outcome = .refused("\(error)")
        }
        try? await removeContainer(container, force: true)
        return outcome
    }
}
