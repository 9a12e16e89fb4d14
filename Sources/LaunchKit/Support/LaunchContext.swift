import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every side effect a command may have, passed in rather than reached for: the process runner, the
/// environment, the console, the clock. Tests build one with a recording runner and a capturing console.
public struct LaunchContext: Sendable {
    public var runner: any ProcessRunning
    public var environment: [String: String]
    public var console: Console
    public var workingDirectory: String
    public var docker: Docker
    /// The one engine this command talks to; `docker` children are pinned to it.
    public var engine: EngineEndpoint
    public var nvidiaSMI: NvidiaSMI
    public var now: @Sendable () -> Date
    /// Reads one line a person typed; nil at end of input. Only called when `canPrompt`.
    public var readLine: @Sendable () -> String?
    /// Standard input is a terminal (and stderr is interactive), so asking a question makes sense.
    public var canPrompt: Bool
    /// `-p/--project-name`: the compose project every profile uses instead of its `compose.project`, so two
    /// people (or two checkouts) can share one engine.
    public var projectName: String? = nil

    public init(
        runner: any ProcessRunning, environment: [String: String], console: Console, workingDirectory: String,
        docker: Docker = Docker(), engine: EngineEndpoint? = nil, nvidiaSMI: NvidiaSMI = NvidiaSMI(),
        now: @escaping @Sendable () -> Date = Date.init, readLine: @escaping @Sendable () -> String? = { nil }, canPrompt: Bool = false
    ) {
        let engine = engine ?? (try? EngineEndpoint.resolve(environment: environment)) ?? EngineEndpoint(socketPath: "/var/run/docker.sock")
        self.engine = engine
        self.docker = docker.environment.isEmpty ? docker.pointing(at: engine) : docker
        self.readLine = readLine
        self.canPrompt = canPrompt
        self.runner = runner
        self.environment = environment
        self.console = console
        self.workingDirectory = workingDirectory
        self.nvidiaSMI = nvidiaSMI
        self.now = now
    }

    /// The real world: subprocesses, this process's environment and terminal, and the engine the flags
    /// (`--host`, `--context`) or the environment select.
    public static func live(host: String? = nil, context: String? = nil) throws(EngineError) -> LaunchContext {
        Console.ignoreBrokenPipes()
        let environment = ProcessInfo.processInfo.environment
        let console = Console.standard(environment: environment)
        let engine = try EngineEndpoint.resolve(hostFlag: host, contextFlag: context, environment: environment)
        return LaunchContext(
            runner: SubprocessRunner(), environment: environment, console: console,
            workingDirectory: FileManager.default.currentDirectoryPath, engine: engine,
            readLine: { Swift.readLine(strippingNewline: true) },
            canPrompt: console.isInteractive && isatty(STDIN_FILENO) == 1)
    }

    /// Finds the project (`--project-dir` or upward search) and loads its profiles, each under `projectName`
    /// when one was given.
    public func catalog(projectDirectory: String?) throws -> ProfileCatalog {
        var catalog = ProfileCatalog.load(try ProjectLayout.locate(from: workingDirectory, explicit: projectDirectory))
        if let projectName { try catalog.rename(project: projectName) }
        return catalog
    }
}
