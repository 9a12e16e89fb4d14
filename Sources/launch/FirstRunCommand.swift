import ArgumentParser
import LaunchKit

struct FirstRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "first-run",
        abstract: "Onboard: check the machine, create fresh secrets, start the stack, explain what is where.",
        discussion: """
            Uses the `first-run` profile. If the project already has containers, volumes or an env file, it stops \
            and explains; --reset lists exactly what will be removed (found by the compose project label), asks \
            for the project name (or --yes), backs up the env file, and starts over.

            Examples:
              launch first-run
              launch first-run --reset
              launch first-run --reset --yes     (scripts; without a terminal --yes is required)
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Remove this project's containers, volumes, networks and env file first (asks for confirmation).") var reset = false
    @Flag(help: "Confirm --reset without asking.") var yes = false
    @Flag(help: "Write the launch result as JSON to stdout.") var json = false
    @OptionGroup var outputs: RunArtifactOptions

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let profile = try catalog.profile(named: "first-run")
            let client = EngineClient(context: context)
            // Held from the reset to the end of the launch: nothing else may start this project in between.
            let lock = try ProjectLock(
                context: context, root: catalog.layout.root, project: profile.compose.project, environment: profile.name,
                command: "launch first-run")
            defer { lock.release() }
            let onboarding = FirstRun(context: context, layout: catalog.layout, profile: profile, client: client)
            let backup = try await onboarding.prepare(reset: reset, yes: yes, prompt: !json)
            if let backup { context.console.say("backed up the old env file to \(backup) (mode 0600)") }
            var options = LaunchOptions()
            options.force = true  // a fresh start is not the failure the breaker remembers
            let result = try await LaunchCommand.run(
                context, layout: catalog.layout, profile: profile, options: options, holding: lock, artifacts: outputs.artifacts)
            if json { context.console.data(try JSONOutput.encode(result)) }
            if result.outcome == .success || result.outcome == .degraded {
                FirstRun.onboarding(result, profile: profile, backup: backup, command: context.console.command)
                    .forEach(context.console.say)
            }
            return ExitStatus(rawValue: result.exitCode)
        }
    }
}
