import Foundation

/// `launch plan <env> --engine swarm`: whether a launch would deploy the stack (held at 0, scaled up in
/// dependency order) or update the one that runs (rolling, start-first, rolled back on failure), and the commands.
public struct SwarmPlan: Sendable, Encodable, Equatable {
    public var stack: String
    /// `deploy` or `update`.
    public var action: String
    /// The stack's services on the swarm now (empty for a first deploy).
    public var running: [String]

    public var description: String {
        action == "deploy"
            ? "first deploy of \(stack): every service held at 0, scaled up as its dependencies are ready; a core failure removes what the run created (volumes stay)"
            : "update of \(stack) (\(running.count) services run): rolling, start-first, rolled back on failure; a core failure puts every changed service back on its previous spec"
    }
}

extension LaunchPlan {
    /// Reads the stack from the swarm (nothing changes) and replaces the compose commands with the swarm's.
    public mutating func planForSwarm(context: LaunchContext, layout: ProjectLayout) async throws {
        let services = try await EngineClient(context: context).listServices(stack: project)
        let running = services.map { $0.composeName(in: project) }.sorted()
        swarm = SwarmPlan(stack: project, action: services.isEmpty ? "deploy" : "update", running: running)
        let file = layout.stateDirectory + "/swarm/\(project).yml"
        commands = [
            composeCommand.configYAML().description + "   # the resolved model, written to " + file,
            context.docker.stackDeploy(stack: project, files: [file]).description,
        ]
    }
}
