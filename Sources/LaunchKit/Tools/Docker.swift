/// `docker` invocations as values. Only arguments are built here; `ProcessRunning` runs them.
public struct Docker: Sendable, Hashable {
    public var executable: String
    /// Pins the engine for every child (`EngineEndpoint.childEnvironment`), whatever the inherited environment says.
    public var environment: [String: String]

    public init(executable: String = "docker", environment: [String: String] = [:]) {
        self.executable = executable
        self.environment = environment
    }

    /// The same CLI, talking to `endpoint`.
    public func pointing(at endpoint: EngineEndpoint) -> Docker {
        Docker(executable: executable, environment: endpoint.childEnvironment)
    }

    func command(_ arguments: [String]) -> Command { Command(executable, arguments, environment: environment) }

    /// Daemon information (runtimes, root dir, memory) as JSON.
    public func info() -> Command { command(["info", "--format", "{{json .}}"]).limited(to: Self.queryTimeout) }

    /// The Engine API version this CLI speaks (printed even when the engine refuses it).
    public func clientAPIVersion() -> Command {
        command(["version", "--format", "{{.Client.APIVersion}}"]).limited(to: Self.queryTimeout)
    }

    /// Questions to the daemon (not work it does) get this long: an engine that hangs must not hang launch.
    public static let queryTimeout: Duration = .seconds(5)

    /// The current context's name and endpoint, to say which daemon we talk to.
    public func currentContext() -> Command {
        command(["context", "inspect", "--format", "{{.Name}} {{.Endpoints.docker.Host}}"])
    }

    /// Disk usage per kind (Images, Containers, Local Volumes, Build Cache), one JSON object per line.

    public func pruneStoppedContainers() -> Command { command(["container", "prune", "--force"]) }
    /// Dangling images only: tagged images the stack needs stay.
    public func pruneDanglingImages() -> Command { command(["image", "prune", "--force"]) }
    public func pruneBuildCache() -> Command { command(["builder", "prune", "--force"]) }

    /// Which of `references` exist locally: prints the ids of those found, fails for the rest.
    public func inspectImages(_ references: [String]) -> Command {
        command(["image", "inspect", "--format", "{{.Id}}"] + references).limited(to: Self.queryTimeout)
    }

    /// An image's own HEALTHCHECK as JSON (`null` when it has none); fails when the image is not here.
    public func imageHealthcheck(_ reference: String) -> Command {
        command(["image", "inspect", "--format", "{{json .Config.Healthcheck}}", reference]).limited(to: Self.queryTimeout)
    }

    /// Containers whose name contains `name`, each as `name<TAB>compose project` (the filter is a substring
    /// match: callers keep the exact name).
    public func containersNamed(_ name: String) -> Command {
        command(["ps", "--all", "--filter", "name=\(name)", "--format", "{{.Names}}\t{{.Label \"\(ComposeLabels.project)\"}}"])
            .limited(to: Self.queryTimeout)
    }

    /// One container's logs; `follow` keeps streaming until cancelled.
    /// `since`: a duration (`10m`), an RFC 3339 time or Unix seconds, as `docker logs` takes it.
    public func logs(
        container: String, follow: Bool = false, tail: Int? = nil, since: String? = nil, until: String? = nil, timestamps: Bool = false
    ) -> Command {
        var arguments = ["logs"]
        if follow { arguments.append("--follow") }
        if let tail { arguments += ["--tail", String(tail)] }
        if let since { arguments += ["--since", since] }
        if let until { arguments += ["--until", until] }
        if timestamps { arguments.append("--timestamps") }
        return command(arguments + [container])
    }

    // MARK: Swarm

    /// `docker stack deploy`: Docker's own conversion of compose files into services, networks, configs and
    /// secrets. `--resolve-image never`: the image reference is used as written, no registry is asked (launch
    /// checks images itself; a single node has them locally).
    public func stackDeploy(stack: String, files: [String], resolveImage: String = "never") -> Command {
        command(["stack", "deploy", "--resolve-image", resolveImage] + files.flatMap { ["--compose-file", $0] } + [stack])
            .limited(to: .seconds(120))
    }

    /// `launch logs --engine swarm`: every task's output of one service (the engine prefixes each line with the
    /// task's name and node), followed while the service runs when `follow`.
    public func serviceLogs(service: String, follow: Bool, tail: Int?, since: String?, timestamps: Bool = false) -> Command {
        var arguments = ["service", "logs", "--no-task-ids", "--no-trunc"]
        if follow { arguments.append("--follow") }
        if timestamps { arguments.append("--timestamps") }
        if let tail { arguments += ["--tail", String(tail)] }
        if let since { arguments += ["--since", since] }
        return command(arguments + [service])
    }
}
