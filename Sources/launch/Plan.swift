import ArgumentParser
import LaunchKit

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what `launch <environment>` would do, changing nothing.",
        discussion: """
            Prints the compose files in order, the GPU overlay chosen and why, the env file's state, services \
            by class with their readiness rules and deadlines, dependency levels, and the exact commands.

            Examples:
              launch plan dev
              launch plan production --json
              launch plan production --engine swarm
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var composeProfiles: ComposeProfileOptions
    @OptionGroup var engineOption: EngineOption
    @Argument(help: "Environment name or alias (see `launch list`).", completion: .environments) var environment: String
    @Flag(help: "Write the plan as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            try await printPlan(
                context, environment: environment, projectDirectory: global.projectDirectory, json: json, composeProfiles: composeProfiles,
                engine: engineOption)
        }
    }
}

/// Shared by `launch plan` and `launch <env> --dry-run`.
func printPlan(
    _ context: LaunchContext, environment: String, projectDirectory: String?, json: Bool,
    composeProfiles: ComposeProfileOptions = ComposeProfileOptions(), engine: EngineOption? = nil
) async throws
    -> ExitStatus
{
    let catalog = try context.catalog(projectDirectory: projectDirectory)
    let profile = composeProfiles.applied(to: try catalog.profile(named: environment))
    let swarm = (engine?.resolve(profile) ?? profile.engine) == .swarm
    // On a swarm the GPU overlay follows the nodes' GPUs, not this machine's.
    let overlay = swarm ? await OverlayDecision.forSwarm(profile.gpu, client: EngineClient(context: context)) : nil
    var plan = try await Planner(context: context, layout: catalog.layout).plan(profile, overlay: overlay)
    if swarm {
        await plan.planForSwarm(context: context, layout: catalog.layout)
    } else {
        await plan.compareWithRunning(context: context)
    }
    if json {
        context.console.data(try JSONOutput.encode(plan))
    } else {
        PlanRenderer.render(plan).forEach(context.console.data)
    }
    // A plan that `launch <env>` would refuse is not a success: scripts gating on `launch plan` must see it.
    if let problem = plan.engineProblem {
        context.console.say("plan: preflight would refuse \(plan.environment) (exit 2): \(problem)")
        return .preflightFailed
    }
    if let failure = plan.overlay.failure {
        context.console.say("plan: preflight would refuse \(plan.environment) (exit 2): \(failure)")
        return .preflightFailed
    }
    return .success
}
