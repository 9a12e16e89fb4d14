import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Creates or completes a profile's env file: missing variables get their defaults, missing secrets get fresh
/// random values, and nothing that is already there changes.
public struct EnvProvisioner: Sendable {
    public let layout: ProjectLayout
    public let profile: Profile
    let generator: SecretGenerator

    public init(layout: ProjectLayout, profile: Profile, generator: SecretGenerator = SecretGenerator()) {
        self.layout = layout
        self.profile = profile
        self.generator = generator
    }

    /// What a run did. Holds key names only; never values.
    public struct Outcome: Sendable, Hashable, Encodable {
        public var path: String
        public var created: Bool
        public var addedVariables: [String]
        public var addedSecrets: [String]
        /// The file's mode was tightened to 0600.
        public var fixedMode: Bool
        /// `.gitignore` gained a line for env files.
        public var addedGitignore: Bool
        public var changed: Bool { created || !addedVariables.isEmpty || !addedSecrets.isEmpty || fixedMode }

        /// `launch env --json`, documented in docs/env-json.md: snake_case like every other JSON output.
        public static let schemaVersion = 1
        enum CodingKeys: String, CodingKey {
            case schema, path, created, changed, addedVariables = "added_variables", addedSecrets = "added_secrets",
                fixedMode = "fixed_mode", addedGitignore = "added_gitignore"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Self.schemaVersion, forKey: .schema)
            try container.encode(path, forKey: .path)
            try container.encode(created, forKey: .created)
            try container.encode(changed, forKey: .changed)
            try container.encode(addedVariables, forKey: .addedVariables)
            try container.encode(addedSecrets, forKey: .addedSecrets)
            try container.encode(fixedMode, forKey: .fixedMode)
            try container.encode(addedGitignore, forKey: .addedGitignore)
        }
    }

    public var path: String { layout.path(profile.envFile) }

    /// Reads the env file, or nil when it does not exist yet. Byte-safe: lines that are not UTF-8 are kept
    /// (`EnvFile.undecodableLines`), never a reason to fail.
    public func read() throws(FileError) -> EnvFile? {
        try Self.bytes(of: path, display: layout.display(path), operation: "read the env file").map(EnvFile.init(bytes:))
    }

    /// The redactor for everything a command about this profile prints or records: its secrets from the env
    /// file and from the shell environment (which Compose prefers over the env file).
    public func redactor(environment: [String: String]) -> Redactor {
        Redactor(profile: profile, envFile: (try? read()) ?? nil, environment: environment)
            .adding(stackEnvFiles().flatMap(Redactor.secretValues(in:)))
    }

    /// The env files the stack reads besides the profile's: the project's `compose/.env` (beside the first compose
    /// file) and every `env_file:` its compose files (and what they include) name. Unreadable ones are skipped.
    func stackEnvFiles() -> [EnvFile] {
        let files = profile.compose.files.map(layout.composeFile)
        var paths: [String] = files.first.map { [($0 as NSString).deletingLastPathComponent + "/.env"] } ?? []
        for file in ComposeFileSet.expandingIncludes(files) {
            paths += ComposeFileSet.envFiles(of: file)
        }
        return Set(paths).sorted().compactMap { path in FileManager.default.contents(atPath: path).map { EnvFile(bytes: [UInt8]($0)) } }
    }

    /// Keys the profile wants that `file` (the env file as read, nil when absent) lacks: what `provision` would add.
    public func missingKeys(in file: EnvFile?) -> (variables: [String], secrets: [String]) {
        let present = Set(file?.entries.map(\.key) ?? [])
        return (
            profile.variables.map(\.key).filter { !present.contains($0) },
            profile.secrets.map(\.key).filter { !present.contains($0) }
        )
    }

    /// What `provision` would add, in memory only: variables with their defaults and freshly generated secrets.
    /// `plan` and `doctor` hand these to Compose so a `${SECRET:?}` in a compose file resolves before the env file
    /// exists; they are never written or printed (the caller redacts them).
    public func pendingValues(in file: EnvFile?) -> (variables: [String: String], secrets: [String: String]) {
        let missing = missingKeys(in: file)
        let wantedVariables = Set(missing.variables), wantedSecrets = Set(missing.secrets)
        var variables: [String: String] = [:], secrets: [String: String] = [:]
        for variable in profile.variables where wantedVariables.contains(variable.key) { variables[variable.key] = variable.value }
        for secret in profile.secrets where wantedSecrets.contains(secret.key) {
            secrets[secret.key] = generator.generate(length: secret.length, prefix: secret.prefix)
        }
        return (variables, secrets)
    }

    /// Reads, completes and writes the env file while holding its lock (`EnvFileLock`): what another launch sharing the
    /// file generated first is read, never replaced.
    public func provision(now: Date = Date(), environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Outcome {
        let lock = try EnvFileLock(envFile: path, environment: environment, display: layout.display(path))
        defer { lock.release() }
        let existing = try read()
        var file = existing ?? EnvFile(parsing: "")
        let stamp = ISO8601DateFormatter().string(from: now)
        if existing == nil {
            file.endsWithNewline = true
            file.lines.append(.other("# \(profile.envFile): environment for `launch \(profile.name)`. Keep it out of git."))
        }
        let addedVariables = file.add(
            profile.variables.map { ($0.key, $0.value) }, heading: "defaults added by launch \(stamp)")
        let secrets = profile.secrets.map { ($0.key, generator.generate(length: $0.length, prefix: $0.prefix)) }
        let addedSecrets = file.add(secrets, heading: "secrets generated by launch \(stamp)")
        // Wrong when others may read it; 0400 (read-only, owner only) is stricter than 0600 and stays as it is.
        let modeWasWrong = existing != nil && (AtomicFile.mode(of: EnvFileLock.realPath(path)) ?? 0) & 0o077 != 0
        if existing == nil || !addedVariables.isEmpty || !addedSecrets.isEmpty || modeWasWrong {
            let target = try writableTarget()
            do {
                try AtomicFile.write(bytes: file.bytes, to: target, mode: 0o600)
            } catch {
                throw FileError(path: layout.display(path), operation: "write the env file", underlying: error)
            }
        }
        let addedGitignore = try ensureGitignored()
        return Outcome(
            path: layout.display(path), created: existing == nil, addedVariables: addedVariables,
            addedSecrets: addedSecrets, fixedMode: modeWasWrong && addedVariables.isEmpty && addedSecrets.isEmpty,
            addedGitignore: addedGitignore)
    }

    /// Where the env file's bytes go: its own path, or — when it is a symlink — the file the link leads to, if that is
    /// inside the project (the link stays a link). A link out of the project, one that leads nowhere, a read-only file
    /// and another user's file are errors naming them: launch never replaces what it may not write.
    func writableTarget() throws(FileError) -> String {
        let display = layout.display(path)
        func refuse(_ reason: String, _ hint: String) -> FileError {
            FileError(path: display, operation: "write the env file", reason: reason, hint: hint)
        }
        var target = path
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
            guard FileManager.default.fileExists(atPath: path) else {
                throw refuse("it is a symlink that leads nowhere", "make the link point at an existing file in the project, or remove it")
            }
            target = EnvFileLock.realPath(path)
            guard ProfileLoader.isInside(target, root: layout.root) else {
                throw refuse(
                    "it is a symlink to \(target), outside the project",
                    "point env_file at a file inside the project, or replace the link with the file itself")
            }
        }
        var info = stat()
        guard stat(target, &info) == 0 else { return target }
        if info.st_uid != getuid() {
            throw refuse("it belongs to another user (uid \(info.st_uid))", "complete it as its owner, or give env_file a file of your own")
        }
        // By its mode, not by access(2): root may write anything, and a file its owner made read-only is still meant so.
        if info.st_mode & S_IWUSR == 0 {
            throw refuse("it is read-only", "make it writable (`chmod u+w \(display)`), or add the missing keys yourself")
        }
        return target
    }

    /// Makes sure `.gitignore` at the project root ignores `.env.*` (and this file if it is named otherwise).
    func ensureGitignored() throws -> Bool {
        let wanted = missingGitignoreLines()
        guard !wanted.isEmpty else { return false }
        let gitignore = layout.path(".gitignore")
        // Appended to the bytes as they are: a line that is not UTF-8 is the user's, and stays.
        var updated = try Self.bytes(of: gitignore, display: layout.display(gitignore)) ?? []
        if !updated.isEmpty && updated.last != UInt8(ascii: "\n") { updated.append(UInt8(ascii: "\n")) }
        updated += Array(("# generated secrets and launch state (added by launch)\n" + wanted.joined(separator: "\n") + "\n").utf8)
        let mode = AtomicFile.mode(of: gitignore) ?? 0o644
        try AtomicFile.write(bytes: updated, to: gitignore, mode: mode)
        return true
    }

    /// A file's bytes, nil when there is none; one that is there and cannot be read is an error, never empty.
    static func bytes(of path: String, display: String, operation: String = "read") throws(FileError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        // Foundation says only "I/O error" for a directory: the person needs to hear what stands there.
        if let standing = FileError.standing(at: path, expecting: .file) {
            throw FileError(path: display, operation: operation, reason: standing.reason, hint: standing.hint)
        }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw FileError(path: display, operation: operation, underlying: error)
        }
    }

    /// The lines `.gitignore` at the project root lacks (nothing when an enclosing one already has them).
    func missingGitignoreLines() -> [String] {
        let gitignore = layout.path(".gitignore")
        let text = ((try? Self.bytes(of: gitignore, display: gitignore)) ?? nil).map { String(decoding: $0, as: UTF8.self) } ?? ""
        // Patterns of enclosing .gitignore files count too: a project inside a repository that already ignores
        // these (the quickstart inside this one) must not get a tracked file rewritten at run time.
        let patterns = Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
            .union(Self.inheritedPatterns(above: layout.root))
        var wanted: [String] = []
        if !patterns.contains(".env.*") && !patterns.contains(".env*") { wanted.append(".env.*") }
        let name = profile.envFile
        // `<env file>*` also covers its timestamped backups (first-run --reset).
        let coveredByPattern = (name as NSString).lastPathComponent.hasPrefix(".env.") && !name.contains("/")
        if !coveredByPattern && !patterns.contains(name + "*") { wanted.append(name + "*") }
        // Run reports and locks; a temporary file a crash left behind mid-write.
        if !patterns.contains(".launch/") && !patterns.contains(".launch") { wanted.append(".launch/") }
        if !patterns.contains(".*.launch-*") { wanted.append(".*.launch-*") }
        return wanted
    }

    /// Unanchored patterns (no `/` but a trailing one) of the `.gitignore` files in the directories above `root`, up
    /// to the repository's top (the directory holding `.git`); nothing when `root` is not inside a repository.
    static func inheritedPatterns(above root: String) -> Set<String> {
        var found: Set<String> = []
        var directory = URL(fileURLWithPath: root).standardizedFileURL
        guard !FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) else { return [] }
        while directory.path != "/" {
            directory = directory.deletingLastPathComponent()
            let path = directory.appendingPathComponent(".gitignore").path
            let text = ((try? Self.bytes(of: path, display: path)) ?? nil).map { String(decoding: $0, as: UTF8.self) } ?? ""
            for line in text.split(whereSeparator: \.isNewline) {
                let pattern = line.trimmingCharacters(in: .whitespaces)
                guard !pattern.isEmpty, !pattern.hasPrefix("#"), !pattern.hasPrefix("!") else { continue }
                if !pattern.dropLast(pattern.hasSuffix("/") ? 1 : 0).contains("/") { found.insert(pattern) }
            }
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) { return found }
        }
        return []
    }
}
