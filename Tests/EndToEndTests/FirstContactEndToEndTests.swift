import Foundation
import LaunchKit
import Testing

/// What a newcomer types, with the conventions Docker and Compose taught them: global options before the command,
/// `ps`, `-p`, no services meaning all of them, next steps that run from where they were printed.
@Suite("First contact against a real engine", .tags(.docker), .enabled(if: E2E.enabled))
struct FirstContactEndToEndTests {
    static let image = Busybox.image
    static let stack = """
        services:
          db:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 3600 & wait"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 250ms, timeout: 2s, retries: 3}
          api:
            image: \(image)
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            depends_on: {db: {condition: service_healthy}}
        """

    /// `launch <words>` run from `directory`, with no `--project-dir` added.
    static func run(_ words: [String], from directory: String) async throws -> E2E.Result {
        try await E2E.launch(words, in: directory)
    }

    @Test(.timeLimit(.minutes(3)))
    func globalOptionsGoFirstAndNextStepsRunFromWhereTheyWerePrinted() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {retries: 0, stability: 1s}", stack: Self.stack)
            let elsewhere = FileManager.default.temporaryDirectory.path
            let up = try await Self.run(["--project-dir", project.root, "demo", "--no-network"], from: elsewhere)
            #expect(up.status == 0, "\(up.all)")
            // The printed next step carries the --project-dir the user gave, and works as printed from there.
            let next = try #require(up.stderr.split(separator: "\n").first { $0.hasPrefix("next: ") }, "\(up.stderr)")
            #expect(next.contains("launch --project-dir \(project.root) status demo"), "\(next)")
            let status = try await Self.run(["--project-dir", project.root, "status", "demo"], from: elsewhere)
            #expect(status.status == 0 && status.stdout.contains("api"), "\(status.all)")
            let ps = try await Self.run(["--project-dir=\(project.root)", "-H", E2E.suiteHost, "ps", "demo", "--json"], from: elsewhere)
            #expect(ps.status == 0 && ps.stdout.contains("\"db\""), "\(ps.all)")
            // No service named: every service, as in Compose (dependents first).
            let stop = try await Self.run(["stop", "demo", "--project-dir", project.root], from: elsewhere)
            #expect(stop.status == 0, "\(stop.all)")
            let dbRuns = await E2E.isRunning("\(project.name)-db-1"), apiRuns = await E2E.isRunning("\(project.name)-api-1")
            #expect(!dbRuns && !apiRuns)
            // `launch` alone in the project: the usage and its environments, exit 0.
            let alone = try await Self.run([], from: project.root)
            #expect(alone.status == 0 && alone.stdout.contains("usage: launch") && alone.stdout.contains("demo"), "\(alone.all)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aProjectNameOfOnesOwnSharesTheEngine() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(extra: "health: {retries: 0, stability: 1s}", stack: Self.stack)
            let mine = project.name + "-mine"
            try await EndpointEndToEndTests.ensuring(
                { try await shareTheEngine(project, as: mine) }, cleanup: { await project.destroy(project: mine) })
        }
    }

    func shareTheEngine(_ project: TestProject, as mine: String) async throws {
        do {
            let theirs = try await project.launch(["demo", "--no-network"])
            #expect(theirs.status == 0, "\(theirs.all)")
            let ours = try await project.launch(["-p", mine, "demo", "--no-network"])
            #expect(ours.status == 0, "\(ours.all)")
            let oursRuns = await E2E.isRunning("\(mine)-db-1"), theirsRuns = await E2E.isRunning("\(project.name)-db-1")
            #expect(oursRuns && theirsRuns)
            let down = try await project.launch(["down", "demo", "--project-name", mine])
            #expect(down.status == 0, "\(down.all)")
            #expect(!(await E2E.isRunning("\(mine)-db-1")))
            #expect(await E2E.isRunning("\(project.name)-db-1"), "the profile's own project is untouched")
        }
    }
}
