import Foundation

/// What is running for one compose project right now, per container, from the engine.
public struct ProjectStatus: Sendable, Encodable {
    public struct Row: Sendable, Encodable {
        public var service: String
        public var container: String
        public var serviceClass: ServiceClass
        public var state: String
        public var health: String?
        public var ports: [String]
        public var uptimeSeconds: Double?
        public var restarts: Int
        public var exitCode: Int?

        enum CodingKeys: String, CodingKey {
            case service, container, serviceClass = "class", state, health, ports, uptimeSeconds = "uptime_seconds", restarts,
                exitCode = "exit_code"
        }
    }

    public var environment: String
    public var project: String
    public var services: [Row]
    /// Services the stack defines that have no container (never created, or removed).
    public var missing: [String]

    public static func read(client: EngineClient, profile: Profile, expected: [String], now: Date = Date()) async throws -> ProjectStatus {
        let containers = try await client.listContainers(all: true, labels: ComposeLabels.projectFilter(profile.compose.project))
        var rows: [Row] = []
        try await withThrowingTaskGroup(of: (ContainerSummary, ContainerDetails).self) { group in
            for container in containers where container.labels[ComposeLabels.oneOff] != "True" {
                group.addTask { (container, try await client.inspectContainer(container.id)) }
            }
            for try await (summary, details) in group {
                let service = summary.labels[ComposeLabels.service] ?? summary.name
                let started = EngineTime.parse(details.state.startedAt)
                rows.append(
                    Row(
                        service: service, container: summary.name, serviceClass: profile.services.serviceClass(of: service),
                        state: details.state.status, health: details.state.health?.status,
                        ports: summary.ports.compactMap { port in
                            port.publicPort.map {
                                "\(port.ip.map { $0 == "0.0.0.0" ? "" : $0 + ":" } ?? "")\($0)->\(port.privatePort)/\(port.type)"
                            }
                        }.sorted(),
                        uptimeSeconds: details.state.running ? started.map { now.timeIntervalSince($0) } : nil,
                        restarts: details.restartCount, exitCode: details.state.running ? nil : details.state.exitCode))
            }
        }
        rows.sort { ($0.service, $0.container) < ($1.service, $1.container) }
        let present = Set(rows.map(\.service))
        return ProjectStatus(
            environment: profile.name, project: profile.compose.project, services: rows,
            missing: expected.filter { !present.contains($0) })
    }

    public func render() -> [String] {
        guard !services.isEmpty else { return ["\(environment) (\(project)): not running"] }
        var rows = [["SERVICE", "CLASS", "STATE", "HEALTH", "UPTIME", "RESTARTS", "PORTS"]]
        for row in services {
            let state = row.exitCode.map { "\(row.state) (\($0))" } ?? row.state
            rows.append([
                row.container == "\(project)-\(row.service)-1" ? row.service : row.container, row.serviceClass.rawValue, state,
                row.health ?? "-", row.uptimeSeconds.map { DurationText.format(.seconds($0.rounded())) } ?? "-",
                String(row.restarts), row.ports.isEmpty ? "-" : row.ports.joined(separator: " "),
            ])
        }
        var lines = ["\(environment) (\(project))"] + Text.table(rows).map { "  " + $0 }
        if !missing.isEmpty { lines.append("  not created: " + missing.joined(separator: ", ")) }
        return lines
    }
}
