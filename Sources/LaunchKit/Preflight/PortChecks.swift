import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every host port the resolved stack publishes: free, published by this project's own containers, or held by
/// something else — named where the engine or /proc tells.
enum PortChecks {
    /// One host port, with every service that wants it.
    struct Wanted: Sendable, Hashable {
        var hostIP: String
        var port: Int
        var proto: String
        var services: [String]

        var id: String {
            let ip = hostIP.isEmpty || hostIP == "0.0.0.0" ? "" : hostIP + ":"
            return "port.\(ip)\(port)" + (proto == "tcp" ? "" : "/\(proto)")
        }
        var title: String { "port \(port)" + (proto == "tcp" ? "" : "/\(proto)") + " (\(services.joined(separator: ", ")))" }
    }

    /// Published ports grouped by address; `0` (an ephemeral port the engine picks) needs no check.
    static func wanted(_ stack: ComposeStack) -> [Wanted] {
        var order: [String] = []
        var byKey: [String: Wanted] = [:]
        for (service, port) in stack.publishedPorts where port.published > 0 {
            let ip = port.hostIP == "0.0.0.0" ? "" : port.hostIP
            let key = "\(ip)|\(port.published)|\(port.proto)"
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = Wanted(hostIP: ip, port: port.published, proto: port.proto, services: [])
            }
            if byKey[key]?.services.contains(service) == false { byKey[key]?.services.append(service) }
        }
        return order.compactMap { byKey[$0] }.sorted { ($0.port, $0.hostIP) < ($1.port, $1.hostIP) }
    }

    static func check(_ wanted: Wanted, project: String, facts: EngineFacts, proc: ProcFS) -> CheckResult {
        let id = wanted.id, title = wanted.title
        let service = wanted.services.joined(separator: " and ")
        let elsewhere = "publish \(service) on another host port (its `ports:` in the compose file)"
        if wanted.services.count > 1 {
            return .fail(
                id, title,
                "\(service) \(wanted.services.count == 2 ? "both" : "all") publish host port \(wanted.port): only one can have it",
                fix: "give each service its own host port in the compose files")
        }
        guard facts.isLocal || !facts.reachable else {
            return .skip(id, title, "the engine at \(facts.endpoint) is remote: ports are published on that host")
        }
        let publishers = (facts.runningContainers ?? []).filter { container in
            container.ports.contains { $0.publicPort == wanted.port && $0.type == wanted.proto }
        }
        if let own = publishers.first(where: { $0.labels[ComposeLabels.project] == project }) {
            return .ok(id, title, "published by this project's own container \(own.name)")
        }
        if let other = publishers.first {
            let owner = other.labels[ComposeLabels.project].map { " (compose project \($0))" } ?? ""
            return .fail(
                id, title, "\(service) wants port \(wanted.port), held by another container: \(other.name)\(owner)",
                fix: "stop it (`docker stop \(other.name)`) or \(elsewhere)")
        }
        switch PortProbe.bind(host: wanted.hostIP, port: wanted.port, proto: wanted.proto) {
        case .free:
            return .ok(id, title, "free")
        case .inUse:
            return .fail(
                id, title, "\(service) wants port \(wanted.port), \(holderText(wanted, proc: proc))",
                fix: "stop that process or \(elsewhere)")
        case .permissionDenied:
            // Ports below 1024 need root to bind; Docker binds them itself, so only a listener is a conflict.
            if wanted.proto == "tcp", proc.listeningSockets().contains(where: { $0.port == wanted.port }) {
                return .fail(
                    id, title, "\(service) wants port \(wanted.port), \(holderText(wanted, proc: proc))",
                    fix: "stop that process or \(elsewhere)")
            }
            return .ok(id, title, "free (privileged port: nothing listens on it)")
        case .notLocalAddress:
            return .fail(
                id, title, "\(service) publishes on \(wanted.hostIP), which is not an address of this machine",
                fix: "use an address this machine has (`ip addr`), or publish on all interfaces")
        case .failed(let code):
            return .warn(
                id, title, "could not test port \(wanted.port): \(String(cString: strerror(code)))",
                fix: "check it by hand: `ss -ltnp 'sport = :\(wanted.port)'`")
        }
    }

    /// "held by python3 (pid 4242)", or why the holder cannot be named.
    static func holderText(_ wanted: Wanted, proc: ProcFS) -> String {
        let inodes = Set(proc.listeningSockets().filter { $0.port == wanted.port }.map(\.inode))
        let holders = proc.holders(ofSocketInodes: inodes)
        if !holders.isEmpty {
            return "held by " + holders.map(\.description).joined(separator: ", ")
        }
        return "held by a process this user cannot see (`sudo ss -ltnp 'sport = :\(wanted.port)'` names it)"
    }
}

/// Tries to bind a port the way the engine will, and lets go at once.
enum PortProbe {
    enum Outcome: Sendable, Equatable {
        case free, inUse, permissionDenied, notLocalAddress
        case failed(Int32)
    }

    static func bind(host: String, port: Int, proto: String) -> Outcome {
        guard let port = UInt16(exactly: port), port > 0 else { return .failed(EINVAL) }
        let udp = proto == "udp"
        let kind = udp ? Platform.datagramSocket : Platform.streamSocket
        var v4 = in_addr(), v6 = in6_addr()
        let address = host.isEmpty ? "0.0.0.0" : host
        let family: Int32
        if inet_pton(AF_INET, address, &v4) == 1 {
            family = AF_INET
        } else if inet_pton(AF_INET6, address, &v6) == 1 {
            family = AF_INET6
        } else {
            return .notLocalAddress
        }
        let descriptor = Platform.socket(family, kind)
        guard descriptor >= 0 else { return .failed(errno) }
        defer { close(descriptor) }
        if !udp {
            // Ignores sockets in TIME_WAIT, as the engine's own bind does; a listener still conflicts.
            var on: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let result: Int32
        if family == AF_INET {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(port.bigEndian)
            socketAddress.sin_addr = v4
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Platform.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = in_port_t(port.bigEndian)
            socketAddress.sin6_addr = v6
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Platform.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard result != 0 else { return .free }
        switch errno {
        case EADDRINUSE: return .inUse
        case EACCES, EPERM: return .permissionDenied
        case EADDRNOTAVAIL: return .notLocalAddress
        case let code: return .failed(code)
        }
    }
}
