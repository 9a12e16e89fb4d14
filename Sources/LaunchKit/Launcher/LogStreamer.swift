/// `launch logs`: every matching container's `docker logs`, merged line by line with a service prefix,
/// secrets redacted, to stdout.
public struct LogStreamer: Sendable {
    let context: LaunchContext
    let client: EngineClient
    let layout: ProjectLayout
    let profile: Profile

    public init(context: LaunchContext, client: EngineClient, layout: ProjectLayout, profile: Profile) {
        self.context = context
        self.client = client
        self.layout = layout
        self.profile = profile
    }

    public func stream(services: [String], follow: Bool, tail: Int?) async throws {
        let containers = try await client.listContainers(all: true, labels: ["com.docker.compose.project=\(profile.compose.project)"])
            .filter { services.isEmpty || services.contains($0.labels["com.docker.compose.service"] ?? "") }
            .sorted { $0.name < $1.name }
        guard !containers.isEmpty else {
            let known = Set(try await client.listContainers(all: true, labels: ["com.docker.compose.project=\(profile.compose.project)"])
                .compactMap { $0.labels["com.docker.compose.service"] })
            throw UsageError(
                services.isEmpty ? "\(profile.name) has no containers" : "no containers for \(services.joined(separator: ", ")) in \(profile.name)",
                evidence: known.isEmpty ? [] : ["services with containers: " + known.sorted().joined(separator: ", ")],
                hint: known.isEmpty ? "start it with `launch \(profile.name)`" : "name one of the services above")
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let width = containers.map { ($0.labels["com.docker.compose.service"] ?? $0.name).count }.max() ?? 0
        let console = context.console
        let runner = context.runner
        let docker = context.docker
        try await withThrowingTaskGroup(of: Void.self) { group in
            for container in containers {
                let label = containers.filter { $0.labels["com.docker.compose.service"] == container.labels["com.docker.compose.service"] }.count > 1
                    ? container.name : (container.labels["com.docker.compose.service"] ?? container.name)
                let prefix = Text.pad(label, max(width, label.count)) + " | "
                group.addTask {
                    _ = try await runner.stream(docker.logs(container: container.id, follow: follow, tail: tail)) { _, line in
                        console.data(prefix + redact(line))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
