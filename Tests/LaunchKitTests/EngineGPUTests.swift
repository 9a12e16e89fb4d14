import Foundation
import Testing

@testable import LaunchKit

/// A remote engine's GPUs, by its own word: `GET /info` recorded on this project's engines (Fixtures/docker/info),
/// with Docker 28.2's `DiscoveredDevices` added where a test needs them, and nvidia-smi output recorded on an H100.
struct EngineGPUTests {
    static func info(_ engine: String, adding extra: [String: Any] = [:]) throws -> EngineInfo {
        var object =
            try JSONSerialization.jsonObject(with: Data(Fixture.text("docker/info/\(engine).json").utf8)) as? [String: Any] ?? [:]
        object.merge(extra) { _, new in new }
        return try JSONDecoder().decode(EngineInfo.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static let endpoint = "tcp://gpu-box:2375 (--host)"

    @Test(arguments: ["docker-20.10", "docker-26.1"]) func anEngineWithoutTheNVIDIARuntimeHasNoGPUWhateverThisMachineHas(engine: String)
        throws
    {
        let info = try Self.info(engine)
        #expect(info.runtimes.contains("runc"))
        #expect(!info.systemTime.isEmpty)
        let gpus = EngineGPUProbe.decide(.init(info: info, container: nil), endpoint: Self.endpoint)
        #expect(gpus.count == 0)
        #expect(gpus.evidence.hasPrefix("the engine has no NVIDIA runtime and lists no CDI GPU devices (runtimes: "))
        let probe = GPUProbe.engine(gpus)
        #expect(probe.count == 0)
        #expect(probe.whyNoGPU.hasPrefix("no GPU on the engine's machine (tcp://gpu-box:2375 (--host))"))
        let overlay = OverlayDecision.decide(
            Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil), probe: probe)
        #expect(overlay.file == nil)
        #expect(overlay.failure?.contains("tcp://gpu-box:2375") == true)
    }

    @Test func gpusTheEngineDiscoveredThroughCDIAreCountedWithoutAContainer() throws {
        let devices: [[String: String]] = [
            ["Source": "cdi", "ID": "nvidia.com/gpu=0"], ["Source": "cdi", "ID": "nvidia.com/gpu=1"],
            ["Source": "cdi", "ID": "nvidia.com/gpu=all"], ["Source": "cdi", "ID": "nvidia.com/gpu=0:1"],
        ]
        let info = try Self.info("docker-26.1", adding: ["DiscoveredDevices": devices, "CDISpecDirs": ["/etc/cdi"]])
        let gpus = EngineGPUProbe.decide(.init(info: info, container: nil), endpoint: Self.endpoint)
        #expect(gpus.count == 2)
        let overlay = OverlayDecision.decide(
            Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil), probe: .engine(gpus))
        #expect(overlay.file == "dual.yml")
        #expect(overlay.reason.contains("on the engine at tcp://gpu-box:2375"))
        // The listed devices are what requests are checked against: two GPUs fit, three do not; their memory is unknown.
        let stack = try ComposeModelReader.read(
            config:
                "services:\n  vllm:\n    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}\n"
        )
        let profile = Profile.fixture(gpu: .init(mode: .required, dual: "dual.yml", single: "single.yml"))
        let checks = GPUChecks.plan(profile, probe: .engine(gpus), overlay: overlay, stack: stack)
        #expect(checks.first { $0.id == "gpu.requests" }?.status == .ok, "\(checks)")
        #expect(checks.first { $0.id == "gpu.memory" }?.status == .skip)
    }

    @Test func withTheNVIDIARuntimeAProbeContainersNvidiaSMIGivesTheInventory() throws {
        let runtimes: [String: Any] = ["runc": ["path": "runc"], "nvidia": ["path": "nvidia-container-runtime"]]
        let info = try Self.info("docker-26.1", adding: ["Runtimes": runtimes])
        let csv = try Fixture.text("nvidia-smi/h100-x1/query-gpu.csv")
        let gpus = EngineGPUProbe.decide(.init(info: info, container: .listed(csv)), endpoint: Self.endpoint)
        #expect(gpus.count == 1)
        #expect(gpus.inventory?.gpus.first?.name.contains("H100") == true)
        #expect(GPUChecks.devices(.engine(gpus)).evidence.contains("on the engine's machine"))

        // The engine has no GPU driver to give: none.
        let refused = EngineGPUProbe.decide(
            .init(info: info, container: .failed("the engine refused the GPU request: could not select device driver \"nvidia\"")),
            endpoint: Self.endpoint)
        #expect(refused.count == 0)
        // nvidia-smi could not run in the image: unknown, said as such.
        let unknown = EngineGPUProbe.decide(
            .init(info: info, container: .failed("nvidia-smi in local/busybox:latest exited 127: not found")), endpoint: Self.endpoint)
        #expect(unknown.count == nil)
        #expect(GPUProbe.engine(unknown).whyNoGPU.hasPrefix("the GPUs of the engine at tcp://gpu-box:2375 (--host) are unknown"))
        #expect(GPUChecks.devices(.engine(unknown)).status == .warn)
        #expect(EngineGPUProbe.rank("nvidia/cuda:12.4.1-base-ubuntu22.04") < EngineGPUProbe.rank("local/busybox:latest"))
    }
}
