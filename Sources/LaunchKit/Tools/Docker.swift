/// `docker` invocations as values. Only arguments are built here; `ProcessRunning` runs them.
public struct Docker: Sendable, Hashable {
    public var executable: String

    public init(executable: String = "docker") { self.executable = executable }

    func command(_ arguments: [String]) -> Command { Command(executable, arguments) }

    /// Client and server versions as one JSON object; the server part is missing when the daemon is down.
    public func version() -> Command { command(["version", "--format", "{{json .}}"]) }

    /// Daemon information (runtimes, root dir, memory) as JSON.
    public func info() -> Command { command(["info", "--format", "{{json .}}"]) }

    /// The current context's name and endpoint, to say which daemon we talk to.
    public func currentContext() -> Command {
        command(["context", "inspect", "--format", "{{.Name}} {{.Endpoints.docker.Host}}"])
    }

    /// Disk usage per kind (Images, Containers, Local Volumes, Build Cache), one JSON object per line.
    public func systemDiskUsage() -> Command { command(["system", "df", "--format", "{{json .}}"]) }

    public func pruneStoppedContainers() -> Command { command(["container", "prune", "--force"]) }
    /// Dangling images only: tagged images the stack needs stay.
    public func pruneDanglingImages() -> Command { command(["image", "prune", "--force"]) }
    public func pruneBuildCache() -> Command { command(["builder", "prune", "--force"]) }

    /// Which of `references` exist locally: prints the ids of those found, fails for the rest.
    public func inspectImages(_ references: [String]) -> Command {
        command(["image", "inspect", "--format", "{{.Id}}"] + references)
    }

    public func pull(_ reference: String) -> Command { command(["pull", reference]) }

    /// Containers of one compose project, running or not, one JSON object per line.
    public func listContainers(project: String) -> Command {
        command([
            "ps", "--all", "--no-trunc", "--filter", "label=com.docker.compose.project=\(project)",
            "--format", "{{json .}}",
        ])
    }

    public func listVolumes(project: String) -> Command {
        command([
            "volume", "ls", "--filter", "label=com.docker.compose.project=\(project)", "--format", "{{.Name}}",
        ])
    }

    public func listNetworks(project: String) -> Command {
        command([
            "network", "ls", "--filter", "label=com.docker.compose.project=\(project)", "--format", "{{.Name}}",
        ])
    }

    /// One container's logs; `follow` keeps streaming until cancelled.
    public func logs(container: String, follow: Bool = false, tail: Int? = nil) -> Command {
        var arguments = ["logs"]
        if follow { arguments.append("--follow") }
        if let tail { arguments += ["--tail", String(tail)] }
        return command(arguments + [container])
    }
}
