import Foundation
import Testing

@testable import LaunchKit

@Suite("Docker cleanup")
struct CleanupTests {
    @Test func theEngineSaysExactlyWhatThePruneRemoves() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("docker/engine-system-df.json")))
        let usage = DiskUsage(engine: try JSONDecoder().decode(SystemDataUsage.self, from: data))
        // The tagged images stay; the dangling one frees only the layer it does not share.
        #expect(usage.category(.images)?.prunable.bytes == 4_081_314 - 1_984_162)
        #expect(usage.category(.images)?.reclaimable.bytes == 5_129_890)
        #expect(usage.category(.containers)?.prunable.bytes == 3_145_728)
        #expect(usage.category(.containers)?.active == 1)
        #expect(usage.category(.volumes)?.prunable.bytes == 0)
        #expect(usage.category(.volumes)?.reclaimable.bytes == 1_048_576)
        let candidates = try #require(usage.candidates)
        #expect(candidates.map(\.name) == ["fixture-junk-2", "fixture-junk-1", "4d8e945f8358"])
        #expect(candidates.map(\.kind) == [.containers, .containers, .images])
        #expect(usage.source == "engine API")

        let labelled = DiskUsage(engine: try JSONDecoder().decode(SystemDataUsage.self, from: data), label: "launch.fixture=1")
        #expect(labelled.candidates?.count == 3)
        let other = DiskUsage(engine: try JSONDecoder().decode(SystemDataUsage.self, from: data), label: "launch.fixture=2")
        #expect(other.candidates == [])
    }

    private func usage(prunable: UInt64, of total: UInt64) -> DiskUsage {
        DiskUsage(
            categories: [
                .init(
                    kind: .images, count: 1, active: 0, size: ByteSize(bytes: total), reclaimable: ByteSize(bytes: total),
                    prunable: ByteSize(bytes: prunable)),
                .init(
                    kind: .volumes, count: 1, active: 0, size: ByteSize(bytes: 10 * total), reclaimable: ByteSize(bytes: 10 * total),
                    prunable: ByteSize(bytes: 0)),
            ],
            candidates: nil, source: "test")
    }

    @Test func thePolicyPrunesOnlyAboveTheThreshold() {
        let policy = Profile.CleanupPolicy(reclaimablePercent: 30)
        let above = CleanupDecision.decide(usage(prunable: 31, of: 100), policy: policy)
        #expect(above.prune)
        #expect(above.reason == "31 B of 100 B (31%) is prunable, above the 30% threshold")
        // Volumes are never pruned, so they are not part of the base either.
        #expect(!CleanupDecision.decide(usage(prunable: 30, of: 100), policy: policy).prune)
        #expect(CleanupDecision.decide(usage(prunable: 0, of: 0), policy: policy).reason == "nothing to prune")
        #expect(!CleanupDecision.decide(usage(prunable: 50, of: 100), policy: .init(reclaimablePercent: 80)).prune)
        #expect(CleanupDecision.decide(usage(prunable: 1, of: 100), policy: .init(reclaimablePercent: 0)).prune)
    }

    @Test func reclaimedSpaceIsReadFromThePruneOutput() {
        #expect(Cleanup.reclaimed("Deleted Containers:\nabc\n\nTotal reclaimed space: 3.146MB\n") == ByteSize(bytes: 3_146_000))
        #expect(Cleanup.reclaimed("Total reclaimed space: 0B") == ByteSize(bytes: 0))
        #expect(Cleanup.reclaimed("nothing") == nil)
    }

    @Test func pruneCommandsNeverTouchVolumes() {
        let context = LaunchContext(runner: RecordingRunner(), environment: [:], console: CapturedOutput().console(), workingDirectory: "/")
        #expect(
            Cleanup(context: context).commands.map(\.argv) == [
                ["docker", "container", "prune", "--force"],
                ["docker", "image", "prune", "--force"],
                ["docker", "builder", "prune", "--force"],
            ])
        #expect(
            Cleanup(context: context, label: "ci=1").commands.map(\.argv) == [
                ["docker", "container", "prune", "--force", "--filter", "label=ci=1"],
                ["docker", "image", "prune", "--force", "--filter", "label=ci=1"],
            ])
        for command in Cleanup(context: context).commands {
            #expect(
                !command.arguments.contains("volume") && !command.arguments.contains("--volumes") && !command.arguments.contains("--all"))
        }
    }

    /// A remote engine (tcp://), read through the Engine API like any other (the fake answers with a real
    /// `GET /system/df`); the prunes are CLI commands the runner answers.
    private func remoteCleanup() throws -> (Cleanup, RecordingRunner) {
        let runner = RecordingRunner()
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("docker/engine-system-df.json")))
        let engine = LoudEngine()
        let usage = try JSONDecoder().decode(SystemDataUsage.self, from: data)
        engine.systemDataUsage = { usage }
        runner.on(["docker", "container", "prune"], ProcessOutput(status: 0, stdout: "Total reclaimed space: 3.146MB\n"))
        runner.on(["docker", "image", "prune"], ProcessOutput(status: 0, stdout: "Total reclaimed space: 2.097MB\n"))
        runner.on(["docker", "builder", "prune"], ProcessOutput(status: 0, stdout: "Total reclaimed space: 0B\n"))
        let context = LaunchContext(
            runner: runner, environment: ["DOCKER_HOST": "tcp://127.0.0.1:9"], console: CapturedOutput().console(),
            workingDirectory: "/")
        return (Cleanup(context: context, label: nil, engine: engine), runner)
    }

    @Test func aDryRunChangesNothing() async throws {
        let (cleanup, runner) = try remoteCleanup()
        let report = try await cleanup.prune(dryRun: true)
        #expect(report.dryRun)
        #expect(report.steps.allSatisfy { !$0.ran })
        #expect(runner.calls.isEmpty)
        let text = CleanupRenderer.lines(report).joined(separator: "\n")
        #expect(text.contains("Would remove (dry run, nothing changed)"))
        #expect(text.contains("volumes      1      0       1.0 MiB  1.0 MiB      never"))
        #expect(text.hasSuffix("Volumes are never removed."))
    }

    @Test func pruningRemovesContainersFirstAndAddsUpWhatWasReclaimed() async throws {
        let (cleanup, runner) = try remoteCleanup()
        let report = try await cleanup.prune(dryRun: false)
        #expect(runner.calls.map { $0.arguments.prefix(2).joined(separator: " ") }.prefix(2) == ["container prune", "image prune"])
        #expect(report.reclaimed == ByteSize(bytes: 5_243_000))
        #expect(!report.failed)
        let json = try JSONOutput.encode(report)
        #expect(json.contains("\"reclaimed\" : 5243000"))
    }

    @Test func runIfNeededFollowsThePolicy() async throws {
        let (cleanup, runner) = try remoteCleanup()
        // The fixture is all prunable at Docker's figure: far above 30 %, and never above 100 %.
        let pruned = try await cleanup.runIfNeeded(policy: .init(reclaimablePercent: 30))
        #expect(pruned?.decision?.prune == true)
        let calls = runner.calls.count
        #expect(try await cleanup.runIfNeeded(policy: .init(reclaimablePercent: 100)) == nil)
        #expect(runner.calls.count == calls)  // only the engine's usage was read
    }
}
