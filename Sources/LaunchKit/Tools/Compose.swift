import Foundation

/// Which Compose implementation `launch` drives. Detected once per run by `ComposeDetector`.
public enum ComposeFlavor: Sendable, Hashable, Codable {
    /// `docker compose` (the v2 CLI plugin).
    case plugin(docker: String)
    /// A standalone `docker-compose` binary; `majorVersion` 1 is the Python implementation.
    case standalone(path: String, majorVersion: Int)

    public var displayName: String {
        switch self {
        case .plugin: "docker compose (v2 plugin)"
        case .standalone(_, let major) where major < 2: "docker-compose (standalone v1)"
        case .standalone: "docker-compose (standalone v2)"
        }
    }

    /// Compose v1 cannot render `config` as JSON; its YAML is read with the same parser.
    public var supportsJSONConfig: Bool {
        if case .standalone(_, let major) = self { return major >= 2 }
        return true
    }
}

/// `docker compose` invocations for one project as values.
///
/// Every command carries the same `-p`, `-f …` and `--env-file` prefix, so what `launch plan` prints is exactly
/// what `launch` runs.
public struct Compose: Sendable, Hashable {
    public var flavor: ComposeFlavor
    public var project: String
    /// Absolute paths, in order.
    public var files: [String]
    /// Absolute path of the env file used for interpolation, if it exists.
    public var envFile: String?
    /// Compose's own `.env` in the project directory, which an explicit `--env-file` would otherwise replace:
    /// passed first, so the profile's env file overrides it key by key (the later `--env-file` wins).
    public var baseEnvFile: String? = nil
    /// Compose profiles to activate (`--profile`), decided by `ComposeProfileSelection`; every command carries
    /// them, so `config`, `up` and `down` agree on which services exist.
    public var profiles: [String] = []
    /// The engine every command targets (`EngineEndpoint.childEnvironment`).
    public var environment: [String: String]

    public init(
        flavor: ComposeFlavor = .plugin(docker: "docker"), project: String, files: [String], envFile: String?,
        environment: [String: String] = [:]
    ) {
        self.flavor = flavor
        self.project = project
        self.files = files
        self.envFile = envFile
        self.environment = environment
    }

    func command(_ arguments: [String]) -> Command {
        var prefix: [String]
        let executable: String
        switch flavor {
        case .plugin(let docker):
            executable = docker
            prefix = ["compose"]
        case .standalone(let path, _):
            executable = path
            prefix = []
        }
        prefix += ["--project-name", project]
        for file in files { prefix += ["--file", file] }
        for profile in profiles { prefix += ["--profile", profile] }
        if let baseEnvFile, baseEnvFile != envFile { prefix += ["--env-file", baseEnvFile] }
        if let envFile { prefix += ["--env-file", envFile] }
        return Command(executable, prefix + arguments, environment: environment)
    }

    /// The fully resolved model (interpolated, merged, defaults applied).
    public func config() -> Command {
        (flavor.supportsJSONConfig ? command(["config", "--format", "json"]) : command(["config"])).limited(to: Self.configDeadline)
    }

    /// Reading the model takes Compose well under a second; a file that makes it run for minutes (YAML aliases of
    /// aliases, a remote `include` that never answers) must not hold launch with it.
    public static let configDeadline: Duration = .seconds(120)

    /// Every service with its `profiles:` as Compose resolves them (merge keys, `extends`, `include`, `!reset` applied),
    /// whatever is active: what decides which profile a service the environment names needs.
    public func configAllProfiles() -> Command {
        var every = self
        every.profiles = ["*"]
        return every.command(["config"]).limited(to: Self.configDeadline)
    }

    /// The resolved model as YAML, which `docker compose -f - config` reads back (`launch config`).
    public func configYAML() -> Command { command(["config"]).limited(to: Self.configDeadline) }

    /// Pulls the images of `services` (all when empty); images with a `build:` section are built instead.
    public func pull(services: [String] = []) -> Command {
        command(["pull", "--ignore-buildable"] + services)
    }

    public func build(services: [String] = []) -> Command { command(["build"] + services) }

    /// Creates networks, volumes and containers without starting anything, so `launch` can start each
    /// container itself the moment its dependencies are ready.
    /// `dependencies: false` (`--no-deps`) touches only `services`: restoring one service must not recreate the
    /// running ones it depends on.
    public func create(services: [String] = [], dependencies: Bool = true) -> Command {
        command(["up", "--no-start", "--no-build", "--pull", "never"] + (dependencies ? [] : ["--no-deps"]) + services)
    }

    /// How long creating `containers` containers (and their networks and volumes) may take: a minute, plus two
    /// seconds a container. Images are already there (pulled and built in the images phase), so an engine that does not
    /// answer a create within this is stuck, not busy; Compose is then stopped with its process group.
    public static func createDeadline(containers: Int) -> Duration { .seconds(60 + 2 * max(containers, 1)) }

    /// Creates and starts `services` in the foreground, as Compose alone would: what a reproduce hint prints.
    public func up(services: [String]) -> Command { command(["up"] + services) }

    /// Creates what `services` need without starting anything, for the per-service commands. `recreate: false`
    /// keeps existing containers as they are (`launch start`); otherwise Compose recreates those whose
    /// configuration changed. Not `--no-deps`: Compose then hashes the service without its `depends_on` and
    /// recreates it even when nothing changed.
    public func create(services: [String], recreate: Bool) -> Command {
        command(["up", "--no-start", "--no-build", "--pull", "never"] + (recreate ? [] : ["--no-recreate"]) + services)
    }

    /// `<service> <hash>` lines: the configuration hash Compose stamps on containers (`com.docker.compose.config-hash`).
    public func configHashes(services: [String]) -> Command {
        command(["config", "--hash", services.joined(separator: ",")]).limited(to: Self.configDeadline)
    }

    /// Runs `arguments` in `service`'s running container; `tty: false` when stdin or stdout is not a terminal.
    public func exec(service: String, arguments: [String], tty: Bool) -> Command {
        command(["exec"] + (tty ? [] : ["--no-TTY"]) + [service] + arguments)
    }

    /// `config --hash '*'`: one `service hash` line per service, the hash Compose labels containers with.
    public func configHash() -> Command { command(["config", "--hash", "*"]).limited(to: Self.configDeadline) }

    /// Stops and removes the project's containers and networks; volumes only when asked.
    public func down(removeVolumes: Bool = false, timeoutSeconds: Int = 10) -> Command {
        var arguments = ["down", "--remove-orphans", "--timeout", String(timeoutSeconds)]
        if removeVolumes { arguments.append("--volumes") }
        return command(arguments)
    }

    public func logs(services: [String] = [], follow: Bool = false, tail: Int? = nil) -> Command {
        var arguments = ["logs", "--no-color"]
        if follow { arguments.append("--follow") }
        if let tail { arguments += ["--tail", String(tail)] }
        return command(arguments + services)
    }
}

/// Finds the Compose implementation to use: the v2 plugin first, then a standalone binary.
public struct ComposeDetector: Sendable {
    let runner: any ProcessRunning
    let docker: Docker

    public init(runner: any ProcessRunning, docker: Docker = Docker()) {
        self.runner = runner
        self.docker = docker
    }

    public struct Detection: Sendable, Hashable, Codable {
        public var flavor: ComposeFlavor
        public var version: String
    }

    /// `nil` when neither the plugin nor a standalone `docker-compose` answers.
    public func detect() async -> Detection? {
        if let output = try? await runner.run(docker.command(["compose", "version", "--short"])),
            output.succeeded, let version = Self.version(output.stdout)
        {
            return Detection(flavor: .plugin(docker: docker.executable), version: version)
        }
        if let output = try? await runner.run(Command("docker-compose", ["version", "--short"], environment: docker.environment)),
            output.succeeded, let version = Self.version(output.stdout)
        {
            let major = Int(version.split(separator: ".").first ?? "") ?? 1
            return Detection(flavor: .standalone(path: "docker-compose", majorVersion: major), version: version)
        }
        return nil
    }

    /// `2.26.1`, `v2.26.1` or `1.29.2` → the bare version.
    static func version(_ text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let bare = trimmed.hasPrefix("v") ? String(trimmed.dropFirst()) : trimmed
        return bare.first?.isNumber == true ? bare : nil
    }
}
