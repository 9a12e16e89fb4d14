import Foundation

/// Reads `environments/*.yml`, applies `extends`, and validates each profile against the schema and the
/// compose files it names. Every problem is collected with its file and line.
struct ProfileLoader {
    let layout: ProjectLayout

    static let topLevelKeys = [
        "name", "aliases", "summary", "extends", "compose", "env_file", "variables", "secrets", "gpu", "services",
        "requires", "health", "cleanup", "urls", "preflight", "engine", "watch",
    ]
    /// More levels of `extends` than any hand-written set of environments uses.
    static let deepestExtends = 32
    /// Identity keys describe one file and are not inherited through `extends`.
    static let identityKeys: Set<String> = ["name", "aliases", "summary", "extends"]

    func loadAll() -> ProfileCatalog {
        let files = profileFiles()
        var trees: [String: Result<YAMLTree, ConfigurationError>] = [:]
        for (name, path) in files {
            let display = layout.display(path)
            switch TextFile.read(path, display: display) {
            case .failure(let error): trees[name] = .failure(error)
            case .success(let text):
                do throws(ConfigurationError) {
                    trees[name] = .success(try YAMLTree.parse(text, file: display))
                } catch {
                    trees[name] = .failure(error)
                }
            }
        }
        var composeServices = ComposeServiceIndex(layout: layout)
        var entries: [ProfileCatalog.Entry] = []
        for (name, path) in files {
            let display = layout.display(path)
            let result: Result<Profile, ConfigurationError>
            switch resolveExtends(name, trees: trees, chain: []) {
            case .failure(let error): result = .failure(error)
            case .success(let merged):
                result = decode(name: name, file: display, merged: merged, services: &composeServices)
            }
            entries.append(.init(name: name, file: display, result: result))
        }
        return ProfileCatalog(layout: layout, entries: entries, sharedProblems: aliasClashes(entries) + sameNames(entries))
    }

    private func profileFiles() -> [(String, String)] {
        let directory = layout.environmentsDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map { file in
            ((file as NSString).deletingPathExtension, (directory as NSString).appendingPathComponent(file))
        }
    }

    /// The profile's own tree merged over its ancestors', identity keys excluded from inheritance.
    private func resolveExtends(
        _ name: String, trees: [String: Result<YAMLTree, ConfigurationError>], chain: [String]
    ) -> Result<YAMLTree, ConfigurationError> {
        guard let own = trees[name] else {
            return .failure(ConfigurationError([]))
        }
        guard case .success(let tree) = own else { return own }
        guard let parentTree = tree["extends"], case .scalar(let parent, let location) = parentTree else {
            return .success(tree)
        }
        if chain.count >= Self.deepestExtends {
            // Each level merges the whole tree again: a generated chain of thousands would take minutes.
            return .failure(
                ConfigurationError([
                    ConfigProblem(
                        location, "`extends` chains more than \(Self.deepestExtends) profiles deep",
                        hint: "extend a common base instead of a long chain")
                ]))
        }
        if chain.contains(parent) || parent == name {
            let cycle = (chain + [name, parent]).drop { $0 != parent }.joined(separator: " -> ")
            return .failure(
                ConfigurationError([
                    ConfigProblem(location, "`extends` cycle: \(cycle)", hint: "remove `extends` from one of these profiles")
                ]))
        }
        guard trees[parent] != nil else {
            let suggestion = Text.suggestion(for: parent, among: trees.keys)
            return .failure(
                ConfigurationError([
                    ConfigProblem(
                        location, "`extends: \(parent)` names no profile in environments/",
                        hint: suggestion.map { "did you mean `\($0)`?" })
                ]))
        }
        switch resolveExtends(parent, trees: trees, chain: chain + [name]) {
        case .failure(let error):
            return .failure(error)
        case .success(let base):
            guard case .map(let entries, let location) = base else { return .success(tree) }
            let inheritable = entries.filter { !Self.identityKeys.contains($0.key) }.map { entry in
                entry.key == "services" ? Self.withoutReclassified(entry, by: tree["services"]) : entry
            }
            return .success(tree.merged(over: .map(inheritable, location)))
        }
    }

    /// A service the child lists in any class leaves every class it inherited, so a child can move
    /// `web` from optional to core without listing the whole map again.
    static func withoutReclassified(_ inherited: YAMLTree.Entry, by own: YAMLTree?) -> YAMLTree.Entry {
        guard case .map(let ownClasses, _)? = own, case .map(let classes, let location) = inherited.value else {
            return inherited
        }
        let moved = Set(
            ownClasses.flatMap { entry -> [String] in
                guard case .list(let items, _) = entry.value else { return [] }
                return items.compactMap { if case .scalar(let name, _) = $0 { name } else { nil } }
            })
        let filtered = classes.map { entry -> YAMLTree.Entry in
            guard case .list(let items, let listLocation) = entry.value else { return entry }
            let kept = items.filter { if case .scalar(let name, _) = $0 { !moved.contains(name) } else { true } }
            return YAMLTree.Entry(key: entry.key, keyLocation: entry.keyLocation, value: .list(kept, listLocation))
        }
        return YAMLTree.Entry(key: inherited.key, keyLocation: inherited.keyLocation, value: .map(filtered, location))
    }

    private func decode(
        name: String, file: String, merged tree: YAMLTree, services index: inout ComposeServiceIndex
    ) -> Result<Profile, ConfigurationError> {
        var reader = TreeReader()
        let top = SourceLocation(file: file, line: 1)
        guard case .map = tree else {
            return .failure(ConfigurationError([ConfigProblem(top, "a profile must be a mapping of keys like `name:` and `compose:`")]))
        }
        _ = reader.map(tree, "the profile", allowed: Self.topLevelKeys)

        checkName(name, tree, top: top, reader: &reader)
        let (project, files, composeProfiles) = decodeCompose(tree["compose"], name: name, top: top, reader: &reader)
        let envFile = decodeEnvFile(tree["env_file"], name: name, composeFiles: files, reader: &reader)
        let (variables, secrets) = decodeValues(tree, reader: &reader)
        let gpu = decodeGPU(tree["gpu"], top: top, reader: &reader)
        let classes = decodeClasses(tree["services"], reader: &reader)
        let known = index.services(in: files + [gpu.dual, gpu.single, gpu.none].compactMap { $0 })
        for problem in index.expansionProblems(in: files + [gpu.dual, gpu.single, gpu.none].compactMap { $0 }) {
            reader.fail(problem.location, problem.message, hint: problem.hint)
        }
        checkServiceNames(tree["services"], classes: classes, known: known, reader: &reader)

        let requires = decodeRequirements(tree["requires"], reader: &reader)
        let health = decodeHealth(tree["health"], reader: &reader)
        _ = reader.map(tree["cleanup"], "cleanup", allowed: ["reclaimable_percent"])
        let cleanup = Profile.CleanupPolicy(
            reclaimablePercent: reader.double(tree["cleanup"]?["reclaimable_percent"], "cleanup.reclaimable_percent", range: 0...100) ?? 30)

        let urls = reader.map(tree["urls"], "urls").compactMap { entry in
            reader.string(entry.value, "urls.\(entry.key)").map { Profile.NamedURL(name: entry.key, url: $0) }
        }
        let preflight = PreflightSpecReader.read(tree["preflight"], reader: &reader)

        let engine = decodeEngine(tree["engine"], reader: &reader)
        let watch = decodeWatch(tree["watch"], known: known, reader: &reader)
        // Read before the verdict, so a list where one name belongs (or a map) is a problem, not silently nothing.
        let aliases = reader.strings(tree["aliases"], "aliases") ?? []
        let summary = reader.string(tree["summary"], "summary") ?? ""
        let extends = reader.string(tree["extends"], "extends")
        guard reader.problems.isEmpty else { return .failure(ConfigurationError(reader.problems)) }
        return .success(
            Profile(
                name: name,
                aliases: aliases,
                summary: summary,
                extends: extends,
                compose: .init(project: project, files: files, profiles: composeProfiles),
                envFile: envFile, variables: variables, secrets: secrets, gpu: gpu, services: classes,
                requires: requires, health: health, cleanup: cleanup, urls: urls, preflight: preflight,
                sourceFile: file, engine: engine, watch: watch))
    }

    /// `name:` must be there and agree with the file's name.
    private func checkName(_ name: String, _ tree: YAMLTree, top: SourceLocation, reader: inout TreeReader) {
        let declaredName = reader.string(tree["name"], "name")
        if let declaredName, declaredName != name, let location = tree["name"]?.location {
            reader.fail(location, "name `\(declaredName)` differs from the file name `\(name)`", hint: "set `name: \(name)`")
        } else if declaredName == nil && tree["name"] == nil {
            reader.fail(top, "missing `name`", hint: "add `name: \(name)` as the first line")
        }
    }

    /// `compose:`: the project name, its files (checked as files) and the Compose profiles it turns on.
    private func decodeCompose(_ composeTree: YAMLTree?, name: String, top: SourceLocation, reader: inout TreeReader)
        -> (project: String, files: [String], profiles: [String])
    {
        let composeEntries = reader.map(composeTree, "compose", allowed: ["project", "files", "profiles"])
        let project = reader.string(composeTree?["project"], "compose.project") ?? ""
        let files = reader.strings(composeTree?["files"], "compose.files") ?? []
        let composeProfiles = reader.strings(composeTree?["profiles"], "compose.profiles") ?? []
        for name in composeProfiles where !Profile.isComposeProfileName(name) {
            // Passed on as `--profile <name>`: `-x` would read as a flag of docker's own.
            reader.fail(
                composeTree?["profiles"]?.location ?? top, "compose.profiles: `\(name)` is not a Compose profile name",
                hint: "start with a letter or digit; then letters, digits, _ . -")
        }
        if composeEntries.isEmpty || composeTree?["project"] == nil {
            reader.fail(composeTree?.location ?? top, "missing `compose.project`", hint: "add `project: \(name)` under `compose:`")
        } else if !Profile.isProjectName(project),
            let location = composeTree?["project"]?.location
        {
            reader.fail(
                location, "compose.project `\(project)` is not a valid compose project name",
                hint: "use lowercase letters, digits, `-` and `_`, starting with a letter or digit")
        }
        if files.isEmpty {
            reader.fail(composeTree?.location ?? top, "missing `compose.files`", hint: "list the compose files under compose/ in order")
        }
        checkComposeFiles(files, at: composeTree?["files"], reader: &reader)
        return (project, files, composeProfiles)
    }

    /// `env_file:`: inside the project, and never one of launch's own files (secrets would be appended to it).
    private func decodeEnvFile(_ tree: YAMLTree?, name: String, composeFiles files: [String], reader: inout TreeReader) -> String {
        let envFile = reader.string(tree, "env_file") ?? ".env.\(name)"
        if envFile.hasPrefix("/") || envFile.contains(".."), let location = tree?.location {
            reader.fail(
                location, "env_file must be a path inside the project", hint: "write it relative to the project root, like .env.\(name)")
        } else if let location = tree?.location, let clash = Self.ownFile(envFile, composeFiles: files, layout: layout) {
            // Secrets would be appended to it, its mode set to 0600 and its name ignored by git.
            reader.fail(location, "env_file names \(clash), which launch itself reads", hint: "use a file of its own, like .env.\(name)")
        } else if let location = tree?.location, let kind = Self.sourceFileKind(envFile) {
            reader.fail(
                location, "env_file names \(kind) (`\(envFile)`), not an env file: secrets would be appended to it",
                hint: "use a file of its own, like .env.\(name)")
        }
        return envFile
    }

    /// A file that is plainly source, not an env file: a Dockerfile, a compose or other YAML/JSON file, code.
    static func sourceFileKind(_ path: String) -> String? {
        let name = (path as NSString).lastPathComponent
        if ["dockerfile", "containerfile"].contains(name.lowercased()) || name.lowercased().hasSuffix(".dockerfile") {
            return "a Dockerfile"
        }
        let sources = ["yml", "yaml", "json", "toml", "swift", "py", "js", "ts", "go", "rs", "rb", "java", "sh", "md", "lock"]
        let ext = (name as NSString).pathExtension.lowercased()
        return sources.contains(ext) ? "a .\(ext) file" : nil
    }

    /// `variables:` and `secrets:`, each name a valid variable name.
    private func decodeValues(_ tree: YAMLTree, reader: inout TreeReader) -> ([Profile.Variable], [Profile.SecretSpec]) {
        let variables = reader.map(tree["variables"], "variables").compactMap { entry -> Profile.Variable? in
            guard checkVariableName(entry, &reader) else { return nil }
            return reader.string(entry.value, "variables.\(entry.key)").map { .init(key: entry.key, value: $0) }
        }
        let secrets = reader.map(tree["secrets"], "secrets").compactMap { entry -> Profile.SecretSpec? in
            guard checkVariableName(entry, &reader) else { return nil }
            _ = reader.map(entry.value, "secrets.\(entry.key)", allowed: ["length", "prefix"])
            let length = reader.int(entry.value["length"], "secrets.\(entry.key).length", range: 8...4096) ?? 32
            let prefix = reader.string(entry.value["prefix"], "secrets.\(entry.key).prefix") ?? ""
            return .init(key: entry.key, length: length, prefix: prefix)
        }
        return (variables, secrets)
    }

    private func decodeRequirements(_ requiresTree: YAMLTree?, reader: inout TreeReader) -> Profile.Requirements {
        _ = reader.map(requiresTree, "requires", allowed: ["memory", "disk", "paths", "gpu_memory"])
        return Profile.Requirements(
            memory: reader.size(requiresTree?["memory"], "requires.memory"),
            disk: reader.size(requiresTree?["disk"], "requires.disk"),
            paths: reader.strings(requiresTree?["paths"], "requires.paths") ?? [],
            gpuMemory: reader.size(requiresTree?["gpu_memory"], "requires.gpu_memory"))
    }

    private func decodeEngine(_ tree: YAMLTree?, reader: inout TreeReader) -> Orchestration {
        var engine = Orchestration.compose
        if let text = reader.string(tree, "engine") {
            if let known = Orchestration(rawValue: text) {
                engine = known
            } else if let location = tree?.location {
                reader.fail(location, "engine `\(text)` is not known", hint: "use `compose` (the default) or `swarm`")
            }
        }
        return engine
    }

    /// Health settings, each within the range that can work: a zero timeout fails every service at once, a
    /// backoff beyond a day is a typo that would hold a launch (and its containers) hostage, and a stability
    /// window as long as the timeout means no service without a healthcheck could ever become ready.
    private func decodeHealth(_ tree: YAMLTree?, reader: inout TreeReader) -> Profile.HealthPolicy {
        _ = reader.map(tree, "health", allowed: ["timeout", "retries", "backoff", "require_healthcheck", "stability"])
        let defaults = Profile.HealthPolicy.defaults
        // `learned`: from the run history (p95 × a margin, floor and cap); otherwise a positive duration.
        var learned = false
        if case .scalar("learned", _) = tree?["timeout"] { learned = true }
        let timeout = learned ? nil : reader.duration(tree?["timeout"], "health.timeout", positive: true)
        let stability = reader.duration(tree?["stability"], "health.stability") ?? defaults.stability
        if let timeout, stability >= timeout, let location = tree?["stability"]?.location ?? tree?["timeout"]?.location {
            reader.fail(
                location,
                "health.stability (\(DurationText.format(stability))) must be shorter than health.timeout (\(DurationText.format(timeout)))",
                hint: "a service without a healthcheck would time out before it counts as ready: lower one or raise the other")
        }
        return Profile.HealthPolicy(
            timeout: timeout,
            retries: reader.int(tree?["retries"], "health.retries", range: 0...Profile.HealthPolicy.mostRetries)
                ?? defaults.retries,
            backoff: reader.duration(tree?["backoff"], "health.backoff", atMost: Profile.HealthPolicy.longestBackoff)
                ?? defaults.backoff,
            requireHealthcheck: reader.bool(tree?["require_healthcheck"], "health.require_healthcheck")
                ?? defaults.requireHealthcheck,
            stability: stability, learnedTimeout: learned)
    }

    /// `watch:`: each name in `restart` is a service of the stack or a class; the budget within bounds that can work.
    private func decodeWatch(_ tree: YAMLTree?, known: Set<String>?, reader: inout TreeReader) -> Profile.WatchPolicy {
        _ = reader.map(tree, "watch", allowed: ["restart", "max", "window", "backoff"])
        let defaults = Profile.WatchPolicy.defaults
        let restart = reader.strings(tree?["restart"], "watch.restart") ?? []
        let classNames = ServiceClass.allCases.map(\.rawValue)
        if let known, case .list(let items, _) = tree?["restart"] {
            for case .scalar(let name, let location) in items where !classNames.contains(name) && !known.contains(name) {
                reader.fail(
                    location, "watch.restart names `\(name)`, which is neither a service of the stack nor a class",
                    hint: Text.suggestion(for: name, among: known.sorted() + classNames).map { "did you mean `\($0)`?" }
                        ?? "name services of the compose files, or core / optional / stretch")
            }
        }
        return Profile.WatchPolicy(
            restart: restart,
            max: reader.int(tree?["max"], "watch.max", range: 1...Profile.WatchPolicy.mostRestarts) ?? defaults.max,
            window: reader.duration(tree?["window"], "watch.window", positive: true) ?? defaults.window,
            backoff: reader.duration(tree?["backoff"], "watch.backoff", atMost: Profile.HealthPolicy.longestBackoff)
                ?? defaults.backoff)
    }

    private func checkVariableName(_ entry: YAMLTree.Entry, _ reader: inout TreeReader) -> Bool {
        guard entry.key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            reader.fail(entry.keyLocation, "`\(entry.key)` is not a valid variable name", hint: "use letters, digits and _")
            return false
        }
        return true
    }

    /// Whether `path` (symlinks and `..` resolved) lies under `root` (resolved the same way).
    static func isInside(_ path: String, root: String) -> Bool {
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let base = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        return resolved == base || resolved.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    private func checkComposeFiles(_ files: [String], at tree: YAMLTree?, reader: inout TreeReader) {
        let items: [YAMLTree] = if case .list(let items, _) = tree { items } else { [] }
        for (offset, file) in files.enumerated() {
            let location = offset < items.count ? items[offset].location : (tree?.location ?? SourceLocation(file: "", line: 0))
            let path = layout.composeFile(file)
            // Neither launch nor Compose is handed a FIFO, a device (/dev/zero never ends) or a huge file.
            if FileManager.default.fileExists(atPath: path), let problem = TextFile.standingProblem(path, location: location) {
                for found in problem.problems { reader.fail(location, "compose file `\(file)` \(found.message)", hint: found.hint) }
                continue
            }
            // A relative path is the project's own file: `../../etc/passwd` must not reach Compose. An absolute path is
            // taken as written (documented: a compose file kept elsewhere on purpose).
            if !file.hasPrefix("/"), !Self.isInside(path, root: layout.root) {
                reader.fail(
                    location, "compose file `\(file)` resolves outside the project (\(layout.root))",
                    hint: "keep compose files under compose/; write an absolute path if you mean a file elsewhere on purpose")
                continue
            }
            if FileManager.default.fileExists(atPath: path) { continue }
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: layout.composeDirectory)) ?? []
            let suggestion = Text.suggestion(for: file, among: existing)
            reader.fail(
                location, "compose file `compose/\(file)` does not exist",
                hint: suggestion.map { "did you mean `\($0)`?" } ?? "add the file to compose/ or remove it from the list")
        }
    }

    private func decodeGPU(_ tree: YAMLTree?, top: SourceLocation, reader: inout TreeReader) -> Profile.GPUSettings {
        _ = reader.map(tree, "gpu", allowed: ["mode", "dual", "single", "none"])
        var mode = Profile.GPUSettings.Mode.none
        if let text = reader.string(tree?["mode"], "gpu.mode"), let location = tree?["mode"]?.location {
            if let parsed = Profile.GPUSettings.Mode(rawValue: text) {
                mode = parsed
            } else {
                reader.fail(location, "gpu.mode must be required, optional or none, not `\(text)`")
            }
        }
        // `required` never runs the CPU fallback: one inherited through `extends` is dropped, one written in this
        // file contradicts the mode and is refused with its line.
        var none = reader.string(tree?["none"], "gpu.none")
        if mode == .required, none != nil, let location = tree?["none"]?.location {
            if location.file == top.file {
                reader.fail(
                    location, "gpu.none names a CPU overlay, but gpu.mode is required: a required profile never runs without a GPU",
                    hint: "remove `none:`, or set `mode: optional` to allow the CPU fallback")
            }
            none = nil
        }
        let settings = Profile.GPUSettings(
            mode: mode, dual: reader.string(tree?["dual"], "gpu.dual"),
            single: reader.string(tree?["single"], "gpu.single"), none: none)
        for key in ["dual", "single", "none"] {
            if let file = reader.string(tree?[key], "gpu.\(key)"), let location = tree?[key]?.location,
                !FileManager.default.fileExists(atPath: layout.composeFile(file))
            {
                reader.fail(location, "GPU overlay `compose/\(file)` does not exist", hint: "add it to compose/ or remove gpu.\(key)")
            }
        }
        // A required profile without overlays is a stack that reserves its GPUs in its own compose files.
        if mode == .optional && settings.dual == nil && settings.single == nil {
            reader.fail(
                tree?.location ?? top, "gpu.mode is \(mode.rawValue) but no overlay is named",
                hint:
                    "add `single:` and `dual:` overlays, set `mode: required` when the compose files reserve GPUs themselves, or set `mode: none`"
            )
        }
        return settings
    }

    private func decodeClasses(_ tree: YAMLTree?, reader: inout TreeReader) -> Profile.ServiceClasses {
        _ = reader.map(tree, "services", allowed: ["core", "optional", "stretch"])
        return Profile.ServiceClasses(
            core: reader.strings(tree?["core"], "services.core") ?? [],
            optional: reader.strings(tree?["optional"], "services.optional") ?? [],
            stretch: reader.strings(tree?["stretch"], "services.stretch") ?? [])
    }

    private func checkServiceNames(
        _ tree: YAMLTree?, classes: Profile.ServiceClasses, known: Set<String>?, reader: inout TreeReader
    ) {
        var seen: [String: String] = [:]
        for serviceClass in ServiceClass.allCases {
            guard case .list(let items, _) = tree?[serviceClass.rawValue] else { continue }
            for item in items {
                guard case .scalar(let service, let location) = item else { continue }
                if let other = seen[service] {
                    reader.fail(
                        location, "service `\(service)` is listed as both \(other) and \(serviceClass.rawValue)",
                        hint: "keep it in one class")
                }
                seen[service] = serviceClass.rawValue
                if let known, !known.contains(service) {
                    let suggestion = Text.suggestion(for: service, among: known)
                    reader.fail(
                        location, "service `\(service)` is not defined by any of this profile's compose files",
                        hint: suggestion.map { "did you mean `\($0)`?" } ?? "defined services: \(known.sorted().joined(separator: ", "))")
                }
            }
        }
    }

    /// What `envFile` (relative to the project root) would overwrite of the project's own files, if anything.
    static func ownFile(_ envFile: String, composeFiles: [String], layout: ProjectLayout) -> String? {
        let parts = envFile.split(separator: "/").filter { $0 != "." }
        guard let first = parts.first else { return "the project directory" }
        if ["environments", ".launch", ".git"].contains(String(first)) { return "a file under \(first)/" }
        // `compose/.env` is a usual place for one; a YAML file there is some profile's compose file.
        if first == "compose", let last = parts.last, last.hasSuffix(".yml") || last.hasSuffix(".yaml") {
            return "a compose file under compose/"
        }
        if parts == [".gitignore"] { return ".gitignore" }
        let path = layout.path(parts.joined(separator: "/"))
        if let compose = composeFiles.first(where: { layout.composeFile($0) == path }) { return "the compose file \(compose)" }
        return nil
    }

    /// `dev.yml` beside `dev.yaml`: which one `launch dev` means is not for launch to guess.
    private func sameNames(_ entries: [ProfileCatalog.Entry]) -> [ConfigProblem] {
        Dictionary(grouping: entries, by: \.name).values.filter { $0.count > 1 }.flatMap { same in
            same.map { entry in
                ConfigProblem(
                    SourceLocation(file: entry.file, line: 0),
                    "\(same.map(\.file).joined(separator: " and ")) both define the environment `\(entry.name)`",
                    hint: "keep one of them")
            }
        }
    }

    private func aliasClashes(_ entries: [ProfileCatalog.Entry]) -> [ConfigProblem] {
        var owner: [String: String] = [:]
        var problems: [ConfigProblem] = []
        for entry in entries { owner[entry.name] = entry.name }
        for entry in entries {
            for alias in entry.profile?.aliases ?? [] {
                if let other = owner[alias], other != entry.name {
                    problems.append(
                        ConfigProblem(
                            SourceLocation(file: entry.file, line: 0),
                            "alias `\(alias)` is already taken by \(other)", hint: "choose another alias"))
                }
                owner[alias] = entry.name
            }
        }
        return problems
    }
}
