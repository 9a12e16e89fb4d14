import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The Docker CLI, the daemon it talks to, Compose, and the NVIDIA runtime.
enum DockerChecks {
    /// The CLI is on PATH and speaks an API the engine accepts: launch talks to the engine itself, but `logs`, `exec`
    /// and builds go through the CLI, and an engine that refuses it (Docker 29 refuses below API 1.44) would fail them.
    static func cli(context: LaunchContext, facts: EngineFacts) async -> CheckResult {
        let docker = context.docker
        guard let path = Executables.find(docker.executable, environment: context.environment) else {
            return .fail(
                "docker.cli", "Docker CLI", "`\(docker.executable)` is not on PATH",
                fix: "install the Docker CLI (https://docs.docker.com/engine/install/) and make sure `docker` is on PATH")
        }
        guard let client = facts.client, let minimum = (try? await client.version())?.minAPIVersion.flatMap(APIVersion.init),
            let answer = try? await context.runner.run(docker.clientAPIVersion()),
            let spoken = answer.stdout.split(separator: "\n").first.flatMap({ APIVersion(String($0)) })
        else { return .ok("docker.cli", "Docker CLI", path) }
        guard spoken >= minimum else {
            return .fail(
                "docker.cli", "Docker CLI",
                "\(path) speaks Engine API \(spoken); the engine at \(facts.endpoint) refuses clients below \(minimum)",
                fix: "install a Docker CLI that speaks API \(minimum) or newer (Docker 25.0+) and put it first on PATH: "
                    + "`launch logs`, `launch exec` and builds go through it")
        }
        return .ok("docker.cli", "Docker CLI", "\(path) (API \(spoken))")
    }

    static func daemon(_ facts: EngineFacts) -> CheckResult {
        let id = "docker.daemon", title = "Docker daemon"
        if let info = facts.info {
            let api = facts.apiVersion.map { ", API \($0)" } ?? ""
            return .ok(id, title, "Docker Engine \(info.serverVersion)\(api) at \(facts.endpoint)")
        }
        let startIt: String =
            switch facts.endpoint.source {
            case .dockerHost: "start the engine DOCKER_HOST names, or unset DOCKER_HOST to use the default socket"
            case .hostFlag: "start the engine --host names, or leave --host out"
            case .contextFlag(let name), .dockerContext(let name), .configContext(let name):
                "start the engine context \(name) points at (`docker context inspect \(name)`), or choose another context"
            case .platformDefault: "start Docker (`sudo systemctl start docker`, or Docker Desktop); launch itself never needs sudo"
            }
        switch facts.problem {
        case .engine(.socketMissing(let path))?:
            return .fail(id, title, "the Docker daemon is not running: no socket at \(path) (\(facts.endpoint))", fix: startIt)
        case .engine(.connectionRefused(let path))?:
            return .fail(id, title, "the Docker daemon is not running: nothing answers on \(path) (\(facts.endpoint))", fix: startIt)
        case .engine(.permissionDenied(let path))?:
            return .fail(
                id, title, "permission denied on \(path)\(socketOwnership(path)): this user may not use Docker",
                fix: "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again); launch itself never needs sudo"
            )
        case .engine(.timedOut(let what))?:
            return .fail(
                id, title, "the daemon at \(facts.endpoint) accepted the connection but did not answer (\(what))",
                fix: "restart the daemon (`sudo systemctl restart docker`) and read its log; `docker info` hangs the same way")
        case .engine(let error)?:
            return .fail(
                id, title, "the daemon at \(facts.endpoint) did not answer properly: \(error)",
                fix: error.hint ?? "run `docker info`; the daemon log says more")
        case nil:
            return .fail(id, title, "the daemon at \(facts.endpoint) gave no information", fix: "run `docker info`")
        }
    }

    /// `(owner root:docker, mode 660)`: tells a person which group would let them in.
    static func socketOwnership(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "" }
        let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? String(info.st_uid)
        let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? String(info.st_gid)
        return " (owner \(owner):\(group), mode \(String(info.st_mode & 0o777, radix: 8)))"
    }

    /// Which Compose implementation answers, its version, and what `launch` will run.
    static func compose(flavor: ComposeFlavor?, version: String?) -> CheckResult {
        let id = "compose", title = "Docker Compose"
        guard let flavor, let version else {
            return .fail(
                id, title, "neither `docker compose` (v2 plugin) nor `docker-compose` answers",
                fix: "install the Compose v2 plugin (package docker-compose-plugin, or Docker Desktop)")
        }
        let runs: String =
            switch flavor {
            case .plugin(let docker): "`\(docker) compose`"
            case .standalone(let path, _): "`\(path)`"
            }
        if case .standalone(_, let major) = flavor, major < 2 {
            return .warn(
                id, title, "\(flavor.displayName) \(version); launch will run \(runs)",
                fix: "Compose v1 is end-of-life: install the v2 plugin (package docker-compose-plugin)")
        }
        return .ok(id, title, "\(flavor.displayName) \(version); launch will run \(runs)")
    }

    /// GPU containers need the NVIDIA container toolkit; `docker info` lists its runtime when configured.
    static func nvidiaRuntime(_ facts: EngineFacts, environment: [String: String]) -> CheckResult {
        let id = "docker.nvidia-runtime", title = "NVIDIA container runtime"
        guard let info = facts.info else {
            return .skip(id, title, "the Docker daemon is not reachable")
        }
        if info.runtimes.contains(where: { $0.hasPrefix("nvidia") }) {
            return .ok(id, title, "runtimes: \(info.runtimes.joined(separator: ", "))")
        }
        let configure = "run `sudo nvidia-ctk runtime configure --runtime=docker` and restart Docker"
        // An engine elsewhere that lists CDI GPU devices gives them without a runtime; its hooks are not on this machine.
        if !facts.isLocal, !EngineGPUProbe.cdiGPUs(info).isEmpty {
            return .ok(
                id, title, "the engine at \(facts.endpoint) gives its GPUs through CDI (\(EngineGPUProbe.cdiGPUs(info).count) listed)")
        }
        // `--gpus` works through the toolkit's hook even when no `nvidia` runtime is registered.
        if facts.isLocal,
            let hook = ["nvidia-container-runtime-hook", "nvidia-ctk"].lazy.compactMap({
                Executables.find($0, environment: environment)
            }).first
        {
            return .warn(
                id, title,
                "no `nvidia` runtime in docker info (runtimes: \(info.runtimes.joined(separator: ", "))), but \(hook) is installed",
                fix: configure)
        }
        return .fail(
            id, title,
            "no `nvidia` runtime in docker info (runtimes: \(info.runtimes.joined(separator: ", "))): GPU containers cannot start",
            fix: "install the NVIDIA Container Toolkit (nvidia-container-toolkit), then " + configure)
    }
}

/// Finds programs the way a shell does, without running anything.
enum Executables {
    static func find(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
