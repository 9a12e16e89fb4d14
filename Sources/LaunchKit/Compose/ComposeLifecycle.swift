import Foundation

/// Compose keys that only some Compose versions act on: lifecycle hooks and the newer `depends_on` options.
/// An older Compose keeps or drops them without a word; the plan says which key, where, and which version would.
public enum ComposeLifecycle {
    /// The first Compose release that acts on each key.
    public static let introducedIn: [String: String] = [
        "post_start": "2.30.0", "pre_stop": "2.30.0", "depends_on.restart": "2.17.0", "depends_on.required": "2.20.0",
    ]

    public struct Use: Sendable, Hashable {
        public var service: String
        public var key: String
        public var location: SourceLocation
    }

    /// Every use in the raw files (and what they include), with its line: the resolved model fills defaults in
    /// (`required: true`), so only the files say what was written.
    public static func uses(_ files: [String], display: (String) -> String) -> [Use] {
        var found: [Use] = []
        for path in ComposeFileSet.expandingIncludes(files) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let tree = try? YAMLTree.parse(text, file: display(path)), case .map(let services, _)? = tree["services"]
            else { continue }
            for service in services {
                guard case .map(let keys, _) = service.value else { continue }
                for entry in keys where entry.key == "post_start" || entry.key == "pre_stop" {
                    found.append(Use(service: service.key, key: entry.key, location: entry.keyLocation))
                }
                guard case .map(let dependencies, _)? = service.value["depends_on"] else { continue }
                for dependency in dependencies {
                    guard case .map(let options, _) = dependency.value else { continue }
                    for option in options where option.key == "restart" || option.key == "required" {
                        found.append(Use(service: service.key, key: "depends_on.\(option.key)", location: option.keyLocation))
                    }
                }
            }
        }
        return found
    }

    /// Plan warnings for `uses` with the installed Compose `version` (nil: unknown, nothing is claimed).
    public static func warnings(_ uses: [Use], composeVersion version: String?) -> [String] {
        uses.compactMap { use in
            let place = "\(use.location.file):\(use.location.line)"
            if let version, let needed = introducedIn[use.key], !isAtLeast(version, needed) {
                return "`\(use.key)` of \(use.service) (\(place)) needs Compose \(needed) or newer; the installed \(version) ignores it"
            }
            if use.key == "post_start" {
                return "`post_start` of \(use.service) (\(place)) is not run: launch starts containers through the Engine API, "
                    + "and Compose runs the hook only when it starts them itself; run it from the service's entrypoint instead"
            }
            return nil
        }
    }

    /// `2.26.1-4` against `2.30.0`, component by component (a suffix after `-` or `+` is ignored).
    public static func isAtLeast(_ version: String, _ needed: String) -> Bool {
        func parts(_ text: String) -> [Int] {
            let core = text.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? text
            return core.split(separator: ".").map { Int($0) ?? 0 }
        }
        let have = parts(version), want = parts(needed)
        for index in 0..<max(have.count, want.count) {
            let a = index < have.count ? have[index] : 0, b = index < want.count ? want[index] : 0
            if a != b { return a > b }
        }
        return true
    }
}
