import Foundation

/// Every profile in `environments/`, loaded and validated together (aliases and `extends` span files).
public struct ProfileCatalog: Sendable {
    public struct Entry: Sendable {
        public var name: String
        /// Relative to the project root.
        public var file: String
        public var result: Result<Profile, ConfigurationError>

        public var profile: Profile? { try? result.get() }
    }

    public var layout: ProjectLayout
    public var entries: [Entry]

    /// Problems that belong to no single profile (duplicate aliases, an unreadable directory).
    public var sharedProblems: [ConfigProblem]

    public var profiles: [Profile] { entries.compactMap(\.profile) }

    /// Every name and alias a user may type.
    public var selectableNames: [String] {
        entries.flatMap { entry in [entry.name] + (entry.profile?.aliases ?? []) }
    }

    /// Finds a profile by name or alias. Unknown names are usage errors (64) with a did-you-mean;
    /// a known but broken profile is a configuration error (65).
    /// `commands`: launch's own subcommands, when `requested` stood where a subcommand could have (`launch stauts`
    /// is a mistyped `status` far more often than an environment).
    public func profile(named requested: String, commands: [String] = []) throws -> Profile {
        let match = entries.first { $0.name == requested || ($0.profile?.aliases.contains(requested) ?? false) }
        guard let match else {
            let names = entries.map { entry in
                let aliases = entry.profile?.aliases ?? []
                return aliases.isEmpty ? entry.name : "\(entry.name) (\(aliases.joined(separator: ", ")))"
            }
            let suggestion = Text.suggestion(for: requested, among: selectableNames)
            if suggestion == nil, let command = Text.suggestion(for: requested, among: commands) {
                throw UsageError(
                    "unknown environment or command `\(requested)`", evidence: ["environments: " + names.joined(separator: ", ")],
                    hint: "did you mean the command `launch \(command)`?")
            }
            throw UsageError(
                "unknown environment `\(requested)`",
                evidence: ["environments: " + names.joined(separator: ", ")],
                hint: suggestion.map { "did you mean `\($0)`?" } ?? "`launch list` shows every environment")
        }
        let problems = sharedProblems.filter { $0.location.file == match.file }
        switch match.result {
        case .success(let profile) where problems.isEmpty: return profile
        case .success: throw ConfigurationError(problems)
        case .failure(let error): throw ConfigurationError(error.problems + problems)
        }
    }

    /// Every profile under the compose project `name` (`-p/--project-name`), checked as Compose checks one.
    public mutating func rename(project name: String) throws {
        guard Profile.isProjectName(name) else {
            throw UsageError(
                "-p/--project-name: `\(name)` is not a valid compose project name",
                hint: "lower-case letters, digits, dashes and underscores, starting with a letter or digit (like `alice-dev`)")
        }
        for index in entries.indices {
            if case .success(var profile) = entries[index].result {
                profile.compose.project = name
                entries[index].result = .success(profile)
            }
        }
    }

    public static func load(_ layout: ProjectLayout) -> ProfileCatalog {
        ProfileLoader(layout: layout).loadAll()
    }
}
