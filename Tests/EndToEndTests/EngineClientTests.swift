import Foundation
import Glibc
import Synchronization
import Testing

@testable import LaunchKit

/// Test-only helpers: the CLI sets up fixtures, the client is what is under test.
enum EngineFixture {
    @discardableResult
    static func docker(_ args: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker"] + args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EngineError.io(process.terminationStatus, "docker \(args.joined(separator: " ")) failed")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func uniqueName() -> String { "engineclient-test-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))" }

    static var image: String { "local/busybox:latest" }

    /// First event matching `match`, or nil after `seconds`.
    static func firstEvent(
        _ stream: AsyncThrowingStream<EngineEvent, any Error>, within seconds: Double,
        where match: @escaping @Sendable (EngineEvent) -> Bool
    ) async throws -> EngineEvent? {
        try await withThrowingTaskGroup(of: EngineEvent?.self) { group in
            group.addTask {
                for try await event in stream where match(event) { return event }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

@Suite("Engine client: pure helpers")
struct HelperTests {
    @Test func errnoMapping() {
        #expect(EngineError.connectFailure(errno: EACCES, path: "/s") == .permissionDenied("/s"))
        #expect(EngineError.connectFailure(errno: ENOENT, path: "/s") == .socketMissing("/s"))
        #expect(EngineError.connectFailure(errno: ECONNREFUSED, path: "/s") == .connectionRefused("/s"))
        guard case .io(EIO, _) = EngineError.connectFailure(errno: EIO, path: "/s") else { Issue.record("EIO not .io"); return }
    }

    @Test func queryEncoding() {
        let filter = EngineClient.labelFilter(["a=b", "q\"x"])
        #expect(filter.first?.1 == #"{"label":["a=b","q\"x"]}"#)
        #expect(
            EngineClient.target("/x", filter, version: APIVersion(major: 1, minor: 44))
                == "/v1.44/x?filters=%7B%22label%22%3A%5B%22a%3Db%22%2C%22q%5C%22x%22%5D%7D")
        #expect(EngineClient.target("/_ping", [], version: nil) == "/_ping")
        #expect(EngineClient.escape("a b/ü") == "a%20b%2F%C3%BC")
        #expect(EngineClient.filters(["label": [], "event": ["die"]]).first?.1 == #"{"event":["die"]}"#)
        #expect(EngineClient.filters(["label": []]).isEmpty)
    }

    @Test func eventHelpers() throws {
        let json =
            #"{"Type":"container","Action":"health_status: healthy","Actor":{"ID":"abc","Attributes":{"exitCode":"3","com.docker.compose.service":"db","com.docker.compose.project":"p"}},"time":1,"timeNano":1000000001}"#
        let event = try JSONDecoder().decode(EngineEvent.self, from: Data(json.utf8))
        #expect(event.healthStatus == "healthy")
        #expect(event.exitCode == 3 && event.service == "db" && event.project == "p" && event.containerID == "abc")
        let tight = try JSONDecoder().decode(
            EngineEvent.self, from: Data(json.replacingOccurrences(of: ": healthy", with: ":unhealthy").utf8))
        #expect(tight.healthStatus == "unhealthy")
    }
}

@Suite("Engine client against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct EngineTests {
    let client: EngineClient
    init() throws { client = try EngineClient() }

    @Test func pingVersionInfo() async throws {
        #expect(try await client.ping())
        let version = try await client.version()
        #expect(version.os == "linux" && !version.version.isEmpty)
        // The client speaks the engine's own version (up to the newest it knows), never a pinned one.
        let negotiated = try await client.apiVersion()
        #expect(negotiated == min(try #require(APIVersion(version.apiVersion)), EngineClient.newestKnownAPI))
        let info = try await client.info()
        #expect(info.ncpu > 0 && info.memTotal > 0 && info.runtimes.contains("runc") && !info.dockerRootDir.isEmpty)
        print(
            "engine \(version.version) api \(version.apiVersion) \(version.arch); runtimes \(info.runtimes) default \(info.defaultRuntime)")
    }

    @Test func connectionFailures() async throws {
        let dir = "/tmp/\(EngineFixture.uniqueName())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let missing = "\(dir)/missing.sock"
        let missingClient = try EngineClient(environment: ["DOCKER_HOST": "unix://\(missing)"])
        await #expect(throws: EngineError.socketMissing(missing)) { try await missingClient.ping() }
        await #expect(throws: EngineError.socketMissing(missing)) {
            for try await _ in missingClient.events() {}
        }

        // A bound but non-listening socket refuses connections.
        let path = "\(dir)/refusing.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        await #expect(throws: EngineError.connectionRefused(path)) {
            try await EngineClient(endpoint: EngineEndpoint(socketPath: path)).ping()
        }
    }

    @Test func listWithLabelFilter() async throws {
        let name = EngineFixture.uniqueName(), other = EngineFixture.uniqueName()
        defer { _ = try? EngineFixture.docker("rm", "-f", name, other) }
        try EngineFixture.docker(
            "create", "--name", name, "--label", "engineclient-test=\(name)", "--label", "x=a b\"c", EngineFixture.image, "true")
        try EngineFixture.docker("create", "--name", other, "--label", "engineclient-test=\(other)", EngineFixture.image, "true")

        let found = try await client.listContainers(all: true, labels: ["engineclient-test=\(name)"])
        #expect(found.map(\.name) == [name])
        #expect(found.first?.labels["x"] == "a b\"c" && found.first?.state == "created")
        #expect(try await client.listContainers(all: true, labels: ["engineclient-test=\(name)", "x=a b\"c"]).count == 1)
        #expect(try await client.listContainers(all: false, labels: ["engineclient-test=\(name)"]).isEmpty)
        #expect(try await client.listContainers(all: true, labels: ["engineclient-test"]).count >= 2)
    }

    @Test func lifecycleAndInspectLatency() async throws {
        let name = EngineFixture.uniqueName()
        defer { _ = try? EngineFixture.docker("rm", "-f", name) }
        try EngineFixture.docker("create", "--name", name, "--restart", "on-failure:2", EngineFixture.image, "sleep", "300")

        try await client.startContainer(name)
        try await client.startContainer(name)  // 304: already running
        let details = try await client.inspectContainer(name)
        #expect(details.name == name && details.state.running && details.state.status == "running")
        #expect(details.hostConfig.restartPolicy?.name == "on-failure" && details.config.healthcheck == nil)

        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for _ in 0..<100 { _ = try await client.inspectContainer(name) }
        }
        print("100 x inspectContainer: \(elapsed), \(elapsed / 100) per call")
        let cliElapsed = try clock.measure { for _ in 0..<5 { try EngineFixture.docker("inspect", name) } }
        print("docker inspect via CLI: \(cliElapsed / 5) per call")

        try await client.stopContainer(name, timeoutSeconds: 0)
        try await client.stopContainer(name, timeoutSeconds: 0)  // 304: already stopped
        let stopped = try await client.inspectContainer(name)
        #expect(!stopped.state.running && stopped.state.exitCode == 137)
        try await client.restartContainer(name, timeoutSeconds: 0)
        #expect(try await client.inspectContainer(name).state.running)

        try await client.removeContainer(name, force: true, volumes: true)
        await #expect(throws: EngineError.self) { try await client.inspectContainer(name) }
        do {
            _ = try await client.inspectContainer(name)
        } catch let EngineError.http(status, message) {
            #expect(status == 404 && message.contains("No such container"))
        }
    }

    @Test func healthyEventArrives() async throws {
        let name = EngineFixture.uniqueName()
        defer { _ = try? EngineFixture.docker("rm", "-f", name) }
        let stream = client.events(since: Date(), labels: ["engineclient-test=\(name)"], actions: ["health_status"])
        let started = ContinuousClock.now
        let id = try EngineFixture.docker(
            "run", "-d", "--name", name, "--label", "engineclient-test=\(name)",
            "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms",
            EngineFixture.image, "sh", "-c", "touch /tmp/ok; exec sleep 300")

        // The action filter leaves nothing but health transitions: no exec_* noise.
        let event = try await EngineFixture.firstEvent(stream, within: 10) { _ in true }
        let received = Date().timeIntervalSince1970
        let healthy = try #require(event)
        #expect(healthy.containerID == id && healthy.action == "health_status: healthy" && healthy.name == name)
        print(
            "healthy after \(ContinuousClock.now - started); delivered \(Int((received * 1e9 - Double(healthy.timeNano)) / 1000)) µs after the engine stamped it"
        )

        let details = try await client.inspectContainer(name)
        #expect(details.state.health?.status == "healthy")
        #expect(details.config.healthcheck?.interval == 200_000_000)
        #expect(details.config.healthcheck?.test == ["CMD-SHELL", "test -f /tmp/ok"])
        // The last probe: the first may have run before the shell made /tmp/ok (a 200 ms interval, a loaded host).
        #expect(details.state.health?.log.last?.exitCode == 0)
    }

    @Test func dieEventAndLogs() async throws {
        let name = EngineFixture.uniqueName(), tty = EngineFixture.uniqueName()
        defer { _ = try? EngineFixture.docker("rm", "-f", name, tty) }
        try EngineFixture.docker(
            "create", "--name", name, "--label", "engineclient-test=\(name)",
            EngineFixture.image, "sh", "-c", "echo out; echo err >&2; exit 3")
        try EngineFixture.docker(
            "create", "-t", "--name", tty, "--label", "engineclient-test=\(name)",
            EngineFixture.image, "sh", "-c", "echo hello; echo world")
        let stream = client.events(since: Date(), labels: ["engineclient-test=\(name)"])
        try await client.startContainer(name)

        let died = try #require(try await EngineFixture.firstEvent(stream, within: 10) { $0.action == "die" })
        #expect(died.exitCode == 3 && died.name == name)
        // The engine may send `die` before its log copier has written the last lines (seen on Docker 26.1 under
        // CI load): the logs are read once they are complete, for at most 5 s.
        _ = try await E2E.eventually(within: .seconds(5)) { try await client.containerLogs(name, tail: 10).count >= 2 }
        #expect(Set(try await client.containerLogs(name, tail: 10)) == ["out", "err"])
        #expect(try await client.containerLogs(name, tail: 1).count == 1)
        #expect(try await client.inspectContainer(name).state.exitCode == 3)

        try await client.startContainer(tty)
        _ = try await EngineFixture.firstEvent(
            client.events(since: Date(timeIntervalSinceNow: -5), labels: ["engineclient-test=\(name)"]),
            within: 10
        ) { $0.action == "die" && $0.name == tty }
        _ = try await E2E.eventually(within: .seconds(5)) { try await client.containerLogs(tty, tail: -1).count >= 2 }
        #expect(try await client.containerLogs(tty, tail: -1) == ["hello", "world"])
    }

    /// Cancelling the consumer closes the stream's connection. Counted on a fake engine of the test's own, whose only
    /// client is this stream: the process's socket table is shared with every test running beside this one.
    @Test func eventStreamTerminationClosesSocket() async throws {
        let engine = try FakeEventEngine.start()
        defer { engine.stop() }
        let client = try EngineClient(environment: ["DOCKER_HOST": "tcp://127.0.0.1:\(engine.port)"])
        let task = Task { for try await _ in client.events(labels: ["engineclient-test=\(EngineFixture.uniqueName())"]) {} }
        #expect(await engine.wait(within: .seconds(10)) { $0.opened == 1 })
        let cancelled = ContinuousClock.now
        task.cancel()
        _ = await task.result
        #expect(await engine.wait(within: .seconds(10)) { $0.closed == 1 })
        print("event stream closed \(ContinuousClock.now - cancelled) after cancel")
        #expect(engine.counts.opened == 1)
    }

    @Test func removingMissingThingsIsFine() async throws {
        let name = EngineFixture.uniqueName()
        try await client.removeContainer(name, force: true)
        try await client.removeNetwork(name)
        try await client.removeVolume(name)
    }

    @Test func networksAndVolumes() async throws {
        let name = EngineFixture.uniqueName()
        let label = "engineclient-test=\(name)"
        defer {
            _ = try? EngineFixture.docker("network", "rm", name)
            _ = try? EngineFixture.docker("volume", "rm", "-f", name)
        }
        let networkID = try EngineFixture.docker("network", "create", "--label", label, name)
        try EngineFixture.docker("volume", "create", "--label", label, name)

        let networks = try await client.listNetworks(labels: [label])
        #expect(networks.map(\.id) == [networkID] && networks.first?.name == name && networks.first?.labels["engineclient-test"] == name)
        let volumes = try await client.listVolumes(labels: [label])
        #expect(
            volumes.map(\.name) == [name] && volumes.first?.labels["engineclient-test"] == name && volumes.first?.createdAt.isEmpty == false
        )

        try await client.removeNetwork(networkID)
        try await client.removeVolume(name, force: true)
        #expect(try await client.listNetworks(labels: [label]).isEmpty)
        #expect(try await client.listVolumes(labels: [label]).isEmpty)
    }

    @Test func systemDataUsageDecodes() async throws {
        let usage = try await client.systemDataUsage()
        #expect(usage.layersSize > 0 && !usage.images.isEmpty)
        print(
            "df: layers \(usage.layersSize) B, \(usage.images.count) images, \(usage.containers.count) containers, \(usage.volumes.count) volumes, \(usage.buildCache.count) build cache"
        )
    }

    @Test func concurrentRequests() async throws {
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 { group.addTask { try await client.ping() } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 32 && results.allSatisfy { $0 })
    }
}

/// An engine that answers `/_ping` and holds `/events` open (chunked, silent) until the client hangs up, counting
/// the event streams it served and the ones their clients closed.
final class FakeEventEngine: Sendable {
    struct Counts: Sendable { var opened = 0, closed = 0 }
    let port: Int
    private let descriptor: Int32
    private let state = Mutex(Counts())

    private init(descriptor: Int32, port: Int) {
        self.descriptor = descriptor
        self.port = port
    }

    static func start() throws -> FakeEventEngine {
        let (descriptor, port) = try Sockets.listen(host: "127.0.0.1")
        let engine = FakeEventEngine(descriptor: descriptor, port: port)
        // An event stream holds its connection: each client gets its own thread.
        Sockets.acceptLoop(descriptor) { client in Thread.detachNewThread { engine.serve(client) } }
        return engine
    }

    var counts: Counts { state.withLock { $0 } }

    /// Polls until `condition` holds or `limit` passes.
    func wait(within limit: Duration, until condition: (Counts) -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if condition(counts) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(counts)
    }

    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            // One request head at a time (GETs only: no bodies).
            while !String(decoding: pending, as: UTF8.self).contains("\r\n\r\n") {
                let count = read(client, &buffer, buffer.count)
                guard count > 0 else { return }
                pending += buffer[0..<count]
            }
            let text = String(decoding: pending, as: UTF8.self)
            let head = text.components(separatedBy: "\r\n\r\n")[0]
            pending = Array(text.dropFirst(head.utf8.count + 4).utf8)
            let target = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if target.contains("/events") {
                send(client, "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                state.withLock { $0.opened += 1 }
                while read(client, &buffer, buffer.count) > 0 {}
                state.withLock { $0.closed += 1 }
                return
            }
            let body = target.hasPrefix("/_ping") ? "OK" : #"{"message":"not in this fake"}"#
            let status = target.hasPrefix("/_ping") ? "200 OK" : "404 Not Found"
            send(client, "HTTP/1.1 \(status)\r\nApi-Version: 1.44\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
    }

    private func send(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
