import Foundation

/// What shell completion offers for environment and service arguments, read from the project's profiles.
///
/// The shell passes every word on the command line; the project is found the way commands find it (`--project-dir`
/// on that line, else upward from the working directory). Completion must never fail loudly: any problem gives
/// no candidates.
public enum CompletionCandidates {
    /// Options that take a value, so their value is not mistaken for the environment.
    static let optionsWithValues: Set<String> = ["--project-dir", "-H", "--host", "--context", "--tail", "--since", "--limit", "--label"]

    /// Environment names and their aliases.
    public static func environments(words: [String], workingDirectory: String = FileManager.default.currentDirectoryPath) -> [String] {
        guard let catalog = catalog(words: words, workingDirectory: workingDirectory) else { return [] }
        return catalog.profiles.flatMap { [$0.name] + $0.aliases }.sorted()
    }

    /// Services of the environment named earlier on the line (from its compose files, without running Compose).
    public static func services(words: [String], workingDirectory: String = FileManager.default.currentDirectoryPath) -> [String] {
        guard let catalog = catalog(words: words, workingDirectory: workingDirectory),
            let environment = positionals(words).first,
            let profile = try? catalog.profile(named: environment),
            let graph = Planner.outline(profile, layout: catalog.layout)
        else { return [] }
        return graph.services.sorted()
    }

    /// The words after the subcommand that are neither options nor option values.
    static func positionals(_ words: [String]) -> [String] {
        var result: [String] = []
        var skipNext = false
        for word in words.dropFirst(2) {
            if skipNext {
                skipNext = false
                continue
            }
            if word == "--" { break }
            if optionsWithValues.contains(word) {
                skipNext = true
                continue
            }
            if word.hasPrefix("-") || word.isEmpty { continue }
            result.append(word)
        }
        return result
    }

    static func catalog(words: [String], workingDirectory: String) -> ProfileCatalog? {
        let explicit = words.firstIndex(of: "--project-dir").flatMap { words.indices.contains($0 + 1) ? words[$0 + 1] : nil }
        guard let layout = try? ProjectLayout.locate(from: workingDirectory, explicit: explicit) else { return nil }
        return ProfileCatalog.load(layout)
    }
}
