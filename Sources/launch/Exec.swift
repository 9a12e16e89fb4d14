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
    /// Everything after the service is the command's, as with `docker compose exec` (`psql -h db --version`
    /// reaches psql, never launch), except `-T`/`--no-tty` between the service and `--`.
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).") var command: [String] = []
    @Flag(name: [.customShort("T"), .customLong("no-tty")], help: "Never allocate a TTY.") var noTTY = false

    func validate() throws {
        if split.command.isEmpty { throw ValidationError("give the command to run after --, e.g. `launch exec dev api -- sh`") }
        if let stray = split.stray {
            throw ValidationError(
                "`\(stray)` before -- is not an option of `launch exec` there: put launch's options before the environment, the command after --"
            )
        }
    }

    /// `-T`/`--no-tty` written between the service and `--` are launch's. An option-like word there is a mistake
    /// to say (it would otherwise become the command's first word); a command is all there is otherwise, `--`
    /// inside it included (`git log -- file`).
    var split: (noTTY: Bool, command: [String], stray: String?) {
        guard let terminator = command.firstIndex(of: "--") else { return (false, command, nil) }
        let before = command[..<terminator]
        let flags: Set<String> = ["-T", "--no-tty"]
        let after = Array(command[command.index(after: terminator)...])
        if before.allSatisfy(flags.contains) { return (!before.isEmpty, after, nil) }
        if let first = before.first, first.hasPrefix("-") { return (false, after, first) }
        return (false, command, nil)
    }

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let exec = ServiceExec(context: context, layout: catalog.layout, profile: try catalog.profile(named: environment))
            let (flagged, arguments, _) = split
            return ExitStatus(
                rawValue: try await exec.run(
                    service: service, arguments: arguments, tty: !noTTY && !flagged && ServiceExec.terminalAttached))
        }
    }
}
