import Foundation

/// The one engine a run talks to: where it is, how to reach it, and why this one.
///
/// Resolved once per command by `EngineEndpoint.resolve` with the Docker CLI's precedence, then used by the
/// Engine API client *and* handed to every `docker`/`docker compose` child (`childEnvironment`), so the engine
/// launch watches is always the engine Compose creates on.
public struct EngineEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Why this endpoint was chosen, in the CLI's order of precedence.
    public enum Source: Sendable, Hashable {
        case hostFlag
        case contextFlag(String)
        case dockerHost
        case dockerContext(String)
        /// `currentContext` in the CLI config (`$DOCKER_CONFIG/config.json`).
        case configContext(String)
        case platformDefault

        var contextName: String? {
            switch self {
            case .contextFlag(let name), .dockerContext(let name), .configContext(let name): name
            case .hostFlag, .dockerHost, .platformDefault: nil
            }
        }
    }

    /// How bytes reach the engine.
    public enum Transport: Sendable, Hashable {
        case unix(path: String)
        /// Plain TCP (no TLS): spoken directly.
        case tcp(host: String, port: Int)
        /// `ssh://` and TLS: the local `docker` CLI dials (`docker system dial-stdio`), launch speaks HTTP over it.
        /// The CLI already owns SSH configuration and TLS material; we do not duplicate either.
        case dialer
    }

    public static let defaultHost = "unix:///var/run/docker.sock"

    public var host: String
    public var source: Source
    public var transport: Transport
    /// TLS is on (DOCKER_TLS_VERIFY / DOCKER_TLS, or a context with TLS material).
    public var usesTLS: Bool

    public init(host: String, source: Source, usesTLS: Bool = false) throws(EngineError) {
        self.host = host
        self.source = source
        self.usesTLS = usesTLS
        self.transport = try Self.transport(for: host, tls: usesTLS)
    }

    /// A local unix socket, as tests and the default engine use.
    public init(socketPath: String, source: Source = .hostFlag) {
        host = "unix://" + socketPath
        self.source = source
        usesTLS = false
        transport = .unix(path: socketPath)
    }

    public var socketPath: String? {
        if case .unix(let path) = transport { return path }
        return nil
    }

    /// Ports are published on the engine's host, and its disk is the engine's: only a unix socket means "here".
    public var isLocal: Bool { socketPath != nil }

    public var description: String { "\(host) (\(origin))" }

    /// Where the endpoint came from, in words a person can act on.
    public var origin: String {
        switch source {
        case .hostFlag: "--host"
        case .contextFlag(let name): "--context \(name)"
        case .dockerHost: "DOCKER_HOST"
        case .dockerContext(let name): "DOCKER_CONTEXT=\(name)"
        case .configContext(let name): "current context \(name)"
        case .platformDefault: "default"
        }
    }

    /// What every `docker`/`docker compose` child gets so that it resolves exactly this endpoint, whatever the
    /// inherited environment says. The CLI treats an empty variable as unset.
    public var childEnvironment: [String: String] {
        if let context = source.contextName { return ["DOCKER_CONTEXT": context, "DOCKER_HOST": ""] }
        return ["DOCKER_HOST": host, "DOCKER_CONTEXT": ""]
    }

    /// The global CLI flags that select this endpoint (for the dialer and for printed commands).
    public var cliFlags: [String] {
        if let context = source.contextName { return ["--context", context] }
        return ["--host", host]
    }

    static func transport(for host: String, tls: Bool) throws(EngineError) -> Transport {
        if host.hasPrefix("unix://") {
            let path = String(host.dropFirst("unix://".count))
            guard !path.isEmpty else { throw .unsupportedHost(host) }
            return .unix(path: path)
        }
        if host.hasPrefix("ssh://") {
            guard host.count > "ssh://".count else { throw .unsupportedHost(host) }
            return .dialer
        }
        if host.hasPrefix("tcp://") || host.hasPrefix("http://") {
            if tls { return .dialer }
            let rest = host.drop { $0 != "/" }.drop { $0 == "/" }
            let authority = rest.prefix { $0 != "/" }
            guard let (name, port) = splitHostPort(String(authority), defaultPort: 2375) else { throw .unsupportedHost(host) }
            return .tcp(host: name, port: port)
        }
        if host.hasPrefix("https://") { return .dialer }
        throw .unsupportedHost(host)
    }

    /// `127.0.0.1:2375`, `[::1]:2375`, `box` (default port).
    static func splitHostPort(_ authority: String, defaultPort: Int) -> (String, Int)? {
        guard !authority.isEmpty else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let name = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (name, defaultPort) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
            return (name, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (authority, defaultPort)
        case 2:
            guard !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
            return (String(parts[0]), port)
        default: return nil
        }
    }
}

extension EngineEndpoint {
    /// The Docker CLI's precedence: `--context`, `--host`, `DOCKER_HOST`, `DOCKER_CONTEXT`, the config's
    /// `currentContext`, then the platform default. Contexts are read from the CLI's own store
    /// (`$DOCKER_CONFIG/contexts/meta/*/meta.json`), so resolving costs no process.
    public static func resolve(
        hostFlag: String? = nil, contextFlag: String? = nil, environment: [String: String]
    ) throws(EngineError) -> EngineEndpoint {
        let tlsFromEnvironment = Self.tlsRequested(environment)
        if let contextFlag, !contextFlag.isEmpty {
            if hostFlag != nil { throw .conflictingEndpoint }
            return try fromContext(contextFlag, source: .contextFlag(contextFlag), environment: environment)
        }
        if let hostFlag, !hostFlag.isEmpty {
            return try EngineEndpoint(host: hostFlag, source: .hostFlag, usesTLS: tlsFromEnvironment)
        }
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            return try EngineEndpoint(host: host, source: .dockerHost, usesTLS: tlsFromEnvironment)
        }
        if let name = environment["DOCKER_CONTEXT"], !name.isEmpty {
            return try fromContext(name, source: .dockerContext(name), environment: environment)
        }
        if let name = ContextStore(environment: environment).currentContext(), !name.isEmpty {
            return try fromContext(name, source: .configContext(name), environment: environment)
        }
        return try EngineEndpoint(host: defaultHost, source: .platformDefault)
    }

    static func tlsRequested(_ environment: [String: String]) -> Bool {
        !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty || !(environment["DOCKER_TLS"] ?? "").isEmpty
    }

    static func fromContext(_ name: String, source: Source, environment: [String: String]) throws(EngineError) -> EngineEndpoint {
        // "default" is not in the store: it is DOCKER_HOST or the platform default.
        if name == "default" {
            // The default context is DOCKER_HOST when set: children must get that host, not "context default".
            if let host = environment["DOCKER_HOST"], !host.isEmpty {
                return try EngineEndpoint(host: host, source: .dockerHost, usesTLS: tlsRequested(environment))
            }
            return try EngineEndpoint(host: defaultHost, source: source)
        }
        let store = ContextStore(environment: environment)
        guard let context = store.context(named: name) else { throw .unknownContext(name, store.directory) }
        return try EngineEndpoint(host: context.host, source: source, usesTLS: context.hasTLS)
    }
}

/// The Docker CLI's context store, read-only.
struct ContextStore {
    struct Context: Equatable {
        var name: String
        var host: String
        var hasTLS: Bool
    }

    /// `$DOCKER_CONFIG`, else `~/.docker`.
    let directory: String

    init(environment: [String: String]) {
        if let config = environment["DOCKER_CONFIG"], !config.isEmpty {
            directory = config
        } else {
            directory = (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.docker"
        }
    }

    func currentContext() -> String? {
        struct Config: Decodable { var currentContext: String? }
        guard let data = FileManager.default.contents(atPath: directory + "/config.json") else { return nil }
        return (try? JSONDecoder().decode(Config.self, from: data))?.currentContext
    }

    /// Each context lives in `meta/<digest of its name>/meta.json`; scanning the few folders there avoids
    /// computing the digest ourselves.
    func context(named name: String) -> Context? {
        struct Meta: Decodable {
            struct Endpoint: Decodable { var Host: String? }
            var Name: String
            var Endpoints: [String: Endpoint]?
        }
        let metaDirectory = directory + "/contexts/meta"
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: metaDirectory)) ?? []
        for folder in folders.sorted() {
            guard let data = FileManager.default.contents(atPath: "\(metaDirectory)/\(folder)/meta.json"),
                let meta = try? JSONDecoder().decode(Meta.self, from: data), meta.Name == name
            else { continue }
            let host = meta.Endpoints?["docker"]?.Host ?? ""
            let tlsFolder = "\(directory)/contexts/tls/\(folder)/docker"
            let hasTLS =
                FileManager.default.fileExists(atPath: tlsFolder + "/cert.pem")
                || FileManager.default.fileExists(atPath: tlsFolder + "/ca.pem")
            return Context(name: name, host: host.isEmpty ? EngineEndpoint.defaultHost : host, hasTLS: hasTLS)
        }
        return nil
    }
}
