/// Services and their `depends_on` edges: start order, levels, and who is blocked when something fails.
public struct DependencyGraph: Sendable, Hashable {
    public let services: [String]
    /// service → the dependencies it waits for.
    public let dependencies: [String: [Dependency]]

    public init(_ stack: ComposeStack) throws(DependencyCycle) {
        services = stack.serviceNames
        let known = Set(stack.serviceNames)
        var edges: [String: [Dependency]] = [:]
        for service in stack.services {
            // A `required: false` dependency that is not part of the stack is simply absent.
            edges[service.name] = service.dependsOn.filter { known.contains($0.service) }
        }
        dependencies = edges
        if let cycle = Self.findCycle(services: services, edges: edges) { throw DependencyCycle(services: cycle) }
    }

    public func dependents(of service: String) -> [String] {
        services.filter { dependencies[$0, default: []].contains { $0.service == service } }
    }

    /// Everything that (directly or not) waits for `service`.
    public func transitiveDependents(of service: String) -> [String] {
        var seen: [String] = []
        var queue = dependents(of: service)
        while let next = queue.first {
            queue.removeFirst()
            guard !seen.contains(next) else { continue }
            seen.append(next)
            queue += dependents(of: next)
        }
        return seen.sorted()
    }

    /// Level 0 has no dependencies; each other service sits one level above its deepest dependency.
    /// Informational: `launch` starts each service as soon as its own dependencies are ready, not by level.
    public var levels: [[String]] {
        var level: [String: Int] = [:]
        func depth(_ service: String) -> Int {
            if let known = level[service] { return known }
            let value = (dependencies[service] ?? []).map { depth($0.service) + 1 }.max() ?? 0
            level[service] = value
            return value
        }
        for service in services { _ = depth(service) }
        let maximum = level.values.max() ?? -1
        guard maximum >= 0 else { return [] }
        return (0...maximum).map { index in services.filter { level[$0] == index } }
    }

    /// A valid start order: dependencies before dependents, alphabetical within a level.
    public var startOrder: [String] { levels.flatMap { $0 } }

    private static func findCycle(services: [String], edges: [String: [Dependency]]) -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []
        func visit(_ service: String) -> [String]? {
            if marks[service] == .done { return nil }
            if marks[service] == .visiting {
                let start = stack.firstIndex(of: service) ?? 0
                return Array(stack[start...]) + [service]
            }
            marks[service] = .visiting
            stack.append(service)
            for dependency in edges[service] ?? [] {
                if let cycle = visit(dependency.service) { return cycle }
            }
            stack.removeLast()
            marks[service] = .done
            return nil
        }
        for service in services {
            if let cycle = visit(service) { return cycle }
        }
        return nil
    }
}

public struct DependencyCycle: LaunchFailure, Equatable {
    /// The cycle, first service repeated at the end: `[a, b, a]`.
    public var services: [String]

    public var summary: String { "dependency cycle: " + services.joined(separator: " -> ") }
    public var hint: String? {
        "remove one of these depends_on entries; services that wait on each other can never start"
    }
    public var exitCode: ExitStatus { .invalidConfiguration }
}
