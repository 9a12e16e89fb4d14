import Foundation
import Testing

@testable import LaunchKit

/// A `ContainerEngine` that answers only what a test scripted and records every call. Anything else is a test
/// failure (recorded as an issue) and throws `LoudEngine.Unexpected`: a driver that asks the engine for more than
/// the test expected is caught, not silently answered.
final class LoudEngine: ContainerEngine, @unchecked Sendable {
    struct Unexpected: Error, CustomStringConvertible {
        var call: String
        var description: String { "unexpected engine call: \(call)" }
    }

    let endpoint = EngineEndpoint(socketPath: "/loud-fake.sock")
    private let lock = NSLock()
    private var recorded: [String] = []

    var ping: (@Sendable () throws -> Bool)?
    var listContainers: (@Sendable (_ all: Bool, _ labels: [String]) throws -> [ContainerSummary])?
    var inspectContainer: (@Sendable (String) throws -> ContainerDetails)?
    var startContainer: (@Sendable (String) throws -> Void)?
    var stopContainer: (@Sendable (String) throws -> Void)?
    var restartContainer: (@Sendable (String) throws -> Void)?
    var removeContainer: (@Sendable (_ id: String, _ volumes: Bool) throws -> Void)?
    var listNetworks: (@Sendable ([String]) throws -> [NetworkSummary])?
    var removeNetwork: (@Sendable (String) throws -> Void)?
    var listVolumes: (@Sendable ([String]) throws -> [VolumeSummary])?
    var removeVolume: (@Sendable (String) throws -> Void)?
    var systemDataUsage: (@Sendable () throws -> SystemDataUsage)?
    var probe: (@Sendable (String, [String]) throws -> EngineClient.ProbeAnswer)?
    var stats: (@Sendable (String) throws -> ContainerStats)?
    var containerLogs: (@Sendable (String) throws -> [String])?
    var swarmLogs: (@Sendable (SwarmLogSource) throws -> [String])?
    var firstLogLine: (@Sendable (String, String) throws -> String?)?
    /// Events the subscription hands out (a test yields into `eventSink`); nil: subscribing is unexpected.
    var events: AsyncThrowingStream<EngineEvent, any Error>?
    var eventSink: AsyncThrowingStream<EngineEvent, any Error>.Continuation?

    /// Every call, in order, as `method(argument)`.
    var calls: [String] { lock.withLock { recorded } }

    /// Opens an event stream the drivers subscribe to; `emit` feeds it.
    func openEvents() {
        let (stream, continuation) = AsyncThrowingStream<EngineEvent, any Error>.makeStream()
        events = stream
        eventSink = continuation
    }

    func emit(_ action: String, container: String, service: String, exitCode: Int? = nil, at nanoseconds: Int64? = nil) {
        var attributes = [ComposeLabels.service: service]
        if let exitCode { attributes["exitCode"] = String(exitCode) }
        let time = nanoseconds ?? Int64(Date().timeIntervalSince1970 * 1e9)
        let json: [String: Any] = [
            "Type": "container", "Action": action, "Actor": ["ID": container, "Attributes": attributes], "time": time / 1_000_000_000,
            "timeNano": time,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: json),
            let event = try? JSONDecoder().decode(EngineEvent.self, from: data)
        else {
            Issue.record("could not build a \(action) event")
            return
        }
        eventSink?.yield(event)
    }

    private func answer<T>(_ call: String, _ handler: (() throws -> T)?) throws -> T {
        lock.withLock { recorded.append(call) }
        guard let handler else {
            Issue.record("unexpected engine call: \(call)")
            throw Unexpected(call: call)
        }
        return try handler()
    }

    func ping(timeout: Duration) async throws -> Bool {
        try answer("ping", ping.map { handler in { try handler() } })
    }
    func listContainers(all: Bool, labels: [String]) async throws -> [ContainerSummary] {
        try answer("listContainers(all: \(all))", listContainers.map { handler in { try handler(all, labels) } })
    }
    func inspectContainer(_ id: String) async throws -> ContainerDetails {
        try answer("inspectContainer(\(id))", inspectContainer.map { handler in { try handler(id) } })
    }
    func startContainer(_ id: String) async throws {
        try answer("startContainer(\(id))", startContainer.map { handler in { try handler(id) } })
    }
    func stopContainer(_ id: String, timeoutSeconds: Int) async throws {
        try answer("stopContainer(\(id))", stopContainer.map { handler in { try handler(id) } })
    }
    func restartContainer(_ id: String, timeoutSeconds: Int) async throws {
        try answer("restartContainer(\(id))", restartContainer.map { handler in { try handler(id) } })
    }
    func removeContainer(_ id: String, force: Bool, volumes: Bool) async throws {
        try answer("removeContainer(\(id))", removeContainer.map { handler in { try handler(id, volumes) } })
    }
    func listNetworks(labels: [String]) async throws -> [NetworkSummary] {
        try answer("listNetworks", listNetworks.map { handler in { try handler(labels) } })
    }
    func removeNetwork(_ id: String) async throws {
        try answer("removeNetwork(\(id))", removeNetwork.map { handler in { try handler(id) } })
    }
    func listVolumes(labels: [String]) async throws -> [VolumeSummary] {
        try answer("listVolumes", listVolumes.map { handler in { try handler(labels) } })
    }
    func removeVolume(_ name: String, force: Bool) async throws {
        try answer("removeVolume(\(name))", removeVolume.map { handler in { try handler(name) } })
    }
    func systemDataUsage() async throws -> SystemDataUsage {
        try answer("systemDataUsage", systemDataUsage.map { handler in { try handler() } })
    }
    func probe(_ container: String, command: [String], timeout: Duration) async throws -> EngineClient.ProbeAnswer {
        try answer("probe(\(container))", probe.map { handler in { try handler(container, command) } })
    }
    func stats(_ id: String) async throws -> ContainerStats {
        try answer("stats(\(id))", stats.map { handler in { try handler(id) } })
    }
    func containerLogs(_ id: String, tail: Int) async throws -> [String] {
        try answer("containerLogs(\(id))", containerLogs.map { handler in { try handler(id) } })
    }
    func swarmLogs(_ source: SwarmLogSource, tail: Int) async throws -> [String] {
        try answer("swarmLogs(\(source))", swarmLogs.map { handler in { try handler(source) } })
    }
    func firstLogLine(_ id: String, matching pattern: String) async throws -> String? {
        try answer("firstLogLine(\(id))", firstLogLine.map { handler in { try handler(id, pattern) } })
    }
    func projectEvents(_ project: String, sinceNanoseconds: Int64?, actions: [String]) -> AsyncThrowingStream<EngineEvent, any Error> {
        lock.withLock { recorded.append("projectEvents(\(project))") }
        guard let events else {
            Issue.record("unexpected engine call: projectEvents(\(project))")
            return AsyncThrowingStream { $0.finish(throwing: Unexpected(call: "projectEvents")) }
        }
        return events
    }
    func subscribe(project: String, actions: [String]) async -> (events: AsyncThrowingStream<EngineEvent, any Error>, resumeFrom: Int64) {
        (projectEvents(project, sinceNanoseconds: nil, actions: actions), 0)
    }
}

/// Engine documents for the fake, decoded from JSON as the engine sends them.
enum EngineDocuments {
    static func decode<T: Decodable>(_ type: T.Type, _ object: Any) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func container(
        _ id: String, service: String, project: String, state: String = "running", volumes: [String] = [], created: Int64 = 1
    ) throws -> ContainerSummary {
        try decode(
            ContainerSummary.self,
            [
                "Id": id, "Names": ["/\(project)-\(service)-1"], "Image": "local/busybox:latest", "ImageID": "sha256:\(id)", "State": state,
                "Status": state, "Labels": [ComposeLabels.project: project, ComposeLabels.service: service], "Created": created,
                "Ports": [Any](), "Mounts": volumes.map { ["Type": "volume", "Name": $0] },
            ])
    }

    static func network(_ id: String, _ name: String) throws -> NetworkSummary {
        try decode(NetworkSummary.self, ["Id": id, "Name": name, "Labels": [String: String]()])
    }

    static func volume(_ name: String, project: String) throws -> VolumeSummary {
        try decode(VolumeSummary.self, ["Name": name, "Labels": [ComposeLabels.project: project], "CreatedAt": ""])
    }
}
