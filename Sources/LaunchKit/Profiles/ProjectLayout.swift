import Foundation

/// Where a project's files are: the root holds `environments/` and `compose/`.
public struct ProjectLayout: Sendable, Hashable {
    /// Absolute, standardized.
    public var root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var environmentsDirectory: String { path("environments") }
    public var composeDirectory: String { path("compose") }
    /// Run reports, locks and other state `launch` keeps (git-ignored).
    public var stateDirectory: String { path(".launch") }

    public func path(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : (root as NSString).appendingPathComponent(relative)
    }

    public func composeFile(_ name: String) -> String {
        name.hasPrefix("/") ? name : (composeDirectory as NSString).appendingPathComponent(name)
    }

    /// Relative to the root when inside it, for messages.
    public func display(_ absolute: String) -> String {
        absolute.hasPrefix(root + "/") ? String(absolute.dropFirst(root.count + 1)) : absolute
    }

    /// Like git finds `.git`: the nearest directory upward from `start` that holds `environments/`.
    /// `explicit` (from `--project-dir`) wins and must itself hold `environments/`.
    public static func locate(from start: String, explicit: String? = nil) throws(ProjectNotFound) -> ProjectLayout {
        let fileManager = FileManager.default
        func holdsEnvironments(_ directory: String) -> Bool {
            var isDirectory: ObjCBool = false
            let candidate = (directory as NSString).appendingPathComponent("environments")
            return fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        if let explicit {
            let absolute = URL(fileURLWithPath: explicit, relativeTo: URL(fileURLWithPath: start)).standardizedFileURL.path
            guard holdsEnvironments(absolute) else { throw ProjectNotFound(start: absolute, explicit: true) }
            return ProjectLayout(root: absolute)
        }
        var directory = URL(fileURLWithPath: start).standardizedFileURL
        while true {
            if holdsEnvironments(directory.path) { return ProjectLayout(root: directory.path) }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { break }
            directory = parent
        }
        throw ProjectNotFound(start: start, explicit: false)
    }
}

public struct ProjectNotFound: LaunchFailure, Equatable {
    public var start: String
    public var explicit: Bool

    public var summary: String {
        explicit
            ? "\(start) is not a launch project: it has no environments/ directory"
            : "no launch project here: neither \(start) nor any directory above it has an environments/ directory"
    }
    public var hint: String? {
        "run launch inside the project (the folder with environments/ and compose/), or pass --project-dir DIR"
    }
    public var exitCode: ExitStatus { .usage }
}
