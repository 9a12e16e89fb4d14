import Foundation

/// `launch first-run [--reset]`: from a fresh clone (or a broken local state) to a working stack.
public struct FirstRun: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let profile: Profile
    let client: EngineClient

    public init(context: LaunchContext, layout: ProjectLayout, profile: Profile, client: EngineClient) {
        self.context = context
        self.layout = layout
        self.profile = profile
        self.client = client
    }

    /// What this project already has, found by the compose project label (never by name patterns).
    public struct Existing: Sendable {
        public var containers: [String]
        public var volumes: [String]
        public var networks: [String]
        public var envFile: String?

        public var isEmpty: Bool { containers.isEmpty && volumes.isEmpty && networks.isEmpty && envFile == nil }

        public var items: [String] {
            containers.map { "container \($0)" } + volumes.map { "volume \($0) (its data is lost)" } + networks.map { "network \($0)" }
                + (envFile.map { ["env file \($0) (backed up first; new secrets are generated)"] } ?? [])
        }
    }

    public func existing() async throws -> Existing {
        let label = ComposeLabels.projectFilter(profile.compose.project)
        let envPath = layout.path(profile.envFile)
        return Existing(
            containers: try await client.listContainers(all: true, labels: label).map(\.name).sorted(),
            volumes: try await client.listVolumes(labels: label).map(\.name).sorted(),
            networks: try await client.listNetworks(labels: label).map(\.name).sorted(),
            envFile: FileManager.default.fileExists(atPath: envPath) ? profile.envFile : nil)
    }

    public struct AlreadySetUp: LaunchFailure {
        public var existing: Existing
        public var profile: Profile
        public var summary: String { "\(profile.compose.project) is already set up here; first-run starts from a clean slate" }
        public var evidence: [String] { existing.items }
        public var hint: String? {
            "`launch \(profile.extends ?? profile.name)` starts the existing setup; `launch first-run --reset` removes the above (after confirmation) and starts over"
        }
        public var exitCode: ExitStatus { .usage }
    }

    /// Refuses when the project exists and `reset` was not asked for; otherwise starts over.
    /// Returns the env file backup's path, if one was made.
    public func prepare(reset: Bool, yes: Bool, prompt: Bool) async throws -> String? {
        let found = try await existing()
        guard !found.isEmpty else { return nil }
        guard reset else { throw AlreadySetUp(existing: found, profile: profile) }
        return try await self.reset(found, yes: yes, prompt: prompt)
    }

    /// Lists, confirms, backs up the env file, then removes this project's containers, networks, volumes
    /// and env file. Returns the backup's path.
    public func reset(_ existing: Existing, yes: Bool, prompt: Bool) async throws -> String? {
        try Confirmation.require(
            context, purpose: "start \(profile.compose.project) over", items: existing.items, token: profile.compose.project,
            yes: yes, prompt: prompt, flagHint: "launch first-run --reset --yes")
        var backup: String?
        if existing.envFile != nil {
            let path = layout.path(profile.envFile)
            let target = Self.freeName("\(path).backup-\(Timestamp.compact(context.now()))")
            // Its bytes as they are (a line that is not UTF-8 is still the user's), beside any earlier backup.
            let bytes =
                try EnvProvisioner.bytes(of: path, display: layout.display(path), operation: "read the env file to back it up") ?? []
            try AtomicFile.write(bytes: bytes, to: target, mode: 0o600)
            backup = layout.display(target)
        }
        let client = self.client, project = profile.compose.project
        _ = try await InterruptHandler.stoppable(console: context.console, what: "the reset") {
            try await Teardown(client: client, project: project).run(levels: [], removeVolumes: true)
        }
        if existing.envFile != nil {
            let path = layout.path(profile.envFile)
            // unlink(2) directly: its errno tells a permission problem (with its own hint) from anything else.
            if unlink(path) != 0 && errno != ENOENT {
                let code = errno
                throw AtomicFile.WriteError(path: path, reason: "cannot remove: \(String(cString: strerror(code)))", errnoCode: code)
            }
        }
        return backup
    }

    /// `base`, or `base-2`, `base-3`, … : the first name nothing stands at (not even a dangling link), so a
    /// backup never replaces an earlier one made in the same second.
    static func freeName(_ base: String) -> String {
        var info = stat()
        var candidate = base
        var number = 1
        while lstat(candidate, &info) == 0 {
            number += 1
            candidate = "\(base)-\(number)"
        }
        return candidate
    }

    /// What a new developer needs after the stack is up.
    /// `command` spells a launch command as the user must type it (`Console.command`).
    public static func onboarding(
        _ result: LaunchResult, profile: Profile, backup: String?, command: (String) -> String = { "launch " + $0 }
    ) -> [String] {
        var lines = [
            "", "Welcome aboard. Your \(profile.extends ?? profile.name) stack is \(result.outcome == .success ? "up" : "up, degraded").",
            "",
        ]
        if !result.urls.isEmpty {
            lines.append("Open:")
            lines += Text.table(result.urls.map { [$0.name, $0.url] }).map { "  " + $0 }
            lines.append("")
        }
        lines.append("Secrets: \(profile.envFile) (mode 0600, git-ignored) holds \(profile.secrets.map(\.key).joined(separator: ", ")).")
        lines.append("         Values are never printed; read them from the file when a tool asks.")
        if let backup { lines.append("         Your previous env file is saved as \(backup).") }
        let environment = profile.extends ?? profile.name
        lines += ["", "Next:"]
        let next = [
            ("status \(environment)", "what is running, health, ports"), ("logs \(environment) [service]", "logs, secrets redacted"),
            ("down \(environment)", "stop it (volumes stay)"), ("\(environment)", "start it again later"),
            ("doctor \(environment)", "check the machine"),
        ]
        let width = next.map { command($0.0).count }.max() ?? 0
        lines += next.map { "  " + Text.pad(command($0.0), width) + "  " + $0.1 }
        return lines
    }
}
