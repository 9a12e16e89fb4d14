import Foundation

/// `launch status --engine swarm`: each service of the stack with its mode, running / desired tasks (a job:
/// completed / total) and the container health of its running tasks that this engine can see.
public struct SwarmStatus: Sendable, Encodable {
    public var stack: String
    public var services: [Service]

    public struct Service: Sendable, Encodable {
        public var name: String
        public var mode: String
        public var desired: Int
        public var running: Int
        public var completed: Int
        public var healthy: Int
        /// The newest task's error, when a task failed.
        public var lastError: String?
        /// Tasks that failed or were rejected (the swarm's restarts of it).
        public var failed = 0
        /// Containers of its failed tasks, newest first (for a diagnosis where this engine holds them).
        public var failedContainers: [String] = []
        /// The nodes its running tasks are on (hostnames), one entry per task, sorted.
        public var nodes: [String] = []
        /// The node of the newest task with an error.
        public var lastErrorNode: String?

        enum CodingKeys: String, CodingKey {
            case name, mode, desired, running, completed, healthy, lastError = "last_error", failed, nodes, lastErrorNode =
                "last_error_node"
        }
    }

    /// `names`: node ids to hostnames, kept by a caller that reads again and again (`launch watch`: the nodes are read
    /// only when a task names one not seen yet).
    public static func read(client: EngineClient, stack: String, names: SwarmNodeNames = SwarmNodeNames()) async throws -> SwarmStatus {
        var services: [Service] = []
        for service in try await client.listServices(stack: stack) {
            let tasks = try await client.listTasks(services: [service.id])
            let hostnames = await names.resolve(tasks.compactMap(\.nodeID), client: client)
            let name = service.composeName(in: stack)
            let running = tasks.filter { $0.desiredState == "running" && $0.status.state == "running" }
            var healthy = 0
            let checked = service.hasHealthcheck
            for task in running {
                guard let id = task.status.containerStatus?.containerID else { continue }
                if let details = try? await client.inspectContainer(id) {
                    if details.state.health?.status == "healthy" { healthy += 1 }
                } else if checked {
                    // On another node: the swarm's word stands, and a task with a healthcheck is `running` only once
                    // its container is healthy (it stays `starting` until then).
                    healthy += 1
                }
            }
            let (mode, desired): (String, Int) =
                switch service.mode {
                case .replicated(let count): ("replicated", count)
                case .replicatedJob(let total): ("job", total)
                case .global: ("global", running.count)
                case .other: ("other", 0)
                }
            let errored = tasks.filter { $0.status.err != nil }.max { ($0.createdAt ?? "") < ($1.createdAt ?? "") }
            let lastError = errored?.status.err
            let failed = tasks.filter { ["failed", "rejected"].contains($0.status.state) }.sorted {
                ($0.createdAt ?? "") > ($1.createdAt ?? "")
            }
            services.append(
                Service(
                    name: name, mode: mode, desired: desired, running: running.count,
                    completed: tasks.filter { $0.status.state == "complete" }.count, healthy: healthy, lastError: lastError,
                    failed: failed.count, failedContainers: failed.compactMap { $0.status.containerStatus?.containerID },
                    nodes: running.map { task in task.nodeID.flatMap { hostnames[$0] } ?? task.nodeID ?? "?" }.sorted(),
                    lastErrorNode: errored?.nodeID.map { hostnames[$0] ?? $0 }))
        }
        return SwarmStatus(stack: stack, services: services)
    }

    public func render() -> [String] {
        guard !services.isEmpty else { return ["\(stack): not deployed on this swarm"] }
        var lines = ["\(stack) (swarm)"]
        for service in services {
            let count =
                service.mode == "job"
                ? "\(service.completed)/\(service.desired) completed" : "\(service.running)/\(service.desired) running"
            let health = service.healthy > 0 ? ", \(service.healthy) healthy" : ""
            lines.append(
                "  " + service.name.padding(toLength: 20, withPad: " ", startingAt: 0) + " "
                    + service.mode.padding(toLength: 11, withPad: " ", startingAt: 0)
                    + count + health + (service.nodes.isEmpty ? "" : " on " + Self.nodeList(service.nodes))
                    + (service.lastError.map { "  last error: \($0)" } ?? ""))
        }
        return lines
    }

    /// `twonode-a, twonode-b ×2`: each node once, with how many tasks it runs when more than one.
    static func nodeList(_ nodes: [String]) -> String {
        var counts: [(String, Int)] = []
        for node in nodes {
            if let last = counts.last, last.0 == node { counts[counts.count - 1].1 += 1 } else { counts.append((node, 1)) }
        }
        return counts.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: ", ")
    }
}
