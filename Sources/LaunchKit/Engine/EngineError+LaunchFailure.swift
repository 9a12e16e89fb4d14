/// Engine errors as people should read them: Docker down and permission denied are different problems.
extension EngineError: LaunchFailure {
    public var summary: String {
        switch self {
        case .socketMissing(let path): "the Docker daemon is not running (no socket at \(path))"
        case .connectionRefused(let path): "the Docker daemon is not answering on \(path)"
        case .permissionDenied(let path): "permission denied on the Docker socket \(path)"
        case .unsupportedHost(let host): "DOCKER_HOST=\(host) is not a Unix socket"
        default: description
        }
    }

    public var hint: String? {
        switch self {
        case .socketMissing, .connectionRefused:
            "start Docker (`sudo systemctl start docker`, or Docker Desktop), or point DOCKER_HOST at a running engine"
        case .permissionDenied:
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again); launch itself never needs sudo"
        case .unsupportedHost:
            "launch talks to the engine over a Unix socket; use a unix:// DOCKER_HOST or an SSH tunnel to one"
        case .http(let status, _) where status >= 500: "the engine reported an internal error; `docker info` and the daemon log say more"
        default: nil
        }
    }

    public var exitCode: ExitStatus { .preflightFailed }
}
