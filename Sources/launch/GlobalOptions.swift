import ArgumentParser
import LaunchKit

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("project-dir"), help: "The project root (default: nearest directory upward with environments/).")
    var projectDirectory: String?
}

/// Runs a command body with the live context, printing any `LaunchFailure` the one standard way and
/// turning it into its documented exit code.
func execute(_ body: (LaunchContext) async throws -> ExitStatus) async throws {
    let context = LaunchContext.live()
    let status: ExitStatus
    do {
        status = try await body(context)
    } catch let failure as any LaunchFailure {
        context.console.report(failure)
        throw ExitCode(failure.exitCode.rawValue)
    }
    if status != .success { throw ExitCode(status.rawValue) }
}
