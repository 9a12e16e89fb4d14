/// Engine errors as people should read them: Docker down and permission denied are different problems.
extension EngineError: LaunchFailure {
    public var summary: String {
        switch self {
        case .socketMissing(let path): "the Docker daemon is not running (no socket at \(path))"
        case .connectionRefused(let path): "the Docker daemon is not answering on \(path)"
        case .permissionDenied(let path): "permission denied on the Docker socket \(path)"
        case .unsupportedHost(let host): "\(host) is not an engine address launch can use"
        case .timedOut(let what): "the Docker engine did not answer: \(what)"
        default: description
        }
    }

    public var hint: String? {
        switch self {
        case .socketMissing, .connectionRefused:
            "start Docker (`sudo systemctl start docker`, or Docker Desktop), or point DOCKER_HOST/--context at a running engine"
        case .permissionDenied:
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again); launch itself never needs sudo"
        case .unsupportedHost:
            "use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host (as `docker -H` takes them)"
        case .unknownContext:
            "`docker context ls` lists the contexts; `docker context create` makes one"
        case .conflictingEndpoint:
            "give either --host or --context"
        case .timedOut:
            "the daemon accepted the connection but did not answer: `docker info` will hang the same way; restart the daemon (`sudo systemctl restart docker`) and check its log"
        case .dialFailed:
            "check that `docker <same --host/--context> info` works from this shell (SSH keys, host reachable, docker on the remote PATH)"
        case .apiTooOld:
            "upgrade the Docker engine to 20.10 or newer"
        case .http(let status, _) where status >= 500: "the engine reported an internal error; `docker info` and the daemon log say more"
        default: nil
        }
    }

    public var exitCode: ExitStatus { .preflightFailed }
}
