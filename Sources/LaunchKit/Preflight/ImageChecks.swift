/// Images the stack pulls: present locally, or the pull `launch` will do — and whether the registry answers.
enum ImageChecks {
    /// Where an image reference is pulled from, as a TCP endpoint.
    struct Registry: Sendable, Hashable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { port == 443 ? host : "\(host):\(port)" }
    }

    /// Docker's rule: the first path component is a registry when it has a `.` or `:`, or is `localhost`;
    /// everything else (`nginx`, `vllm/vllm-openai`) comes from Docker Hub, served by registry-1.docker.io.
    static func registry(for reference: String) -> Registry {
        let parts = reference.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return Registry(host: "registry-1.docker.io", port: 443) }
        let first = String(parts[0])
        guard first.contains(".") || first.contains(":") || first == "localhost" else {
            return Registry(host: "registry-1.docker.io", port: 443)
        }
        if ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(first) {
            return Registry(host: "registry-1.docker.io", port: 443)
        }
        if let colon = first.lastIndex(of: ":"), !first.hasSuffix("]"), let port = Int(first[first.index(after: colon)...]) {
            return Registry(host: String(first[..<colon]), port: port)
        }
        return Registry(host: first, port: 443)
    }

    /// Images that are pulled (not built), each with the services using it, in a stable order.
    static func pulled(_ stack: ComposeStack) -> [(image: String, services: [String])] {
        var order: [String] = []
        var services: [String: [String]] = [:]
        for service in stack.services where !service.builds {
            guard let image = service.image, !image.isEmpty else { continue }
            if services[image] == nil { order.append(image) }
            services[image, default: []].append(service.name)
        }
        return order.map { ($0, services[$0] ?? []) }
    }

    /// What is known about one missing image's registry.
    enum Reachability: Sendable, Equatable {
        case notChecked
        case reachable(milliseconds: Int)
        case unreachable(String)
    }

    static func check(image: String, services: [String], present: Bool?, registry: Registry, reachability: Reachability)
        -> CheckResult
    {
        let id = "image.\(image)", title = "image of \(services.joined(separator: ", "))"
        switch (present, reachability) {
        case (true?, _):
            return .ok(id, title, "\(image) is present locally")
        case (nil, _):
            return .skip(id, title, "could not ask the engine whether \(image) is present")
        case (false?, .notChecked):
            return .warn(
                id, title, "\(image) is not present locally: launch will pull it from \(registry) (registry not tested: --no-network)",
                fix: "pull it ahead of time (`docker pull \(image)`) so the launch does not wait for it")
        case (false?, .reachable(let milliseconds)):
            return .ok(id, title, "\(image) is not present locally: launch will pull it from \(registry) (reachable, \(milliseconds)ms)")
        case (false?, .unreachable(let reason)):
            return .fail(
                id, title, "\(image) is not present locally and \(registry) is unreachable (\(reason))",
                fix: "give this machine a route to \(registry) (proxy, VPN), or bring the image over: "
                    + "`docker save \(image)` where it exists, `docker load` here; or, " + Launcher.noRegistryHint(missing: [image]))
        }
    }

    static func reachability(_ outcome: TCPProbe.Outcome, timeout: Duration) -> Reachability {
        switch outcome {
        case .connected(let milliseconds): .reachable(milliseconds: milliseconds)
        case .refused: .unreachable("connection refused")
        case .timedOut: .unreachable("no answer within \(DurationText.format(timeout))")
        case .unresolvable(let reason): .unreachable("does not resolve: \(reason)")
        case .unreachable(let reason): .unreachable(reason)
        }
    }

    /// `:latest`, `:main` and no tag at all name whatever was pushed last: the next pull may run something else.
    static func isFloating(_ reference: String) -> Bool {
        guard !reference.contains("@") else { return false }
        let lastComponent = reference.split(separator: "/").last.map(String.init) ?? reference
        guard let colon = lastComponent.lastIndex(of: ":") else { return true }
        return ["latest", "main", "master", "nightly", "edge"].contains(String(lastComponent[lastComponent.index(after: colon)...]))
    }

    /// One entry per floating image, with the services that use it (a 40-service stack on one `:latest` image is one
    /// line, not forty).
    static func floatingTags(_ stack: ComposeStack) -> CheckResult? {
        var users: [(image: String, services: [String])] = []
        for service in stack.services where !service.builds {
            guard let image = service.image, isFloating(image) else { continue }
            if let index = users.firstIndex(where: { $0.image == image }) {
                users[index].services.append(service.name)
            } else {
                users.append((image, [service.name]))
            }
        }
        guard !users.isEmpty else { return nil }
        let listed = users.map { image, services in
            let named = services.prefix(3).joined(separator: ", ")
            return "\(image) (\(services.count > 3 ? "\(named) and \(services.count - 3) more" : named))"
        }
        return .warn(
            "images.tags", "image tags", "floating tags: \(listed.joined(separator: ", ")): a later pull may run different code",
            fix: "pin a version tag or a digest (`image@sha256:…`)")
    }
}

/// `container_name:` is one name per engine: a container of another project (or none) holding it makes Compose fail
/// at create, after images were pulled.
enum ContainerNameChecks {
    /// `lines`: `docker ps` output of `Docker.containersNamed`, `name<TAB>project`.
    static func check(service: String, name: String, project: String, lines: String?) -> CheckResult {
        let id = "container-name.\(name)", title = "container_name of \(service)"
        guard let lines else { return .skip(id, title, "could not ask the engine which containers exist") }
        let holder = lines.split(whereSeparator: \.isNewline).map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
            .first { $0.first.map(String.init) == name }
        guard let holder else { return .ok(id, title, "\(name) is free") }
        let owner = holder.count > 1 ? String(holder[1]) : ""
        if owner == project { return .ok(id, title, "\(name) is this project's own container (Compose replaces it)") }
        let described = owner.isEmpty ? "a container outside any compose project" : "a container of compose project `\(owner)`"
        return .fail(
            id, title, "container name \(name) is already held by \(described)",
            fix: owner.isEmpty
                ? "remove it (`docker rm -f \(name)`) or change container_name of \(service)"
                : "stop that project (`docker compose -p \(owner) down`), or change container_name of \(service)")
    }
}
