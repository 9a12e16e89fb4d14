import ArgumentParser
import LaunchKit

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command in a service's running container; its exit status is launch's.",
        discussion: """
            Like `docker compose exec` with the environment's files and env file. A TTY is allocated when stdin \
            and stdout are terminals (or never, with -T).

            Examples:
              launch exec dev postgres -- psql -U postgres
              launch exec demo api -- sh -c 'wget -qO- localhost:8080'
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Argument(help: "The service whose container runs the command.", completion: .services) var service: String
    /// Everything after `--` is the command's; before it, launch's own options may stand anywhere (`-T` after
    /// the service is launch's flag, not the command's first word).
    @Argument(parsing: .allUnrecognized, help: "The command and its arguments (after --).") var command: [String] = []
    @Flag(name: [.customShort("T"), .customLong("no-tty")], help: "Never allocate a TTY.") var noTTY = false

    func validate() throws {
        if command.filter({ $0 != "--" }).isEmpty { throw ValidationError("give the command to run after --, e.g. `launch exec dev api -- sh`") }
    }

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let exec = ServiceExec(context: context, layout: catalog.layout, profile: try catalog.profile(named: environment))
            let arguments = command.first == "--" ? Array(command.dropFirst()) : command
            return ExitStatus(rawValue: try await exec.run(service: service, arguments: arguments, tty: !noTTY && ServiceExec.terminalAttached))
        }
    }
}
