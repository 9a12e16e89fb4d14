import Foundation

/// The env file parses, and every variable the compose files interpolate without a default gets a value.
enum VariableChecks {
    static func envFile(_ profile: Profile, layout: ProjectLayout, options: PreflightOptions) -> CheckResult {
        let id = "env.file", title = "Env file"
        let path = layout.path(profile.envFile)
        guard let data = FileManager.default.contents(atPath: path) else {
            if let standing = FileError.standing(at: path, expecting: .file) {
                return .fail(id, title, "\(profile.envFile) \(standing.reason)", fix: standing.hint)
            }
            if FileManager.default.fileExists(atPath: path) {
                return .fail(
                    id, title, "\(profile.envFile) exists but cannot be read",
                    fix: "check its owner and permissions (`ls -l \(profile.envFile)`)")
            }
            if options.envFileWillBeCreated {
                return .ok(
                    id, title,
                    "\(profile.envFile) does not exist yet: launch creates it (\(profile.secrets.count) secrets, "
                        + "\(profile.variables.count) variables, mode 600)")
            }
            return .warn(id, title, "\(profile.envFile) does not exist", fix: "`launch env \(profile.name)` creates it")
        }
        let file = EnvFile(bytes: Array(data))
        let malformed = file.malformedLines
        if !malformed.isEmpty {
            // Line numbers only: a malformed line may well hold a secret.
            let lines = malformed.map { "\(profile.envFile):\($0.line)" }.joined(separator: ", ")
            return .fail(
                id, title, "\(malformed.count == 1 ? "a line is" : "\(malformed.count) lines are") not KEY=VALUE: \(lines)",
                fix:
                    "fix or remove \(malformed.count == 1 ? "that line" : "those lines"): each line must be KEY=VALUE, a # comment or blank"
            )
        }
        let undecodable = file.undecodableLines
        let mode = AtomicFile.mode(of: path)
        let modeText = mode.map { "mode \(String($0, radix: 8))" } ?? "mode unknown"
        let summary = "\(profile.envFile): \(file.entries.count) entries, \(modeText)"
        if let mode, mode & 0o077 != 0 {
            if options.envFileWillBeCreated {
                return .ok(id, title, summary + " (launch tightens it to 600)")
            }
            return .warn(
                id, title, summary + ": other users can read its secrets",
                fix: "`chmod 600 \(profile.envFile)` (or `launch env \(profile.name)`, which tightens it)")
        }
        if !undecodable.isEmpty {
            // Kept as they are and still redacted; Compose may read those bytes differently than intended.
            return .warn(
                id, title, summary + "; not UTF-8: " + undecodable.map { "\(profile.envFile):\($0)" }.joined(separator: ", "),
                fix: "re-save \(undecodable.count == 1 ? "that line" : "those lines") as UTF-8 (launch keeps them byte for byte)")
        }
        return .ok(id, title, summary)
    }

    /// A variable a compose file needs, where it is first used.
    struct Reference: Sendable, Hashable {
        var name: String
        var location: SourceLocation
        /// Written `${NAME:?…}`: Compose fails without it; otherwise Compose warns and uses a blank.
        var required = false
    }

    /// Every `${VAR}` without a default in the values of `files` (display name, absolute path), first use first.
    /// Keys and comments are not interpolated by Compose, so they are not looked at.
    static func requiredVariables(files: [(display: String, path: String)]) -> [Reference] {
        var seen: Set<String> = []
        var found: [Reference] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file.path, encoding: .utf8),
                let tree = try? YAMLTree.parse(text, file: file.display)
            else { continue }
            visit(tree) { value, location in
                for reference in Interpolation.references(in: value) where !reference.hasDefault && !reference.name.isEmpty {
                    if seen.insert(reference.name).inserted {
                        found.append(Reference(name: reference.name, location: location, required: reference.isRequired))
                    } else if reference.isRequired, let index = found.firstIndex(where: { $0.name == reference.name }) {
                        found[index].required = true
                    }
                }
            }
        }
        return found
    }

    private static func visit(_ tree: YAMLTree, _ body: (String, SourceLocation) -> Void) {
        switch tree {
        case .scalar(let value, let location): body(value, location)
        case .list(let items, _): items.forEach { visit($0, body) }
        case .map(let entries, _): entries.forEach { visit($0.value, body) }
        case .null: break
        }
    }

    static func variables(
        _ plan: LaunchPlan, layout: ProjectLayout, environment: [String: String], options: PreflightOptions
    ) -> CheckResult {
        let id = "env.variables", title = "Compose variables"
        let profile = plan.profile
        let files = plan.composeFiles.map { (display: $0, path: layout.path($0)) }
        let required = requiredVariables(files: files)
        let envValues =
            (try? String(contentsOfFile: layout.path(profile.envFile), encoding: .utf8))
            .map { EnvFile(parsing: $0).values } ?? [:]
        // Compose's own .env beside the first compose file is read too (launch passes it before the profile's).
        let dotEnv = files.first.map { ($0.path as NSString).deletingLastPathComponent + "/.env" }
        let baseValues = dotEnv.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.map { EnvFile(parsing: $0).values } ?? [:]
        var provided = Set(envValues.keys).union(environment.keys).union(baseValues.keys)
        if options.envFileWillBeCreated {
            provided.formUnion(profile.variables.map(\.key))
            provided.formUnion(profile.secrets.map(\.key))
        }
        let missing = required.filter { !provided.contains($0.name) }
        if missing.isEmpty {
            return .ok(
                id, title,
                required.isEmpty
                    ? "the compose files use no variables without defaults"
                    : "all \(required.count) variables without defaults are set")
        }
        // Compose is the authority: it refuses only `${NAME:?}`; anything else it warns about and leaves blank.
        let fatal = missing.filter(\.required)
        let blank = missing.filter { !$0.required }
        func listed(_ references: [Reference]) -> String { references.map { "\($0.name) (\($0.location))" }.joined(separator: ", ") }
        let fix =
            "add \(missing.map(\.name).joined(separator: ", ")) to \(profile.envFile) (or export \(missing.count == 1 ? "it" : "them")); "
            + "for generated values declare them under `secrets:` in \(profile.sourceFile)"
        if !fatal.isEmpty {
            let also = blank.isEmpty ? "" : "; blank (Compose warns): \(listed(blank))"
            return .fail(
                id, title, "required (${NAME:?}) but not set by \(profile.envFile) or the environment: \(listed(fatal))\(also)", fix: fix)
        }
        return .warn(id, title, "not set, so Compose uses a blank string: \(listed(blank))", fix: fix)
    }
}
