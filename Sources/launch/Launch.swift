import ArgumentParser
import Foundation
import LaunchKit

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Launch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Bring up a multi-environment Docker Compose stack, truthfully.",
        discussion: """
            Profiles live in environments/, compose files in compose/. `launch dev` checks the machine, \
            completes .env.development, and starts every service as soon as its dependencies are ready.

            Examples:
              launch list
              launch plan dev
              launch dev --dry-run
              launch env staging
              launch restart dev litellm
              launch exec dev postgres -- psql -U postgres

            Exit codes: 0 success (possibly degraded), 1 launch failed (rolled back), 2 preflight failed, \
            3 refused by the circuit breaker, 4 another launch is running, 5 watch gave up on a core service \
            (past its restart budget), 6 the engine stopped answering mid-launch, 64 usage, 65 invalid configuration, \
            130 interrupted.
            """,
        version: Version.current,
        subcommands: [
            Up.self, FirstRunCommand.self, Plan.self, Doctor.self, Env.self, List.self, Status.self, Logs.self, Down.self,
            Restart.self, Start.self, Stop.self, Exec.self, Watch.self, Config.self, Clean.self, History.self, Report.self,
        ],
        defaultSubcommand: Up.self
    )

    /// The subcommands' names, for a did-you-mean when a mistyped one lands on the default (`launch stauts`).
    static var commandNames: [String] { configuration.subcommands.map { $0._commandName } }

    /// ArgumentParser's own entry point, plus one thing: with `--json`, a usage error (exit 64) also prints the
    /// JSON error document on stdout, so a script always gets exactly one document.
    static func main() async {
        // Until a command installs its own handling (a launch rolls back first), Ctrl-C or SIGTERM stops what
        // launch started and exits 130 at once: nothing has been created yet.
        Interrupts.install()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if GlobalArguments.split(arguments).rest.isEmpty {
            // `launch` alone: what it does and what this project can start, not an error and the whole help.
            shortUsage(GlobalArguments.split(arguments).leading).forEach { print($0) }
            return
        }
        do {
            var command = try parseAsRoot(GlobalArguments.hoisted(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Interrupts.holdIfStopping()
        } catch {
            Interrupts.holdIfStopping()
            let code = exitCode(for: error)
            if wantsJSON, code.rawValue == ExitStatus.usage.rawValue,
                let json = try? JSONOutput.encode(
                    ErrorDocument(usage: fullMessage(for: error), hint: "launch --help lists commands and flags"))
            {
                print(json)
            }
            exit(withError: error)
        }
    }

    /// A few lines: the two ways to call launch, and this project's environments (or how to reach a project).
    static func shortUsage(_ globalArguments: [String]) -> [String] {
        var lines = [
            "usage: launch <environment> [options]        start an environment (short for `launch up <environment>`)",
            "       launch <command> [<environment>] …    plan, doctor, status, logs, down, report … (`launch --help` lists them)",
            "",
        ]
        let global = try? GlobalOptions.parse(globalArguments)
        let directory = FileManager.default.currentDirectoryPath
        guard let layout = try? ProjectLayout.locate(from: directory, explicit: global?.projectDirectory) else {
            return lines + [
                "no project here: no environments/ directory in \(directory) or above it;",
                "cd into a project, or give one: launch --project-dir <path> list",
            ]
        }
        lines.append("environments in \(layout.root):")
        lines += PlanRenderer.list(ProfileCatalog.load(layout)).map { "  " + $0 }
        return lines
    }
}
