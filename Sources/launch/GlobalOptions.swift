import ArgumentParser
import Foundation
import LaunchKit

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("project-dir"), help: "The project root (default: nearest directory upward with environments/).")
    var projectDirectory: String?

    @Option(
        name: [.customShort("H"), .customLong("host")],
        help: "The Docker engine to use (unix://, tcp://, ssh://user@host); overrides DOCKER_HOST.")
    var host: String?

    @Option(
        name: [.customShort("c"), .customLong("context")],
        help: "The Docker context to use; overrides DOCKER_HOST, DOCKER_CONTEXT and `docker context use`.")
    var context: String?

    @Option(
        name: [.customShort("p"), .customLong("project-name")],
        help: "The compose project to use instead of the profile's `compose.project` (to share an engine: `-p alice`).")
    var projectName: String?

    @Flag(help: "Trace every Engine API request and child command on stderr (also LAUNCH_DEBUG=1), for bug reports.")
    var verbose = false

    /// How the user reached this project and engine, for next steps printed to them.
    var invocation: String {
        GlobalArguments.invocation(projectDirectory: projectDirectory, host: host, context: context, projectName: projectName)
    }

    func validate() throws {
        if host != nil && context != nil {
            throw ValidationError("--host and --context both name an engine: give one of them")
        }
    }
}

/// `--json` anywhere on the command line: failures then also print one JSON error document on stdout.
var wantsJSON: Bool { CommandLine.arguments.dropFirst().contains("--json") }

/// Runs a command body with the live context, printing any `LaunchFailure` the one standard way (and, with
/// `--json`, as the documented error document on stdout) and turning it into its documented exit code.
func execute(_ global: GlobalOptions, _ body: (LaunchContext) async throws -> ExitStatus) async throws {
    if global.verbose || ["1", "true"].contains(ProcessInfo.processInfo.environment["LAUNCH_DEBUG"]?.lowercased() ?? "") {
        DebugTrace.enable()
    }
    var context: LaunchContext
    do {
        context = try LaunchContext.live(host: global.host, context: global.context)
        context.projectName = global.projectName
        context.console.invocation = global.invocation
    } catch {
        fail(error, console: Console.standard(environment: ProcessInfo.processInfo.environment))
    }
    let status: ExitStatus
    do {
        status = try await body(context)
    } catch let failure as any LaunchFailure {
        fail(failure, console: context.console)
    }
    if status != .success { throw ExitCode(status.rawValue) }
}

func fail(_ failure: any LaunchFailure, console: Console) -> Never {
    // A failure that is only the children dying of launch's own Ctrl-C is not reported: the exit is 130.
    Interrupts.holdIfStopping()
    console.report(failure)
    if wantsJSON, let json = try? JSONOutput.encode(ErrorDocument(failure)) { console.data(json) }
    Launch.exit(withError: ExitCode(failure.exitCode.rawValue))
}

extension CompletionKind {
    /// Environment names and aliases from the project's profiles (`--project-dir` on the line is honoured).
    static var environments: CompletionKind { .custom { words, _, _ in CompletionCandidates.environments(words: words) } }
    /// Services of the environment named earlier on the line.
    static var services: CompletionKind { .custom { words, _, _ in CompletionCandidates.services(words: words) } }
}

/// `--profile` on the commands that plan a launch: Compose profiles to activate on top of `compose.profiles`
/// and `COMPOSE_PROFILES`.
struct ComposeProfileOptions: ParsableArguments {
    @Option(
        name: .customLong("profile"), help: "A Compose profile to activate (repeatable); adds to compose.profiles and COMPOSE_PROFILES.")
    var profiles: [String] = []

    func validate() throws {
        for name in profiles where !Profile.isComposeProfileName(name) {
            throw ValidationError("--profile: `\(name)` is not a Compose profile name (letters, digits, then also _ . -)")
        }
    }

    func applied(to profile: Profile) -> Profile {
        var profile = profile
        for name in profiles where !profile.compose.profiles.contains(name) { profile.compose.profiles.append(name) }
        return profile
    }
}
