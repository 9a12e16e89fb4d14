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
                    + "`docker save \(image)` where it exists, `docker load` here; or, " + Launcher.quickstartHint)
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
}
