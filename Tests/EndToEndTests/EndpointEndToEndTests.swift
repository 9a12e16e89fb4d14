import Foundation
import LaunchKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Which engine launch talks to, and how: contexts, tcp://, ssh://, a hung daemon, a cut event stream.
/// Every test proves where the containers landed, not just the exit code.
@Suite("Engine endpoints against real engines", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct EndpointEndToEndTests {
    static let image = Busybox.image
    static let stack = """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 0.5; touch /tmp/ok; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 30s}
          api:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            depends_on: {db: {condition: service_healthy}}
        """
    static let failingStack = """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "echo cannot open data directory >&2; exit 3"]
        """
    static let policy = "health: {retries: 0, backoff: 200ms, stability: 1s}"

    func containers(_ project: TestProject, host: String?) async throws -> [String] {
        try await E2E.docker(
            ["ps", "-a", "--format", "{{.Names}}", "--filter", "label=com.docker.compose.project=\(project.name)"], host: host
        )
        .stdout.split(whereSeparator: \.isNewline).map(String.init).sorted()
    }

    /// A Docker config folder with one context made by the real CLI, pointing at `host`.
    func configWithContext(_ name: String, host: String) async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-config-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let made = try await E2E.docker(["--config", folder, "context", "create", name, "--docker", "host=\(host)"])
        try #require(made.succeeded, "docker context create: \(made.stderr)")
        return folder
    }

    @Test(.enabled(if: E2E.otherHost != nil, "needs LAUNCH_E2E_OTHER_HOST (CI sets it to its second engine)"))
    func aContextSelectsTheOtherEngineForLaunchAndEveryChild() async throws {
        let other = try #require(E2E.otherHost, "CI sets LAUNCH_E2E_OTHER_HOST to the second engine")
        let config = try await configWithContext("launch-e2e-other", host: other)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await E2E.withProject { project in
            try project.writeProfile(extra: Self.policy, stack: Self.stack)
            // No DOCKER_HOST: the context alone decides, for the API client and for compose.
            let env = ["DOCKER_CONFIG": config, "DOCKER_HOST": ""]
            let up = try await project.launch(["demo", "--context", "launch-e2e-other", "--no-network"], environment: env)
            #expect(up.status == 0, "\(up.stderr)")
            #expect(try await containers(project, host: other) == ["\(project.name)-api-1", "\(project.name)-db-1"])
            #expect(try await containers(project, host: nil).isEmpty)
            let status = try await project.launch(["status", "demo", "--context", "launch-e2e-other"], environment: env)
            #expect(status.status == 0 && status.stdout.contains("healthy"), "\(status.all)")
            let down = try await project.launch(["down", "demo", "--context", "launch-e2e-other"], environment: env)
            #expect(down.status == 0, "\(down.all)")
            #expect(try await containers(project, host: other).isEmpty)
        }
    }

    @Test(.enabled(if: E2E.otherHost != nil, "needs LAUNCH_E2E_OTHER_HOST (CI sets it to its second engine)"))
    func theConfigsCurrentContextFailsACoreServiceOnThatEngine() async throws {
        let other = try #require(E2E.otherHost, "CI sets LAUNCH_E2E_OTHER_HOST to the second engine")
        let config = try await configWithContext("launch-e2e-current", host: other)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try Data(#"{"currentContext":"launch-e2e-current"}"#.utf8).write(to: URL(fileURLWithPath: config + "/config.json"))
        try await E2E.withProject { project in
            try project.writeProfile(extra: Self.policy, stack: Self.failingStack)
            let env = ["DOCKER_CONFIG": config, "DOCKER_HOST": "", "DOCKER_CONTEXT": ""]
            let result = try await project.launch(["demo", "--no-network"], environment: env)
            #expect(result.status == 1, "\(result.all)")
            #expect(result.stderr.contains("cannot open data directory"))
            let doctor = try await project.launch(["doctor", "demo", "--no-network"], environment: env)
            #expect(doctor.all.contains("current context launch-e2e-current"), "\(doctor.all)")
            // Rolled back on the engine it ran on; nothing ever touched the default one.
            #expect(try await containers(project, host: other).isEmpty)
            #expect(try await containers(project, host: nil).isEmpty)
        }
    }

    /// Starts `command` in the background through a shell, detached from our pipes; returns its pid. (Foundation's
    /// `Process` and swift-subprocess do not share child reaping well inside one test process.)
    static func background(_ command: String) async throws -> Int32 {
        let output = try await E2E.runner.run(Command("/bin/sh", ["-c", "( \(command) ) </dev/null >/dev/null 2>&1 & echo $!"]))
        return try #require(Int32(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Runs `body`, then `cleanup` whether or not it threw.
    static func ensuring<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
        do {
            let value = try await body()
            await cleanup()
            return value
        } catch {
            await cleanup()
            throw error
        }
    }

    static func sh(_ command: String) async {
        _ = try? await E2E.runner.run(Command("/bin/sh", ["-c", command]))
    }

    /// A forwarder in front of the suite's engine socket: a plain tcp:// endpoint (and a proxy the test can cut).
    struct Proxy {
        let forwarder: Forwarder
        static func start(listen: Forwarder.Listen, to socket: String) async throws -> Proxy {
            Proxy(forwarder: try Forwarder(listen: listen, to: socket))
        }
        /// Ends the listener and every connection it carries, so open connections (an event stream) drop too.
        func stop() async { forwarder.stop() }
    }

    static var suiteSocket: String {
        let host = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? ""
        return host.hasPrefix("unix://") ? String(host.dropFirst("unix://".count)) : "/var/run/docker.sock"
    }

    /// Whether the engine answers through the proxy on `port`, once it listens there.
    static func waitForPort(_ port: Int) async -> Bool {
        await E2E.eventually(within: .seconds(30)) {
            (try? await E2E.docker(["-H", "tcp://127.0.0.1:\(port)", "version", "--format", "{{.Server.APIVersion}}"]))?.succeeded == true
        }
    }

    @Test func aPlainTCPEndpointWorksEndToEnd() async throws {
        let port = try Sockets.freePort()
        let proxy = try await Proxy.start(listen: .tcp(port: port), to: Self.suiteSocket)
        #expect(await Self.waitForPort(port), "nothing answers on 127.0.0.1:\(port)")
        try await Self.ensuring(
            {
                try await E2E.withProject { project in
                    try project.writeProfile(extra: Self.policy, stack: Self.stack)
                    let host = "tcp://127.0.0.1:\(port)"
                    let doctor = try await project.launch(["doctor", "demo", "--no-network", "--host", host])
                    #expect(doctor.all.contains("at \(host) (--host)"), "\(doctor.all)")
                    let up = try await project.launch(["demo", "--no-network", "--host", host])
                    #expect(up.status == 0, "\(up.stderr)")
                    #expect(try await containers(project, host: nil).count == 2)
                    let down = try await project.launch(["down", "demo", "--host", host])
                    #expect(down.status == 0, "\(down.all)")
                    #expect(try await containers(project, host: nil).isEmpty)
                }
            }, cleanup: { await proxy.stop() })
    }

    /// The cleanup decision reads the same figures through TCP as through the socket (the Engine API both ways),
    /// and lists the same objects: a stopped container only this test labelled.
    @Test func cleanupSeesTheSameThroughTCPAsThroughTheSocket() async throws {
        let port = try Sockets.freePort()
        let proxy = try await Proxy.start(listen: .tcp(port: port), to: Self.suiteSocket)
        #expect(await Self.waitForPort(port), "nothing answers on 127.0.0.1:\(port)")
        try await Self.ensuring(
            {
                try await E2E.withProject { project in
                    let label = "launch.e2e=\(project.name)"
                    let made = try await E2E.docker([
                        "create", "--label", "com.docker.compose.project=\(project.name)", "--label", label, Busybox.image, "true",
                    ])
                    try #require(made.succeeded, "\(made.stderr)")
                    var seen: [String: [String: Any]] = [:]
                    for (name, host) in [("socket", [String]()), ("tcp", ["--host", "tcp://127.0.0.1:\(port)"])] {
                        let clean = try await project.launch(["clean", "--dry-run", "--json", "--label", label] + host)
                        #expect(clean.status == 0, "\(name): \(clean.all)")
                        seen[name] = (try? JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any]) ?? [:]
                    }
                    func usage(_ name: String) -> [String: Any] { seen[name]?["usage"] as? [String: Any] ?? [:] }
                    func candidates(_ name: String) -> [String] {
                        (usage(name)["candidates"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
                    }
                    #expect(usage("tcp")["source"] as? String == "engine API", "\(seen)")
                    #expect(candidates("socket").count == 1, "\(seen)")
                    #expect(candidates("tcp") == candidates("socket"), "\(seen)")
                }
            }, cleanup: { await proxy.stop() })
    }

    /// A local sshd with a throwaway key; `ssh` on PATH is a wrapper that adds its own config, so no file of
    /// the user's ~/.ssh is read or written.
    struct SSHServer {
        let folder: String
        let pathEntry: String
        let port: Int

        static func start() async throws -> SSHServer {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-ssh-\(UUID().uuidString.prefix(8))").path
            let server = SSHServer(folder: folder, pathEntry: folder + "/bin", port: try Sockets.freePort())
            try FileManager.default.createDirectory(atPath: server.pathEntry, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
            for key in ["host", "user"] {
                let made = try await E2E.runner.run(Command("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(folder)/\(key)"]))
                try #require(made.succeeded, "ssh-keygen: \(made.stderr)")
            }
            try FileManager.default.copyItem(atPath: folder + "/user.pub", toPath: folder + "/authorized_keys")
            try """
            Host launch-e2e-ssh
              HostName 127.0.0.1
              Port \(server.port)
              User \(NSUserName())
              IdentityFile \(folder)/user
              IdentitiesOnly yes
              StrictHostKeyChecking no
              UserKnownHostsFile /dev/null
              LogLevel ERROR
            """.write(toFile: folder + "/ssh_config", atomically: true, encoding: .utf8)
            try "#!/bin/sh\nexec ssh -F '\(folder)/ssh_config' \"$@\"\n".replacingOccurrences(of: "exec ssh", with: "exec /usr/bin/ssh")
                .write(toFile: server.pathEntry + "/ssh", atomically: true, encoding: .utf8)
            chmod(server.pathEntry + "/ssh", 0o755)
            // sshd daemonizes itself and writes its pid file; the remote `docker` targets the suite's engine.
            let started = try await E2E.runner.run(
                Command(
                    "/usr/sbin/sshd",
                    [
                        "-p", String(server.port), "-h", folder + "/host", "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=\(folder)/pid",
                        "-o", "AuthorizedKeysFile=\(folder)/authorized_keys", "-o", "StrictModes=no", "-o", "PasswordAuthentication=no",
                        "-o", "SetEnv=DOCKER_HOST=unix://\(EndpointEndToEndTests.suiteSocket)",
                    ]))
            try #require(started.succeeded, "sshd: \(started.stderr)")
            return server
        }

        func stop() async {
            await EndpointEndToEndTests.sh("kill $(cat '\(folder)/pid') 2>/dev/null; true")
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// A local sshd and the OpenSSH client: on a machine without them this test is skipped and says so; CI
    /// (`LAUNCH_E2E=require`) installs them and runs it.
    static let sshAvailable =
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") && FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh")
        && E2E.which("ssh-keygen") != nil

    @Test(.enabled(if: sshAvailable || E2E.required, "needs an OpenSSH server and client (Debian: apt-get install openssh-server)"))
    func anSSHEndpointWorksThroughDialStdio() async throws {
        let ssh = try await SSHServer.start()
        try await Self.ensuring(
            {
                let path = ssh.pathEntry + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
                let answered = await E2E.eventually(within: .seconds(30)) {
                    (try? await E2E.runner.run(Command("docker", ["-H", "ssh://launch-e2e-ssh", "version"], environment: ["PATH": path])))?
                        .succeeded == true
                }
                #expect(answered, "sshd on port \(ssh.port) never served `docker version`")
                try await E2E.withProject { project in
                    try project.writeProfile(extra: Self.policy, stack: Self.stack)
                    let env = ["PATH": path]
                    let up = try await project.launch(["demo", "--no-network", "-H", "ssh://launch-e2e-ssh"], environment: env)
                    #expect(up.status == 0, "\(up.stderr)")
                    #expect(try await containers(project, host: nil).count == 2)
                    let down = try await project.launch(["down", "demo", "-H", "ssh://launch-e2e-ssh"], environment: env)
                    #expect(down.status == 0, "\(down.all)")
                    #expect(try await containers(project, host: nil).isEmpty)
                }
            }, cleanup: { await ssh.stop() })
    }

    /// A unix socket that accepts connections (the kernel queues them) and never answers.
    final class HungDaemon: @unchecked Sendable {
        let path: String
        let fd: Int32
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-hung-\(UUID().uuidString.prefix(8)).sock").path
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(fd, 128) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        func stop() {
            close(fd)
            unlink(path)
        }
    }

    @Test(.timeLimit(.minutes(2))) func aDaemonThatNeverAnswersIsExit2NamingIt() async throws {
        let hung = try HungDaemon()
        defer { hung.stop() }
        try await E2E.withProject { project in
            try project.writeProfile(extra: Self.policy, stack: Self.stack)
            let doctor = try await project.launch(["doctor", "demo", "--no-network", "--host", "unix://\(hung.path)"])
            #expect(doctor.status == 2, "\(doctor.all)")
            #expect(doctor.all.contains("did not answer"), "\(doctor.all)")
            #expect(doctor.all.contains(hung.path))
            let up = try await project.launch(["demo", "--no-network", "--host", "unix://\(hung.path)"])
            #expect(up.status == 2, "\(up.all)")
            #expect(up.all.contains("did not answer"), "\(up.all)")
        }
    }

    @Test func aCutEventStreamLosesNothing() async throws {
        // Every request, the event stream included, goes through a proxy the test cuts mid-launch: while it is
        // down db turns healthy. launch must resume the stream, reconcile, and finish with everything ready.
        // db becomes ready only when the test says so (it writes /tmp/ok while the proxy is down), so the cut
        // always falls inside the launch however slow the host is.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("launch-e2e-cut-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let socketPath = folder + "/proxy.sock"
        let listen = Forwarder.Listen.unix(path: socketPath)
        let proxy = try await Proxy.start(listen: listen, to: Self.suiteSocket)
        try await Self.ensuring(
            {
                try await E2E.withProject { project in
                    try project.writeProfile(
                        extra: Self.policy,
                        stack: """
                            services:
                              db:
                                image: \(Self.image)
                                command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                                healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 250ms, timeout: 5s, retries: 3, start_period: 120s}
                              api:
                                image: \(Self.image)
                                command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                                depends_on: {db: {condition: service_healthy}}
                            """)
                    let command = [
                        E2E.launchBinary, "demo", "--no-network", "--no-cleanup", "--json", "--host", "unix://\(socketPath)",
                        "--project-dir", project.root,
                    ].map { "'\($0)'" }.joined(separator: " ")
                    _ = try await Self.background(
                        "CI=true \(command) > '\(folder)/out.json' 2> '\(folder)/err.log'; echo $? > '\(folder)/rc.tmp'; mv '\(folder)/rc.tmp' '\(folder)/rc'"
                    )
                    // Wait until db runs, cut every connection (and refuse new ones), make db ready and wait for the
                    // engine to say so, all while launch cannot reach the engine.
                    let db = "\(project.name)-db-1"
                    #expect(await E2E.eventually { await E2E.isRunning(db) })
                    await proxy.stop()
                    let cut = ContinuousClock.now
                    _ = try await E2E.docker(["exec", db, "touch", "/tmp/ok"])
                    #expect(try await E2E.engineHealth(db) == "healthy")
                    try await Task.sleep(until: cut + .seconds(2.5))
                    unlink(socketPath)
                    let again = try await Proxy.start(listen: listen, to: Self.suiteSocket)
                    defer { again.forwarder.stop() }
                    for _ in 0..<1200 {
                        if FileManager.default.fileExists(atPath: folder + "/rc") { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let rc = (try? String(contentsOfFile: folder + "/rc", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                    let log = (try? String(contentsOfFile: folder + "/err.log", encoding: .utf8)) ?? ""
                    #expect(rc == "0", "\(log)")
                    let output = try Data(contentsOf: URL(fileURLWithPath: folder + "/out.json"))
                    let json = try JSONSerialization.jsonObject(with: output) as? [String: Any]
                    let services = json?["services"] as? [[String: Any]] ?? []
                    #expect(services.count == 2 && services.allSatisfy { $0["state"] as? String == "ready" }, "\(log)")
                    // The stream really was cut and resumed (not merely slow).
                    let reconnects = (json?["engine"] as? [String: Any])?["event_stream_reconnects"] as? Int ?? 0
                    #expect(reconnects >= 1, "\(log)")
                }
            },
            cleanup: {
                await proxy.stop()
                try? FileManager.default.removeItem(atPath: folder)
            })
    }
}
