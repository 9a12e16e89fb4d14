import Foundation

/// Which Compose profiles a launch activates, and why.
///
/// Compose starts a service under `profiles:` only when one of its profiles is active. An environment that names
/// such a service in its `services:` lists means to run it, so its profile is activated (and the plan says so),
/// instead of the service silently not existing. Everything else behind an inactive profile stays off.
public struct ComposeProfileSelection: Sendable, Hashable, Encodable {
    /// Every profile passed to Compose (`--profile`), in order, without repeats.
    public var active: [String]
    /// Profiles activated only because the environment names a service in them: `(service, profile)`.
    public var activations: [Activation]

    public struct Activation: Sendable, Hashable, Encodable {
        public var service: String
        public var profile: String
    }

    /// `requested`: `COMPOSE_PROFILES`, `compose.profiles` and `--profile`, in that order. `named`: the services
    /// the environment lists. `serviceProfiles`: each service's `profiles:` as its compose files write them.
    public static func decide(requested: [String], named: [String], serviceProfiles: [String: [String]]) -> ComposeProfileSelection {
        var active: [String] = []
        for profile in requested where !profile.isEmpty && !active.contains(profile) { active.append(profile) }
        var activations: [Activation] = []
        for service in named {
            guard let profiles = serviceProfiles[service], let first = profiles.first else { continue }
            if active.contains("*") || profiles.contains(where: active.contains) { continue }
            active.append(first)
            activations.append(Activation(service: service, profile: first))
        }
        return ComposeProfileSelection(active: active, activations: activations)
    }

    /// `COMPOSE_PROFILES=a,b` as Compose splits it.
    public static func split(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Compose files as Compose reads them: each file followed by the files its `include:` pulls in (Compose 2.20+),
/// paths relative to the including file's directory.
public enum ComposeFileSet {
    /// `files` with every included file after its includer, recursively, each once.
    public static func expandingIncludes(_ files: [String]) -> [String] {
        var result: [String] = []
        func visit(_ path: String) {
            let normalized = (path as NSString).standardizingPath
            guard !result.contains(normalized) else { return }
            result.append(normalized)
            for included in includes(of: normalized) { visit(included) }
        }
        files.forEach(visit)
        return result
    }

    /// The absolute paths a file's `include:` names: `- other.yml`, `- path: other.yml` or `- path: [a.yml, b.yml]`.
    public static func includes(of path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let tree = try? YAMLTree.parse(text, file: path), case .list(let items, _)? = tree["include"]
        else { return [] }
        let directory = (path as NSString).deletingLastPathComponent
        return items.flatMap { item -> [String] in
            let named: [String]
            switch item {
            case .scalar(let text, _): named = [text]
            case .map:
                switch item["path"] {
                case .scalar(let text, _)?: named = [text]
                case .list(let paths, _)?: named = paths.compactMap { if case .scalar(let text, _) = $0 { text } else { nil } }
                default: named = []
                }
            default: named = []
            }
            return named.map { $0.hasPrefix("/") ? $0 : directory + "/" + $0 }
        }
    }

    /// The paths a file's services name under `env_file:` (`a.env`, `[a.env, b.env]`, `[{path: a.env}]`), absolute.
    public static func envFiles(of path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let tree = try? YAMLTree.parse(text, file: path), case .map(let services, _)? = tree["services"]
        else { return [] }
        let directory = (path as NSString).deletingLastPathComponent
        func named(_ item: YAMLTree) -> [String] {
            switch item {
            case .scalar(let text, _): [text]
            case .list(let items, _): items.flatMap(named)
            case .map: item["path"].map(named) ?? []
            case .null: []
            }
        }
        return services.flatMap { service in service.value["env_file"].map(named) ?? [] }
            .map { $0.hasPrefix("/") ? $0 : directory + "/" + $0 }
    }

    /// Each service's `profiles:` in the raw files (and what they include): `docker compose config` leaves out the
    /// services of inactive profiles, so only the files can say which profile a named service needs.
    public static func serviceProfiles(_ files: [String]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for path in expandingIncludes(files) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let tree = try? YAMLTree.parse(text, file: path), case .map(let services, _)? = tree["services"]
            else { continue }
            for service in services {
                guard case .list(let items, _)? = service.value["profiles"] else { continue }
                result[service.key] = items.compactMap { if case .scalar(let text, _) = $0 { text } else { nil } }
            }
        }
        return result
    }
}
