import ArgumentParser
import LaunchKit

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check this machine (and an environment) for everything that would stop a launch.",
        discussion: """
            Runs every preflight check at once and says how to fix each problem: Docker and Compose, GPUs and the \
            overlay they give, memory and disk against the profile's requires, paths, the env file and the \
            variables the compose files need, published ports, images and their registries, and the profile's \
            own http/tcp checks. When the stack requests GPUs, one short-lived container with that request is started \
            on an image already present (never pulled) to prove the GPU path, and removed. `launch <environment>` runs the same checks first and starts nothing when one fails.

            Without an environment only the machine is checked (Docker, Compose, GPUs, memory, disk).
            Exit status: 0 when nothing failed (warnings allowed), 2 when a check failed.

            Examples:
              launch doctor
              launch doctor dev
              launch doctor dev --no-network --json
              launch doctor staging --no-gpu-smoke
              launch doctor prod --engine swarm
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var composeProfiles: ComposeProfileOptions
    @OptionGroup var engineOption: EngineOption
    @Argument(help: "Environment name or alias (see `launch list`); omit to check the machine only.", completion: .environments)
    var environment: String?
    @Flag(help: "Write the report as JSON to stdout (schema: docs/doctor-json.md).") var json = false
    @Flag(help: "Skip the profile's http/tcp checks and the registry test for images to pull.") var noNetwork = false
    @Flag(help: "Do not start the short-lived container with the stack's GPU request (the GPU smoke test).") var noGpuSmoke = false

    func run() async throws {
        try await execute(global) { context in
            let options = PreflightOptions(network: !noNetwork, envFileWillBeCreated: true, gpuSmoke: !noGpuSmoke)
            var report: PreflightReport
            if let environment {
                let catalog = try context.catalog(projectDirectory: global.projectDirectory)
                let profile = composeProfiles.applied(to: try catalog.profile(named: environment))
                let swarm = engineOption.resolve(profile) == .swarm
                let client = EngineClient(context: context)
                // On a swarm the GPU overlay follows the nodes' GPUs, not this machine's; the checks see the same nodes.
                let nodes = swarm ? (try? await client.listNodes()) : nil
                let overlay = swarm ? OverlayDecision.decide(profile.gpu, swarmNodes: nodes) : nil
                let plan: LaunchPlan
                do {
                    plan = try await Planner(context: context, layout: catalog.layout).plan(profile, overlay: overlay)
                } catch let refusal as ConfigurationError {
                    // Variables nothing sets stop Compose, not the other checks.
                    guard
                        let partial = await Preflight(context: context, layout: catalog.layout)
                            .runWithoutPlan(refusal, profile: profile, options: options)
                    else { throw refusal }
                    return try finish(partial, context: context)
                }
                var options = options
                options.gpusOnThisMachine = !swarm
                report = await Preflight(context: context, layout: catalog.layout)
                    .run(plan, probe: plan.gpuProbe, options: options)
                if swarm {
                    report.checks +=
                        await SwarmChecks.run(
                            client: client, stack: plan.stack, nodes: nodes,
                            redact: EnvProvisioner(layout: catalog.layout, profile: profile).redactor(environment: context.environment))
                        + [SwarmChecks.overlay(plan.overlay)]
                }
            } else {
                let layout =
                    (try? context.catalog(projectDirectory: global.projectDirectory).layout)
                    ?? ProjectLayout(root: context.workingDirectory)
                report = await Preflight(context: context, layout: layout).runMachine(options: options)
            }
            return try finish(report, context: context)
        }
    }

    func finish(_ report: PreflightReport, context: LaunchContext) throws -> ExitStatus {
        if json {
            context.console.data(try JSONOutput.encode(report))
        } else {
            PreflightRenderer.render(report, console: context.console)
        }
        return report.failed ? .preflightFailed : .success
    }
}
