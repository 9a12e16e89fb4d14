import Foundation

/// What a stack has on the swarm, by the label `docker stack deploy` puts on everything: the snapshot a
/// rollback compares with, and what `down` removes.
public struct SwarmStack: Sendable, Hashable {
    public var services: [String: String] = [:]
    public var networks: [String: String] = [:]
    public var configs: [String: String] = [:]
    public var secrets: [String: String] = [:]

    public init(
        services: [String: String] = [:], networks: [String: String] = [:], configs: [String: String] = [:],
        secrets: [String: String] = [:]
    ) {
        self.services = services
        self.networks = networks
        self.configs = configs
        self.secrets = secrets
    }

    public var isEmpty: Bool { services.isEmpty && networks.isEmpty && configs.isEmpty && secrets.isEmpty }

    /// Names by id.
    public static func read(client: EngineClient, stack: String) async throws -> SwarmStack {
        try await snapshot(client: client, stack: stack).stack
    }

    /// Names by id, and the stack's services as the engine describes them (their specs and update status).
    public static func snapshot(client: EngineClient, stack: String) async throws -> (stack: SwarmStack, services: [SwarmService]) {
        async let services = client.listServices(stack: stack)
        async let networks = client.listSwarmNetworks(stack: stack)
        async let configs = client.listConfigs(stack: stack)
        async let secrets = client.listSecrets(stack: stack)
        let described = try await services
        let snapshot = SwarmStack(
            services: Dictionary(described.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }),
            networks: Dictionary(try await networks.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }),
            configs: Dictionary(try await configs.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }),
            secrets: Dictionary(try await secrets.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }))
        return (snapshot, described)
    }

    /// Removes what is on the swarm now and was not in `before` (everything, when `before` is empty): services
    /// first, then networks (retried while the services' tasks still hold them), configs and secrets. Volumes
    /// are never touched: they are data, and they live on nodes, not in the swarm.
    public static func undo(client: EngineClient, stack: String, before: SwarmStack = SwarmStack()) async -> RollbackReport {
        let clock = ContinuousClock()
        let began = clock.now
        var report = RollbackReport()
        guard let now = try? await read(client: client, stack: stack) else {
            report.errors.append("could not list the stack \(stack) on the swarm")
            return report
        }
        for (id, name) in now.services.sorted(by: { $0.value < $1.value }) where before.services[id] == nil {
            do {
                try await client.removeService(id)
                report.removedServices.append(name)
            } catch { report.errors.append("service \(name): \(error)") }
        }
        // A network is in use until the removed services' tasks have shut down: the engine says so, and we ask again.
        var networks = now.networks.filter { before.networks[$0.key] == nil }
        for _ in 0..<80 where !networks.isEmpty {
            for (id, name) in networks.sorted(by: { $0.value < $1.value }) {
                if (try? await client.removeNetwork(id)) != nil {
                    report.removedNetworks.append(name)
                    networks[id] = nil
                }
            }
            if !networks.isEmpty { try? await Task.sleep(for: .milliseconds(250)) }
        }
        report.errors += networks.values.sorted().map { "network \($0): still in use" }
        // The swarm forgets a network at once; the node lets go of its copy a moment later. Done means gone here too.
        for _ in 0..<80 {
            let left =
                (try? await client.listSwarmNetworks(stack: stack))?.filter { now.networks[$0.id] != nil && before.networks[$0.id] == nil }
                ?? []
            if left.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(250))
        }
        for (id, name) in now.configs.sorted(by: { $0.value < $1.value }) where before.configs[id] == nil {
            do {
                try await client.removeConfig(id)
                report.removedConfigs.append(name)
            } catch { report.errors.append("config \(name): \(error)") }
        }
        for (id, name) in now.secrets.sorted(by: { $0.value < $1.value }) where before.secrets[id] == nil {
            do {
                try await client.removeSecret(id)
                report.removedSecrets.append(name)
            } catch { report.errors.append("secret \(name): \(error)") }
        }
        report.seconds = began.duration(to: clock.now).seconds
        return report
    }
}
