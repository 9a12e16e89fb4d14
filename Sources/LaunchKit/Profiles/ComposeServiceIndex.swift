import Foundation

/// Service names defined by compose files, read straight from the YAML (no Compose needed), cached per file.
struct ComposeServiceIndex {
    let layout: ProjectLayout
    private var cache: [String: Read] = [:]

    /// One compose file as read here: its services (nil when it cannot be read or parsed: other checks report
    /// that), and the problem of a file whose aliases expand past what anyone writes (Compose would spend minutes
    /// on it before saying anything).
    private struct Read {
        var names: Set<String>?
        var expansion: ConfigProblem?
    }

    init(layout: ProjectLayout) { self.layout = layout }

    /// `nil` when a file cannot be read or parsed: other checks report that; don't guess here.
    mutating func services(in files: [String]) -> Set<String>? {
        var all: Set<String> = []
        for file in files {
            guard let names = read(file).names else { return nil }
            all.formUnion(names)
        }
        return all
    }

    /// Alias bombs among `files` (and the files they include).
    mutating func expansionProblems(in files: [String]) -> [ConfigProblem] {
        files.compactMap { read($0).expansion }
    }

    private mutating func read(_ file: String) -> Read {
        let path = layout.composeFile(file)
        if let known = cache[path] { return known }
        let read = Self.read(path)
        cache[path] = read
        return read
    }

    /// The file's services and those of the files it includes: an included service is as much the stack's.
    private static func read(_ path: String) -> Read {
        var all: Set<String> = []
        for file in ComposeFileSet.expandingIncludes([path]) {
            let one = readOne(file)
            guard let names = one.names else { return one }
            all.formUnion(names)
        }
        return Read(names: all)
    }

    private static func readOne(_ path: String) -> Read {
        guard case .success(let text) = TextFile.read(path, display: path) else { return Read() }
        let tree: YAMLTree
        do throws(ConfigurationError) {
            tree = try YAMLTree.parse(text, file: path)
        } catch {
            return Read(expansion: error.problems.first(where: YAMLTree.isExpansionProblem))
        }
        guard case .map(let entries, _)? = tree["services"] else { return Read(names: []) }
        return Read(names: Set(entries.map(\.key)))
    }
}
