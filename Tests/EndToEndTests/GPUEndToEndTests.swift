import Foundation
import LaunchKit
import Testing

/// GPU truth against the real engine. This machine has no GPU and no NVIDIA toolkit: every check here must say
/// so in the right words, and the smoke container must never pass.
@Suite("GPU requests and the GPU smoke container against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct GPUEndToEndTests {
    typealias Report = DoctorEndToEndTests.Report

    /// A busybox service that reserves GPUs in the base compose file, as vLLM and Ollama stacks do.
    static func gpuStack(_ device: String = "{driver: nvidia, count: 1, capabilities: [gpu]}") -> String {
        """
        services:
          web:
            image: \(Busybox.image)
            command: ["sleep", "3600"]
            deploy: {resources: {reservations: {devices: [\(device)]}}}
        """
    }

    /// Smoke containers of this project still on the engine (there must be none after any command).
    static func smokeContainers(_ project: TestProject) async throws -> [String] {
        let listed = try await E2E.docker(["ps", "-aq", "--filter", "label=launch.gpu-smoke=\(project.name)"])
        return listed.stdout.split(whereSeparator: \.isNewline).map(String.init)
    }

    @Test func theSmokeContainerReportsNoGPUAndIsRemoved() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(stack: Self.gpuStack())
            // nvidia-smi claims one H100, so the only thing left to find out is what the engine does.
            let smi = try E2E.fakeNvidiaSMI("h100-x1")
            defer { try? FileManager.default.removeItem(atPath: smi.directory) }

            let doctor = try await project.launch(["doctor", "demo", "--no-network", "--json"], environment: ["PATH": smi.path])
            let report = try Report(doctor)
            #expect(doctor.status == 2, "\(doctor.all)")
            #expect(report.status("gpu.requests") == "ok")
            #expect(report.status("gpu.smoke") == "fail", "\(report.evidence("gpu.smoke"))")
            #expect(
                report.evidence("gpu.smoke").hasPrefix("no GPU reachable from containers: the engine at "),
                "\(report.evidence("gpu.smoke"))")
            #expect(report.evidence("gpu.smoke").contains("refused web's request (1 GPU)"))
            #expect(try await Self.smokeContainers(project).isEmpty, "the smoke container was left behind")

            let skipped = try await project.launch(
                ["doctor", "demo", "--no-network", "--no-gpu-smoke", "--json"], environment: ["PATH": smi.path])
            #expect(try Report(skipped).status("gpu.smoke") == "skip")
            #expect(try Report(skipped).evidence("gpu.smoke") == "not run (--no-gpu-smoke)")
        }
    }

    @Test func aStackThatReservesGPUsItselfNeedsThemWithoutAGPUBlock() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(stack: Self.gpuStack("{driver: nvidia, count: 2, capabilities: [gpu]}"))
            let bare = ["PATH": "/usr/local/bin:/usr/bin:/bin"]  // no nvidia-smi on this machine

            let doctor = try await project.launch(["doctor", "demo", "--no-network"], environment: bare)
            #expect(doctor.status == 2, "\(doctor.all)")
            #expect(
                doctor.stdout.contains("FAIL gpu.requests: web (2 GPUs) requests GPUs, but no NVIDIA driver (nvidia-smi is not on PATH)"),
                "\(doctor.stdout)")
            #expect(doctor.stdout.contains("FAIL gpu.smoke: no GPU reachable from containers"), "\(doctor.stdout)")

            let launch = try await project.launch(["demo"], environment: bare)
            #expect(launch.status == 2, "\(launch.all)")
            #expect(launch.all.contains("gpu.requests: web (2 GPUs) requests GPUs"))
            let created = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(created.stdout.isEmpty, "launch created containers after a failed GPU preflight")

            let one = try E2E.fakeNvidiaSMI("h100-x1")
            defer { try? FileManager.default.removeItem(atPath: one.directory) }
            let short = try Report(
                try await project.launch(["doctor", "demo", "--no-network", "--no-gpu-smoke", "--json"], environment: ["PATH": one.path]))
            #expect(short.status("gpu.requests") == "fail")
            #expect(short.evidence("gpu.requests") == "web asks for 2 GPUs, 1 usable")

            let two = try E2E.fakeNvidiaSMI("h100-x2-nvlink")
            defer { try? FileManager.default.removeItem(atPath: two.directory) }
            let fits = try Report(
                try await project.launch(["doctor", "demo", "--no-network", "--no-gpu-smoke", "--json"], environment: ["PATH": two.path]))
            #expect(fits.status("gpu.requests") == "ok")
            #expect(fits.evidence("gpu.requests") == "web gets GPU0,GPU1")
            #expect(try await Self.smokeContainers(project).isEmpty)
        }
    }

    @Test func aRequiredProfileThatExtendsAnOptionalOneNeverRunsTheCPUOverlay() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                "base", extra: "gpu: {mode: optional, dual: gpu-dual.yml, single: gpu-single.yml, none: gpu-cpu.yml}",
                stack: DoctorEndToEndTests.sleeper())
            try project.write("environments/demo.yml", "name: demo\nextends: base\ngpu: {mode: required}\n")
            try project.write("compose/gpu-dual.yml", "services:\n  web:\n    environment: {GPUS: '2'}\n")
            try project.write("compose/gpu-single.yml", "services:\n  web:\n    environment: {GPUS: '1'}\n")
            try project.write("compose/gpu-cpu.yml", "services:\n  web:\n    environment: {GPUS: '0'}\n")
            let bare = ["PATH": "/usr/local/bin:/usr/bin:/bin"]

            let plan = try await project.launch(["plan", "demo"], environment: bare)
            #expect(!plan.stdout.contains("gpu-cpu.yml"), "\(plan.stdout)")
            let launch = try await project.launch(["demo"], environment: bare)
            #expect(launch.status == 2, "\(launch.all)")
            #expect(launch.all.contains("this profile requires a GPU (gpu.mode: required, never the CPU fallback)"))
            let created = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(created.stdout.isEmpty)

            for (fixture, file) in [("h100-x1", "gpu-single.yml"), ("h100-x2-nvlink", "gpu-dual.yml")] {
                let smi = try E2E.fakeNvidiaSMI(fixture)
                defer { try? FileManager.default.removeItem(atPath: smi.directory) }
                let json = try await project.launch(["plan", "demo", "--json"], environment: ["PATH": smi.path])
                let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
                #expect((object["overlay"] as? [String: Any])?["file"] as? String == file)
            }
        }
    }

    /// With two (pretend) GPUs on this machine and an engine reached over TCP whose own machine has no NVIDIA
    /// runtime, the plan claims no GPU and doctor of a GPU-requiring environment fails naming that engine; an engine
    /// that does not answer is exit 2 from plan, within seconds.
    @Test func aRemoteEngineIsJudgedByItsOwnMachinesGPUsNotThisOnes() async throws {
        let port = try Sockets.freePort()
        let proxy = try Forwarder(listen: .tcp(port: port), to: EndpointEndToEndTests.suiteSocket)
        defer { proxy.stop() }
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "gpu: {mode: required, dual: gpu-dual.yml, single: gpu-single.yml}",
                stack: "services:\n  web: {image: \(Busybox.image), command: [\"sleep\", \"3600\"]}\n")
            try project.write("compose/gpu-dual.yml", "services:\n  web:\n    environment: {GPUS: '2'}\n")
            try project.write("compose/gpu-single.yml", "services:\n  web:\n    environment: {GPUS: '1'}\n")
            let smi = try E2E.fakeNvidiaSMI("h100-x2-nvlink")
            defer { try? FileManager.default.removeItem(atPath: smi.directory) }
            let host = "tcp://127.0.0.1:\(port)"

            // Through the socket this machine's GPUs count: the dual overlay.
            let local = try await project.launch(["plan", "demo", "--json"], environment: ["PATH": smi.path])
            let localPlan = try #require(try JSONSerialization.jsonObject(with: Data(local.stdout.utf8)) as? [String: Any])
            #expect((localPlan["overlay"] as? [String: Any])?["file"] as? String == "gpu-dual.yml", "\(local.all)")

            let remote = try await project.launch(["plan", "demo", "--json", "--host", host], environment: ["PATH": smi.path])
            let remotePlan = try #require(
                try JSONSerialization.jsonObject(with: Data(remote.stdout.utf8)) as? [String: Any], "\(remote.all)")
            let overlay = remotePlan["overlay"] as? [String: Any] ?? [:]
            #expect(overlay["file"] == nil, "\(overlay)")
            #expect((overlay["reason"] as? String)?.contains("no GPU on the engine's machine (\(host)") == true, "\(overlay)")

            let doctor = try await project.launch(
                ["doctor", "demo", "--json", "--no-network", "--host", host], environment: ["PATH": smi.path])
            #expect(doctor.status == 2, "\(doctor.all)")
            let report = try Report(doctor)
            #expect(report.status("gpu.overlay") == "fail")
            #expect(report.evidence("gpu.overlay").contains(host), "\(report.evidence("gpu.overlay"))")
            #expect(report.evidence("gpu.devices").contains("not this one"), "\(report.evidence("gpu.devices"))")
            #expect(report.evidence("memory").contains("on the engine's machine"), "\(report.evidence("memory"))")

            let closed = try Sockets.freePort()
            let started = ContinuousClock.now
            let unreachable = try await project.launch(
                ["plan", "demo", "--host", "tcp://127.0.0.1:\(closed)"], environment: ["PATH": smi.path])
            #expect(unreachable.status == 2, "\(unreachable.all)")
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }
}
