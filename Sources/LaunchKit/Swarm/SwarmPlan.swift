import Foundation

/// `launch plan <env> --engine swarm`: whether a launch would deploy the stack (held at 0, scaled up in
/// dependency order) or update the one that runs (rolling, start-first, rolled back on failure), and the commands.
public struct SwarmPlan: Sendable, Encodable, Equatable {
    public var stack: String
    /// `deploy`, `update`, or `unknown` when the swarm could not be read.
    public var action: String
    /// The stack's services on the swarm now (empty for a first deploy).
    public var running: [String]
    /// Why the swarm could not be read (`action` is then `unknown`).
    public var unreadable: String?

    public var description: String {
        if let unreadable { return "the swarm could not be read (\(unreadable)), so whether this deploys or updates \(stack) is unknown" }
        return action == "deploy"
            ? "first deploy of \(stack): every service held at 0, scaled up as its depends_on conditions hold; a core failure removes what the run created (volumes stay)"
            : "update of \(stack) (\(running.count) services run): rolling, start-first, rolled back on failure; a core failure puts every changed service back on its previous spec"
    }
}

extension LaunchPlan {
    /// Reads the stack from the swarm (nothing changes) and replaces the compose commands with the swarm's. A
    /// swarm that cannot be read (no engine, not a manager) leaves the action unknown, as a plan of compose does.
    public mutating func planForSwarm(context: LaunchContext, layout: ProjectLayout) async {
        let client = EngineClient(context: context)
        do {
            let services = try await client.listServices(stack: project)
            let running = services.map { $0.composeName(in: project) }.sorted()
            swarm = SwarmPlan(stack: project, action: services.isEmpty ? "deploy" : "update", running: running)
        } catch {
            swarm = SwarmPlan(
                stack: project, action: "unknown", running: [],
                unreadable: "\(client.endpoint): \(error); `launch doctor \(environment) --engine swarm` checks it")
        }
        // A task may run on any node: launch cannot follow its log or reach into it there, so a readiness label
        // is not watched (its healthcheck, else the stability window, decides), and the plan says so.
        let jobs = Planner.jobs(in: stack)
        for index in services.indices {
            guard let service = stack.service(services[index].name), let signal = ReadySignal(labels: service.labels),
                !jobs.contains(service.name)
            else { continue }
            let rule = ReadinessRule(service: service, policy: profile.health, isJob: false, signals: false)
            services[index].readiness = rule.description
            services[index].deadlineSeconds = rule.deadline.seconds
            warnings.append(
                "\(service.name): \(signal.label) is not watched on a swarm (its tasks may run on any node): it is ready when \(rule.description)"
                    + (rule.kind == .healthy ? "" : "; give it a healthcheck"))
        }
        let file = SwarmStackFile.path(layout, stack: project)
        commands = [
            composeCommand.configYAML().description + "   # the resolved model, written to " + file,
            context.docker.stackDeploy(stack: project, files: [file]).description,
        ]
    }
}
