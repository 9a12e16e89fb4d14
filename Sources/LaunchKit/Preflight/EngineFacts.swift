import Foundation

/// Which daemon `docker` talks to, and why: `DOCKER_HOST`, a `docker context`, or the default socket.
struct DockerEndpoint: Sendable, Hashable, CustomStringConvertible {
    enum Source: Sendable, Hashable {
        case dockerHost
        case context(String)
        case defaultSocket
    }

    static let defaultHost = "unix:///var/run/docker.sock"

    var host: String
    var source: Source

    /// Set for `unix://` hosts, the only kind the Engine API client speaks.
    var socketPath: String? {
        host.hasPrefix("unix://") && host.count > "unix://".count ? String(host.dropFirst("unix://".count)) : nil
    }

    var description: String {
        switch source {
        case .dockerHost: "\(host) (DOCKER_HOST)"
        case .context(let name): "\(host) (context \(name))"
        case .defaultSocket: "\(host) (default context)"
        }
    }

    /// Mirrors the CLI: `DOCKER_HOST` wins, then `DOCKER_CONTEXT`, then `currentContext` in the CLI config.
    /// Only a non-default context costs a `docker context inspect` (the common case reads no process).
    static func resolve(environment: [String: String], runner: any ProcessRunning, docker: Docker) async
        -> DockerEndpoint
    {
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            return DockerEndpoint(host: host, source: .dockerHost)
        }
        guard let name = contextName(environment: environment), name != "default" else {
            return DockerEndpoint(host: defaultHost, source: .defaultSocket)
        }
        var command = docker.currentContext()
        command.environment["DOCKER_CONTEXT"] = name
        if let output = try? await runner.run(command), output.succeeded {
            let words = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            if words.count >= 2 { return DockerEndpoint(host: String(words[1]), source: .context(name)) }
        }
        return DockerEndpoint(host: defaultHost, source: .context(name))
    }

    static func contextName(environment: [String: String]) -> String? {
        if let name = environment["DOCKER_CONTEXT"], !name.isEmpty { return name }
        let directory = environment["DOCKER_CONFIG"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
        guard let data = FileManager.default.contents(atPath: directory + "/config.json") else { return nil }
        struct Config: Decodable { var currentContext: String? }
        return (try? JSONDecoder().decode(Config.self, from: data))?.currentContext
    }
}

/// What the daemon says about itself, asked once per preflight run and shared by every check.
struct EngineFacts: Sendable {
    enum Problem: Sendable {
        /// The Engine API over the unix socket failed: down, refused, permission denied.
        case engine(EngineError)
        /// `docker info` (for non-unix hosts) failed; `message` is its first line of stderr.
        case cli(status: Int32, message: String)
        /// Neither the socket nor a `docker` CLI is available to ask.
        case cliMissing
    }

    var endpoint: DockerEndpoint
    /// Set when the daemon answers over its unix socket: image and container questions go through it.
    var client: EngineClient?
    var info: EngineInfo?
    var problem: Problem?
    /// Running containers of every project; nil when unknown (remote engine, or the daemon is down).
    var runningContainers: [ContainerSummary]?

    var reachable: Bool { info != nil }
    /// Ports are published on the daemon's host; only a local socket means that host is this one.
    var isLocal: Bool { endpoint.socketPath != nil }

    static func gather(context: LaunchContext) async -> EngineFacts {
        let endpoint = await DockerEndpoint.resolve(
            environment: context.environment, runner: context.runner, docker: context.docker)
        guard let socketPath = endpoint.socketPath else { return await gatherWithCLI(endpoint, context: context) }
        let client = EngineClient(endpoint: EngineEndpoint(socketPath: socketPath))
        async let info = client.info()
        async let containers = client.listContainers(all: false)
        do {
            let facts = EngineFacts(
                endpoint: endpoint, client: client, info: try await info, problem: nil,
                runningContainers: try await containers)
            return facts
        } catch let error as EngineError {
            return EngineFacts(endpoint: endpoint, client: nil, info: nil, problem: .engine(error))
        } catch {
            return EngineFacts(
                endpoint: endpoint, client: nil, info: nil, problem: .engine(.io(0, "\(error)")))
        }
    }

    /// `tcp://` and `ssh://` engines: one `docker info`, whose JSON carries the same fields as the API's.
    private static func gatherWithCLI(_ endpoint: DockerEndpoint, context: LaunchContext) async -> EngineFacts {
        let output: ProcessOutput
        do {
            output = try await context.runner.run(context.docker.info())
        } catch {
            return EngineFacts(endpoint: endpoint, problem: .cliMissing)
        }
        guard output.succeeded, let info = try? JSONDecoder().decode(EngineInfo.self, from: Data(output.stdout.utf8))
        else {
            let message = (output.stderr + "\n" + output.stdout).split(whereSeparator: \.isNewline)
                .first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init) ?? "no output"
            return EngineFacts(endpoint: endpoint, problem: .cli(status: output.status, message: message))
        }
        return EngineFacts(endpoint: endpoint, info: info)
    }
}
