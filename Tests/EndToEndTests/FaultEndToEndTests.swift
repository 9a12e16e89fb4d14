import Foundation
import LaunchKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults of the engine itself, through a unix-socket proxy in front of the real one that a test kills (connections
/// dropped, new ones refused) or freezes (everything accepted, nothing answered) while a launch runs.
@Suite("engine faults during a launch, through a fault proxy", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct FaultEndToEndTests {
    enum Fault: String, CustomStringConvertible, CaseIterable {
        case kill, freeze
        var description: String { rawValue }
    }

    /// db becomes healthy after 2 s, a slow job runs after it and api after the job: whatever moment the engine goes,
    /// something is still starting, created or pending.
    static let stack = """
        services:
          db:
            image: local/busybox:latest
            command: ["sh", "-c", "sleep 2; touch /tmp/ok; exec sleep 3600"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 2s, retries: 60}
          migrate:
            image: local/busybox:latest
            command: ["sh", "-c", "sleep 60"]
            depends_on: {db: {condition: service_healthy}}
          api:
            image: local/busybox:latest
            command: ["sleep", "3600"]
            depends_on: {migrate: {condition: service_completed_successfully}}
        """

    /// The engine killed or frozen 0.5, 2 and 4 s into a launch: the launch ends within 30 s with exit 6 naming the
    /// endpoint, never claims a rollback it could not make, and once the engine is back `launch down` (on the real
    /// socket) removes whatever the run left.
    @Test(arguments: [(Fault.kill, 0.5), (.kill, 2), (.kill, 4), (.freeze, 2), (.freeze, 4)])
    func anEngineLostMidLaunchIsItsOwnVerdictAndDownCleansUpOnceItIsBack(fault: Fault, after seconds: Double) async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {timeout: 90s}", stack: Self.stack)
            let socket = "/tmp/launch-fault-\(UUID().uuidString.prefix(8)).sock"
            let proxy = try Forwarder(listen: .unix(path: socket), to: EndpointEndToEndTests.suiteSocket)
            defer {
                proxy.stop()
                unlink(socket)
            }
            let clock = ContinuousClock(), began = clock.now
            let launch = try WatchedLaunch(project, ["demo", "--no-network", "-H", "unix://\(socket)"])
            defer { launch.stop() }
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            switch fault {
            case .kill: proxy.stop()
            case .freeze: proxy.freeze()
            }
            let status = await launch.exit(within: .seconds(45))
            let took = began.duration(to: clock.now)
            proxy.stop()
            let output = launch.all
            #expect(status == 6, "\(output)")
            #expect(took < .seconds(30 + seconds), "took \(took): \(output)")
            #expect(output.contains("stopped answering"), "\(output)")
            #expect(output.contains("unix://\(socket)"), "the endpoint is named: \(output)")
            #expect(!output.contains("was rolled back"), "\(output)")
            #expect(!output.contains("class:     configuration"), "no service is judged by a lost engine: \(output)")
            // The engine is back (the real socket): down removes whatever the run left, and nothing of it stays.
            let down = try await project.launch(["down", "demo"])
            #expect(down.status == 0, "\(down.all)")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left after down: \(left.stdout)")
        }
    }

    /// An engine that answers everything but `POST /containers/create`: Compose waits for it, launch gives it the
    /// stated deadline (a minute plus 2 s a container), then stops Compose with its process group, says so and removes
    /// what was made. No Compose process is left running.
    @Test func aCreateThatNeverAnswersEndsAtItsDeadlineWithNoChildLeft() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(stack: Self.stack)
            let socket = "/tmp/launch-fault-\(UUID().uuidString.prefix(8)).sock"
            let proxy = try Forwarder(listen: .unix(path: socket), to: EndpointEndToEndTests.suiteSocket)
            defer {
                proxy.stop()
                unlink(socket)
            }
            proxy.freeze(requestsContaining: "/containers/create")
            let clock = ContinuousClock(), began = clock.now
            let launch = try WatchedLaunch(project, ["demo", "--no-network", "-H", "unix://\(socket)"])
            defer { launch.stop() }
            let status = await launch.exit(within: .seconds(120))
            let took = began.duration(to: clock.now)
            let output = launch.all
            #expect(status == 1, "\(output)")
            #expect(took < .seconds(90), "took \(took): \(output)")
            #expect(output.contains("1m6s") || output.contains("66"), "the deadline is named: \(output)")
            let children = try await E2E.runner.run(Command("pgrep", ["-f", project.root]))
            #expect(children.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left running: \(children.stdout)")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
        }
    }

    /// Three services whose main process ignores SIGTERM, so each stop takes its whole 10 s grace.
    static let slowToStop = """
        services:
          a: {image: local/busybox:latest, command: ["sleep", "3600"]}
          b: {image: local/busybox:latest, command: ["sleep", "3600"]}
          c: {image: local/busybox:latest, command: ["sleep", "3600"]}
        """

    /// Ctrl-C during `launch down` ends it after the step it is on with exit 130, saying what it removed and what is
    /// still there; running it again finishes it.
    @Test func anInterruptedDownSaysWhatItDidAndWhatIsLeft() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {stability: 1s}", stack: Self.slowToStop)
            let up = try await project.launch(["demo"])
            try #require(up.status == 0, "\(up.all)")
            let down = try WatchedLaunch(project, ["down", "demo"])
            defer { down.stop() }
            try await Task.sleep(for: .seconds(1))
            kill(down.process.processIdentifier, SIGINT)
            let status = await down.exit(within: .seconds(30))
            #expect(status == 130, "\(down.all)")
            #expect(down.stderr.contains("interrupted"), "\(down.all)")
            #expect(down.stderr.contains("still there: containers"), "\(down.all)")
            let again = try await project.launch(["down", "demo"])
            #expect(again.status == 0, "\(again.all)")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        }
    }

    /// The engine lost during `launch down`: exit 6 naming the endpoint, what was removed and what is still there;
    /// once it is back, the same command finishes.
    @Test func anEngineLostDuringDownSaysWhatIsStillThere() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {stability: 1s}", stack: Self.slowToStop)
            let up = try await project.launch(["demo"])
            try #require(up.status == 0, "\(up.all)")
            let socket = "/tmp/launch-fault-\(UUID().uuidString.prefix(8)).sock"
            let proxy = try Forwarder(listen: .unix(path: socket), to: EndpointEndToEndTests.suiteSocket)
            defer {
                proxy.stop()
                unlink(socket)
            }
            let down = try WatchedLaunch(project, ["down", "demo", "-H", "unix://\(socket)"])
            defer { down.stop() }
            try await Task.sleep(for: .seconds(1))
            proxy.stop()
            let status = await down.exit(within: .seconds(40))
            #expect(status == 6, "\(down.all)")
            #expect(down.stderr.contains("unix://\(socket)") && down.stderr.contains("still there"), "\(down.all)")
            let again = try await project.launch(["down", "demo"])
            #expect(again.status == 0, "\(again.all)")
        }
    }
}
