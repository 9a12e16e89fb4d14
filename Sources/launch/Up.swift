import ArgumentParser
import LaunchKit

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start an environment: preflight, env file, cleanup, images, start, wait (the default command).",
        discussion: """
            `launch dev` is short for `launch up dev`. Each service starts as soon as its own dependencies are \
            ready; a core failure rolls back what this run created; optional failures are reported as degraded.

            Examples:
              launch dev
              launch staging --dry-run
              launch dev --keep-on-failure --json > result.json
              launch dev --engine swarm
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var composeProfiles: ComposeProfileOptions
    @OptionGroup var engineOption: EngineOption
    @OptionGroup var outputs: RunArtifactOptions
    @Argument(help: "Environment name or alias (see `launch list`).", completion: .environments) var environment: String
    @Flag(help: "Print the plan and change nothing.") var dryRun = false
    @Flag(help: "Write the result as JSON to stdout.") var json = false
    @Flag(help: "On failure, leave the stack up for debugging instead of rolling back.") var keepOnFailure = false
    @Flag(help: "Skip the Docker cleanup phase.") var noCleanup = false
    @Flag(help: "On failure, also remove the named volumes this run created (kept by default: they hold data).") var rollbackVolumes = false
    @Flag(help: "Launch even if the circuit breaker refuses after repeated identical failures.") var force = false
    @Flag(help: "Skip preflight checks that need the network (profile HTTP/TCP checks, registry reachability).") var noNetwork = false
    @Flag(help: "Do not start the short-lived GPU container that proves the GPU path before launching.") var noGpuSmoke = false
    @Flag(help: "Rebuild every `build:` service, even when its context is unchanged.") var build = false
    @Flag(help: "Build nothing: use the images that exist, even when their context changed.") var noBuild = false
    @Flag(help: "Pull every pulled image, even when it is present (like pull_policy: always).") var pull = false
    @Flag(help: "Once ready, keep watching the stack (see `launch watch`): Ctrl-C ends watching, the stack keeps running.")
    var watch = false
    @OptionGroup var watchFlags: WatchFlags

    func validate() throws {
        if build && noBuild { throw ValidationError("--build and --no-build contradict each other: give one of them") }
        if !watch && watchFlags.isSet { throw ValidationError("--on-change, --webhook and --metrics belong to watching: add --watch") }
    }

    func run() async throws {
        try await execute(global) { context in
            if dryRun {
                return try await printPlan(
                    context, environment: environment, projectDirectory: global.projectDirectory, json: json,
                    composeProfiles: composeProfiles,
                    engine: engineOption)
            }
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = composeProfiles.applied(to: try catalog.profile(named: environment, commands: Launch.commandNames))
            var options = LaunchOptions()
            options.keepOnFailure = keepOnFailure
            options.cleanup = !noCleanup
            options.force = force
            options.rollbackVolumes = rollbackVolumes
            options.networkChecks = !noNetwork
            options.gpuSmoke = !noGpuSmoke
            options.build = build ? .always : noBuild ? .never : .whenChanged
            options.pull = pull
            options.engine = engineOption.resolve(profile)
            let result = try await LaunchCommand.run(
                context, layout: catalog.layout, profile: profile, options: options, artifacts: outputs.artifacts)
            if json {
                context.console.data(try JSONOutput.encode(result))
            }
            guard watch, result.outcome == .success || result.outcome == .degraded else { return ExitStatus(rawValue: result.exitCode) }
            var watching = watchFlags.options(json: json, engine: engineOption.resolve(profile))
            for service in result.services { watching.timeToReady[service.name] = service.secondsToReady }
            return try await Watcher(
                context: context, client: EngineClient(context: context), layout: catalog.layout, profile: profile, options: watching
            ).run()
        }
    }
}
