import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `launch exec <env> <service> -- <command>…`: `docker compose exec` with the stack's own files and env file,
/// the terminal handed to it, and its exit status returned unchanged.
public struct ServiceExec: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let profile: Profile

    public init(context: LaunchContext, layout: ProjectLayout, profile: Profile) {
        self.context = context
        self.layout = layout
        self.profile = profile
    }

    /// A TTY only when both ends are terminals; otherwise Compose refuses ("the input device is not a TTY").
    public static var terminalAttached: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    /// The command's exit status. Launch's own failures (unknown service, nothing running) are thrown.
    public func run(service: String, arguments: [String], tty: Bool) async throws -> Int32 {
        let plan = try await Planner(context: context, layout: layout).plan(profile)
        try ServiceControl.validate([service], known: plan.stack.serviceNames, environment: profile.name)
        let running = try await EngineClient(context: context).listContainers(
            all: false, labels: ComposeLabels.serviceFilter(plan.project, service: service))
        guard !running.isEmpty else {
            throw UsageError(
                "\(service) is not running in \(profile.name)", evidence: ["project \(plan.project) has no running \(service) container"],
                hint: "start it with `launch start \(profile.name) \(service)`")
        }
        return try await context.runner.interactive(plan.composeCommand.exec(service: service, arguments: arguments, tty: tty))
    }
}
