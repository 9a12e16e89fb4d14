import Foundation
import LaunchKit
import Testing

/// A Docker CLI older than the engine accepts (Debian's 20.10 `docker`, API 1.41, against an engine that refuses
/// below 1.44 as Docker 29 does): doctor fails it by name, and `launch logs` says the refusal as an error instead of
/// printing it as a log line. CI has both: `/usr/bin/docker` is 20.10 and one of its engines refuses it.
@Suite("An old Docker CLI against a newer engine", .tags(.docker), .enabled(if: E2E.enabled))
struct CLICompatibilityEndToEndTests {
    static let oldCLI = "/usr/bin/docker"

    /// The engine (the suite's or the other one) that refuses `oldCLI`; nil where there is no such pair.
    static func refusingHost() async -> String? {
        guard FileManager.default.isExecutableFile(atPath: oldCLI) else { return nil }
        for host in [E2E.suiteHost] + (E2E.otherHost.map { [$0] } ?? []) {
            let answer = try? await E2E.runner.run(Command(oldCLI, ["-H", host, "version", "--format", "{{.Server.APIVersion}}"]))
            if let answer, !answer.succeeded, answer.stderr.contains("too old") { return host }
        }
        return nil
    }

    @Test(.timeLimit(.minutes(2)))
    func doctorFailsTheCLIAndLogsSaysTheRefusalAsAnError() async throws {
        guard let host = await Self.refusingHost() else { return }  // no old CLI and newer engine here: nothing to prove
        try await E2E.withProject { project in
            try project.writeProfile(stack: "services:\n  app:\n    image: \(Busybox.image)\n")
            let path = "/usr/bin:/bin:/usr/sbin:/sbin"  // the old CLI first, whatever the suite's PATH says
            let doctor = try await project.launch(["doctor", "-H", host, "--json"], environment: ["PATH": path])
            #expect(doctor.status == 2, "\(doctor.all)")
            let report = try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any]
            let cli = (report?["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "docker.cli" }
            #expect(cli?["status"] as? String == "fail", "\(String(describing: cli))")
            #expect((cli?["evidence"] as? String)?.contains("refuses clients below 1.44") == true, "\(String(describing: cli))")

            // A container of the project, made through the Engine API (the old CLI cannot make one there).
            let endpoint = try EngineEndpoint.resolve(hostFlag: host, contextFlag: nil, environment: [:])
            let client = EngineClient(endpoint: endpoint)
            let id = try await client.createContainer(
                ContainerCreateRequest(
                    image: Busybox.image, entrypoint: [], command: ["echo", "hello"],
                    labels: ["com.docker.compose.project": project.name, "com.docker.compose.service": "app"], deviceRequests: []),
                name: "\(project.name)-app-1")
            try await client.startContainer(id)
            let logs = try await project.launch(["logs", "demo", "-H", host], environment: ["PATH": path])
            #expect(logs.status == 2, "\(logs.all)")
            #expect(logs.stderr.contains("this Docker CLI is too old for the engine"), "\(logs.all)")
        }
    }
}
