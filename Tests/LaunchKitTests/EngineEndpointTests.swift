import Foundation
import Testing

@testable import LaunchKit

@Suite("Engine endpoint: one resolver, the CLI's precedence")
struct EngineEndpointTests {
    /// A throwaway Docker config folder with contexts written the way the CLI stores them.
    struct ConfigFolder: ~Copyable {
        let path: String

        init(current: String? = nil, contexts: [(name: String, host: String, tls: Bool)] = []) throws {
            path = NSTemporaryDirectory() + "launch-endpoint-\(UUID().uuidString)"
            let files = FileManager.default
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
            if let current {
                try Data(#"{"auths":{},"currentContext":"\#(current)"}"#.utf8).write(to: URL(fileURLWithPath: path + "/config.json"))
            }
            for (index, context) in contexts.enumerated() {
                // The CLI names the folder by a digest of the context name; any unique name will do for reading.
                let folder = "\(path)/contexts/meta/\(String(repeating: "a", count: 10))\(index)"
                try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let meta =
                    #"{"Name":"\#(context.name)","Metadata":{},"Endpoints":{"docker":{"Host":"\#(context.host)","SkipTLSVerify":false}}}"#
                try Data(meta.utf8).write(to: URL(fileURLWithPath: folder + "/meta.json"))
                if context.tls {
                    let tls = "\(path)/contexts/tls/\(String(repeating: "a", count: 10))\(index)/docker"
                    try files.createDirectory(atPath: tls, withIntermediateDirectories: true)
                    try Data("pem".utf8).write(to: URL(fileURLWithPath: tls + "/ca.pem"))
                }
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func theDefaultIsTheStandardSocket() throws {
        let config = try ConfigFolder()
        let endpoint = try EngineEndpoint.resolve(environment: ["DOCKER_CONFIG": config.path])
        #expect(endpoint.socketPath == "/var/run/docker.sock")
        #expect(endpoint.source == .platformDefault)
        #expect(endpoint.description == "unix:///var/run/docker.sock (default)")
        // An empty DOCKER_HOST is unset, as the CLI treats it.
        #expect(try EngineEndpoint.resolve(environment: ["DOCKER_CONFIG": config.path, "DOCKER_HOST": ""]).source == .platformDefault)
    }

    @Test func precedenceFollowsTheDockerCLI() throws {
        let config = try ConfigFolder(
            current: "remote", contexts: [("remote", "unix:///run/remote.sock", false), ("other", "unix:///run/other.sock", false)])
        let base = ["DOCKER_CONFIG": config.path]
        #expect(try EngineEndpoint.resolve(environment: base).host == "unix:///run/remote.sock")
        #expect(try EngineEndpoint.resolve(environment: base).source == .configContext("remote"))
        #expect(try EngineEndpoint.resolve(environment: base.merging(["DOCKER_CONTEXT": "other"]) { $1 }).source == .dockerContext("other"))
        let host = base.merging(["DOCKER_CONTEXT": "other", "DOCKER_HOST": "unix:///run/host.sock"]) { $1 }
        #expect(try EngineEndpoint.resolve(environment: host).host == "unix:///run/host.sock")
        #expect(try EngineEndpoint.resolve(hostFlag: "unix:///run/flag.sock", environment: host).source == .hostFlag)
        let flagged = try EngineEndpoint.resolve(contextFlag: "other", environment: host)
        #expect(flagged.host == "unix:///run/other.sock" && flagged.source == .contextFlag("other"))
        // "default" is never in the store: it means DOCKER_HOST or the platform default.
        #expect(try EngineEndpoint.resolve(contextFlag: "default", environment: base).socketPath == "/var/run/docker.sock")
        #expect(throws: EngineError.conflictingEndpoint) {
            try EngineEndpoint.resolve(hostFlag: "unix:///a", contextFlag: "other", environment: base)
        }
    }

    @Test func anUnknownContextIsAnErrorNamingTheStore() throws {
        let config = try ConfigFolder()
        #expect(throws: EngineError.unknownContext("gpu-box", config.path)) {
            try EngineEndpoint.resolve(environment: ["DOCKER_CONFIG": config.path, "DOCKER_CONTEXT": "gpu-box"])
        }
    }

    @Test func transportsByScheme() throws {
        #expect(try EngineEndpoint.transport(for: "unix:///x.sock", tls: false) == .unix(path: "/x.sock"))
        #expect(try EngineEndpoint.transport(for: "tcp://127.0.0.1:23750", tls: false) == .tcp(host: "127.0.0.1", port: 23750))
        #expect(try EngineEndpoint.transport(for: "tcp://box", tls: false) == .tcp(host: "box", port: 2375))
        #expect(try EngineEndpoint.transport(for: "tcp://[::1]:2375", tls: false) == .tcp(host: "::1", port: 2375))
        // TLS and SSH are dialed by the docker CLI, which owns certificates and SSH configuration.
        #expect(try EngineEndpoint.transport(for: "tcp://box:2376", tls: true) == .dialer)
        #expect(try EngineEndpoint.transport(for: "ssh://me@gpu-box", tls: false) == .dialer)
        for bad in ["npipe:////./pipe/docker_engine", "unix://", "tcp://box:notaport", "tcp://box:99999", "ssh://", "fd://"] {
            #expect(throws: EngineError.unsupportedHost(bad)) { try EngineEndpoint.transport(for: bad, tls: false) }
        }
    }

    @Test func tlsComesFromTheEnvironmentOrTheContext() throws {
        let config = try ConfigFolder(contexts: [("secure", "tcp://box:2376", true)])
        #expect(try EngineEndpoint.resolve(environment: ["DOCKER_CONFIG": config.path, "DOCKER_CONTEXT": "secure"]).transport == .dialer)
        let env = ["DOCKER_CONFIG": config.path, "DOCKER_HOST": "tcp://box:2376", "DOCKER_TLS_VERIFY": "1"]
        #expect(try EngineEndpoint.resolve(environment: env).transport == .dialer)
    }

    @Test func childrenArePinnedToTheSameEngine() throws {
        let config = try ConfigFolder(contexts: [("other", "unix:///run/other.sock", false)])
        let viaContext = try EngineEndpoint.resolve(
            contextFlag: "other", environment: ["DOCKER_CONFIG": config.path, "DOCKER_HOST": "unix:///x"])
        #expect(viaContext.childEnvironment == ["DOCKER_CONTEXT": "other", "DOCKER_HOST": ""])
        #expect(viaContext.cliFlags == ["--context", "other"])
        let viaHost = try EngineEndpoint.resolve(environment: ["DOCKER_CONFIG": config.path, "DOCKER_HOST": "tcp://127.0.0.1:1"])
        #expect(viaHost.childEnvironment == ["DOCKER_HOST": "tcp://127.0.0.1:1", "DOCKER_CONTEXT": ""])
        // The builders carry it: every docker and compose child gets it.
        let docker = Docker().pointing(at: viaContext)
        #expect(docker.info().environment == ["DOCKER_CONTEXT": "other", "DOCKER_HOST": ""])
        let context = LaunchContext(
            runner: RecordingRunner(), environment: [:], console: CapturedOutput().console(), workingDirectory: "/", engine: viaHost)
        #expect(context.docker.info().environment["DOCKER_HOST"] == "tcp://127.0.0.1:1")
    }

    @Test func apiVersionNegotiation() throws {
        let endpoint = EngineEndpoint(socketPath: "/x")
        #expect(try EngineClient.negotiate(serverHeader: "1.41", endpoint: endpoint) == APIVersion(major: 1, minor: 41))
        #expect(try EngineClient.negotiate(serverHeader: "1.45", endpoint: endpoint) == APIVersion(major: 1, minor: 45))
        // A newer engine than we know: speak the newest we know (it accepts down to its minimum).
        #expect(try EngineClient.negotiate(serverHeader: "1.99", endpoint: endpoint) == EngineClient.newestKnownAPI)
        #expect(throws: EngineError.self) { try EngineClient.negotiate(serverHeader: "1.40", endpoint: endpoint) }
        #expect(throws: EngineError.self) { try EngineClient.negotiate(serverHeader: nil, endpoint: endpoint) }
        #expect(APIVersion("1.9")! < APIVersion("1.41")!)
        #expect(APIVersion("x") == nil && APIVersion("1") == nil)
    }

    @Test func theDefaultContextWithDockerHostPinsChildrenToThatHost() throws {
        let config = try ConfigFolder()
        let endpoint = try EngineEndpoint.resolve(
            contextFlag: "default", environment: ["DOCKER_CONFIG": config.path, "DOCKER_HOST": "unix:///run/other.sock"])
        #expect(endpoint.socketPath == "/run/other.sock")
        #expect(endpoint.childEnvironment == ["DOCKER_HOST": "unix:///run/other.sock", "DOCKER_CONTEXT": ""])
    }
}
