import Foundation
import LaunchKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("doctor and clean against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct DoctorEndToEndTests {
    /// The doctor's JSON report, checks keyed by id.
    struct Report {
        var object: [String: Any]
        var checks: [String: [String: Any]]

        init(_ result: E2E.Result) throws {
            object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let list = try #require(object["checks"] as? [[String: Any]])
            checks = Dictionary(list.map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }

        func status(_ id: String) -> String? { checks[id]?["status"] as? String }
        func evidence(_ id: String) -> String { checks[id]?["evidence"] as? String ?? "" }
    }

    static func sleeper(ports: [String] = []) -> String {
        """
        services:
          web:
            image: \(Busybox.image)
            command: ["sleep", "3600"]
        \(ports.isEmpty ? "" : "    ports: [" + ports.map { "\"\($0)\"" }.joined(separator: ", ") + "]")
        """
    }

    // MARK: Ports

    @Test func aPortHeldByAListenerFailsNamingPortServiceAndProcess() async throws {
        try await E2E.withProject { project in
            let listener = try Sockets.listen(host: "0.0.0.0")
            defer { close(listener.descriptor) }
            try project.writeProfile(stack: Self.sleeper(ports: ["\(listener.port):80"]))

            let result = try await project.launch(["doctor", "demo", "--no-network"])
            #expect(result.status == 2, "\(result.all)")
            #expect(result.stdout.contains("FAIL port.\(listener.port): web wants port \(listener.port), held by "))
            #expect(result.stdout.contains("(pid \(getpid()))"), "\(result.stdout)")
            #expect(result.stdout.contains("fix: stop that process or publish web on another host port"))
        }
    }

    @Test func aPortPublishedByTheProjectsOwnContainerIsNotAConflict() async throws {
        try await E2E.withProject { project in
            let port = try Sockets.freePort()
            try project.writeProfile(stack: Self.sleeper(ports: ["\(port):80"]))
            let up = try await E2E.docker([
                "compose", "--project-name", project.name, "--file", project.root + "/compose/stack.yml", "up", "--detach",
            ])
            try #require(up.status == 0, "\(up.stderr)")

            let result = try await project.launch(["doctor", "demo", "--no-network", "--json"])
            let report = try Report(result)
            #expect(report.status("port.\(port)") == "ok")
            #expect(report.evidence("port.\(port)") == "published by this project's own container \(project.name)-web-1")
            #expect(result.status == 0, "\(result.all)")
        }
    }

    // MARK: GPUs

    @Test(arguments: [("h100-x2-nvlink", "dual", "gpu-dual.yml"), ("h100-x1", "single", "gpu-single.yml")])
    func aFakeNvidiaSMISwitchesDualAndSingle(fixture: String, choice: String, file: String) async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "gpu: {mode: optional, dual: gpu-dual.yml, single: gpu-single.yml}", stack: Self.sleeper())
            try project.write("compose/gpu-dual.yml", "services:\n  web:\n    environment: {GPUS: '2'}\n")
            try project.write("compose/gpu-single.yml", "services:\n  web:\n    environment: {GPUS: '1'}\n")
            let smi = try E2E.fakeNvidiaSMI(fixture)
            defer { try? FileManager.default.removeItem(atPath: smi.directory) }

            let doctor = try await project.launch(["doctor", "demo", "--no-network", "--json"], environment: ["PATH": smi.path])
            let report = try Report(doctor)
            let overlay = try #require(report.object["overlay"] as? [String: Any])
            #expect(overlay["choice"] as? String == choice)
            #expect(report.evidence("gpu.overlay").hasSuffix("→ compose/\(file)"))
            if choice == "single" {
                #expect(report.evidence("gpu.overlay").contains("1 GPU found (NVIDIA H100 80GB HBM3): single-GPU fallback"))
                #expect(report.checks["gpu.nvlink"] == nil)
            } else {
                #expect(report.status("gpu.nvlink") == "ok")
                #expect(report.evidence("gpu.devices").hasPrefix("2 × NVIDIA H100 80GB HBM3"))
            }
            // This engine has no NVIDIA runtime: a GPU overlay cannot start here, and doctor says so.
            #expect(report.status("docker.nvidia-runtime") == "fail")
            #expect(doctor.status == 2)

            let plan = try await project.launch(["plan", "demo", "--json"], environment: ["PATH": smi.path])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
            #expect((json["overlay"] as? [String: Any])?["file"] as? String == file)
        }
    }

    // MARK: Docker down

    @Test func aDockerHostPointingAtNothingIsDiagnosedAsNotRunning() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(stack: Self.sleeper())
            let environment = ["DOCKER_HOST": "unix:///nonexistent.sock"]
            let result = try await project.launch(["doctor", "demo", "--no-network"], environment: environment)
            #expect(result.status == 2, "\(result.all)")
            #expect(
                result.stdout.contains(
                    "FAIL docker.daemon: the Docker daemon is not running: no socket at /nonexistent.sock (unix:///nonexistent.sock (DOCKER_HOST))"
                ))
            #expect(result.stdout.contains("fix: start the engine DOCKER_HOST names, or unset DOCKER_HOST"))
            #expect(result.stdout.contains("skip images: the Docker daemon is not reachable"))

            let machine = try await project.launch(["doctor"], environment: environment)
            #expect(machine.status == 2)
            #expect(machine.stdout.contains("the Docker daemon is not running"))
        }
    }

    // MARK: Profile checks

    @Test func anHTTPCheckTellsARejectedKeyFromAGoodOne() async throws {
        try await E2E.withProject { project in
            let server = try TinyHTTPServer.start(acceptingToken: "good-key-123456")
            defer { server.stop() }
            let closed = try Sockets.freePort()
            try project.writeProfile(
                extra: """
                    preflight:
                      - name: Provider key
                        when: PROVIDER_KEY
                        http:
                          url: http://127.0.0.1:\(server.port)/v1/models
                          headers: {Authorization: "Bearer ${PROVIDER_KEY}"}
                          expect: [200]
                          timeout: 2s
                      - name: Provider port
                        tcp: {host: 127.0.0.1, port: \(server.port), timeout: 1s}
                      - name: Nothing here
                        when: CHECK_CLOSED
                        tcp: {host: 127.0.0.1, port: \(closed), timeout: 1s}
                    """, stack: Self.sleeper())

            try project.write(".env.demo", "PROVIDER_KEY=bad-key-654321\n")
            let rejected = try await project.launch(["doctor", "demo"])
            #expect(rejected.status == 2, "\(rejected.all)")
            #expect(
                rejected.stdout.contains(
                    "FAIL preflight.provider-key: the key is rejected (HTTP 401) by GET http://127.0.0.1:\(server.port)/v1/models"))
            #expect(rejected.stdout.contains("fix: check PROVIDER_KEY in .env.demo"))
            #expect(!rejected.all.contains("bad-key-654321"))
            #expect(rejected.stdout.contains("ok   preflight.provider-port: connected to 127.0.0.1:\(server.port)"))
            #expect(rejected.stdout.contains("skip preflight.nothing-here: CHECK_CLOSED is not set"))

            try project.write(".env.demo", "PROVIDER_KEY=good-key-123456\nCHECK_CLOSED=1\n")
            let accepted = try await project.launch(["doctor", "demo", "--json"])
            let report = try Report(accepted)
            #expect(report.status("preflight.provider-key") == "ok")
            #expect(report.evidence("preflight.provider-key").hasPrefix("HTTP 200 from GET"))
            #expect(report.status("preflight.nothing-here") == "fail")
            #expect(report.evidence("preflight.nothing-here") == "connection refused by 127.0.0.1:\(closed)")
            #expect(accepted.status == 2)

            let offline = try await project.launch(["doctor", "demo", "--no-network", "--json"])
            #expect(try Report(offline).status("preflight.provider-key") == "skip")
            #expect(offline.status == 0, "\(offline.all)")
        }
    }

    // MARK: Cleanup

    @Test func cleanPrunesLabelledJunkAndLeavesVolumesAlone() async throws {
        try await E2E.withProject { project in
            let label = "launch.e2e=\(project.name)"
            let labels = ["--label", label, "--label", "com.docker.compose.project=\(project.name)"]
            let junk = project.name + "-junk"
            let run = try await E2E.docker(["run", "--name", junk] + labels + [Busybox.image, "sh", "-c", "echo junk > /junk"])
            try #require(run.status == 0, "\(run.stderr)")
            let commit = try await E2E.docker(["commit", "--change", "LABEL \(label)", junk])
            let image = commit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(commit.status == 0 && !image.isEmpty, "\(commit.stderr)")
            let volume = project.name + "-data"
            try #require(try await E2E.docker(["volume", "create"] + labels + [volume]).status == 0)
            let shortImage = String(image.dropFirst("sha256:".count).prefix(12))

            do {
                let dryRun = try await E2E.launch(["clean", "--dry-run", "--label", label], in: project.root)
                #expect(dryRun.status == 0, "\(dryRun.all)")
                #expect(dryRun.stdout.contains("stopped container \(junk)"))
                #expect(dryRun.stdout.contains("dangling image \(shortImage)"))
                #expect(dryRun.stdout.contains("Volumes are never removed."))
                #expect(try await E2E.docker(["container", "inspect", junk]).status == 0, "the dry run removed the container")
                #expect(try await E2E.docker(["image", "inspect", image]).status == 0, "the dry run removed the image")

                let unconfirmed = try await E2E.launch(["clean", "--label", label], in: project.root)
                #expect(unconfirmed.status == 64)
                #expect(unconfirmed.stderr.contains("hint: run `launch clean --yes`"))
                #expect(try await E2E.docker(["container", "inspect", junk]).status == 0)

                let pruned = try await E2E.launch(["clean", "--yes", "--json", "--label", label], in: project.root)
                #expect(pruned.status == 0, "\(pruned.all)")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(pruned.stdout.utf8)) as? [String: Any])
                #expect(report["failed"] as? Bool == false)
                #expect((report["steps"] as? [[String: Any]])?.count == 2)
                #expect(try await E2E.docker(["container", "inspect", junk]).status != 0, "the stopped container is still there")
                #expect(try await E2E.docker(["image", "inspect", image]).status != 0, "the dangling image is still there")
                #expect(try await E2E.docker(["volume", "inspect", volume]).status == 0, "cleanup removed a volume")
            } catch {
                _ = try? await E2E.docker(["rmi", "-f", image])
                throw error
            }
            _ = try? await E2E.docker(["rmi", "-f", image])
        }
    }
}

/// Sockets the tests hold themselves.
enum Sockets {
    /// A listening TCP socket on an ephemeral port; the caller closes it.
    static func listen(host: String) throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        _ = inet_pton(AF_INET, host, &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && Glibc.listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard ready else {
            close(descriptor)
            throw SocketError(errno: errno)
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Accepts connections on its own thread until the listening socket is shut down, handing each to `handle`
    /// (on that thread: a handler that blocks gets a thread of its own).
    static func acceptLoop(_ descriptor: Int32, handle: @escaping @Sendable (Int32) -> Void) {
        Thread.detachNewThread {
            while true {
                let client = accept(descriptor, nil, nil)
                guard client >= 0 else {
                    if errno == EINTR { continue }
                    return
                }
                handle(client)
            }
        }
    }

    /// A port nothing listens on (as of now).
    static func freePort() throws -> Int {
        let (descriptor, port) = try listen(host: "127.0.0.1")
        close(descriptor)
        return port
    }

    struct SocketError: Error { var errno: Int32 }
}

/// A one-route HTTP server on 127.0.0.1: 200 for the right bearer token, 401 otherwise.
struct TinyHTTPServer: Sendable {
    let descriptor: Int32
    let port: Int

    /// `onRequest` runs before each answer (a test changes the world at exactly the moment launch asks).
    static func start(acceptingToken token: String, onRequest: @escaping @Sendable () -> Void = {}) throws -> TinyHTTPServer {
        let (descriptor, port) = try Sockets.listen(host: "127.0.0.1")
        Sockets.acceptLoop(descriptor) { client in
            onRequest()
            serve(client, token: token)
            close(client)
        }
        return TinyHTTPServer(descriptor: descriptor, port: port)
    }

    private static func serve(_ client: Int32, token: String) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { break }
            request += buffer[0..<count]
        }
        let lines = String(decoding: request, as: UTF8.self).split(separator: "\r\n")
        let authorized = lines.contains { line in
            line.lowercased().hasPrefix("authorization:")
                && line.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces) == "Bearer \(token)"
        }
        let (status, body) = authorized ? ("200 OK", #"{"data":[]}"#) : ("401 Unauthorized", #"{"error":"invalid api key"}"#)
        let response = Array(
            "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                .utf8)
        _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Wakes the accept loop (it returns an error and the thread ends).
    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}
