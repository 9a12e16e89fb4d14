import Testing

@testable import LaunchKit

@Suite("GPU inventory and overlay decision")
struct GPUTests {
    @Test func parsesRealH100QueryOutput() throws {
        let gpus = GPUInventory.parseQuery(try Fixture.text("nvidia-smi/h100-x1/query-gpu.csv"))
        #expect(gpus.count == 1)
        #expect(gpus[0].name == "NVIDIA H100 80GB HBM3")
        #expect(gpus[0].uuid == "GPU-7168be2e-cb71-b0b9-d7ee-70227e2c9dc9")
        #expect(gpus[0].memoryTotalMiB == 81559)
        #expect(gpus[0].memoryFreeMiB == 81079)
        #expect(gpus[0].driverVersion == "580.159.04")
        #expect(gpus[0].computeCapability == "9.0")
    }

    @Test func parsesTheShortFormWithHeaderAndUnits() throws {
        let gpus = GPUInventory.parseQuery(try Fixture.text("nvidia-smi/h100-x1/query-gpu-header.csv"))
        #expect(gpus.map(\.memoryTotalMiB) == [81559])
    }

    @Test func listAndTopologyOfOneGPU() throws {
        #expect(GPUInventory.parseList(try Fixture.text("nvidia-smi/h100-x1/list-gpus.txt")) == 1)
        #expect(GPUInventory.parseTopology(try Fixture.text("nvidia-smi/h100-x1/topo-m.txt")) == nil)
    }

    @Test func topologyTellsNVLinkFromPCIe() throws {
        #expect(GPUInventory.parseTopology(try Fixture.text("nvidia-smi/h100-x2-nvlink/topo-m.txt")) == .nvlink(18))
        #expect(GPUInventory.parseTopology(try Fixture.text("nvidia-smi/a6000-x2-pcie/topo-m.txt")) == .pcie("SYS"))
        #expect(GPUInventory.parseList(try Fixture.text("nvidia-smi/h100-x2-nvlink/list-gpus.txt")) == 2)
    }

    static let overlays = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: "cpu.yml")

    private func probe(_ folder: String) throws -> GPUProbe {
        var inventory = GPUInventory(gpus: GPUInventory.parseQuery(try Fixture.text("nvidia-smi/\(folder)/query-gpu.csv")))
        if inventory.count > 1 {
            inventory.link01 = GPUInventory.parseTopology(try Fixture.text("nvidia-smi/\(folder)/topo-m.txt"))
        }
        return .found(inventory)
    }

    @Test func twoGPUsWithNVLinkGetTheDualOverlay() throws {
        let decision = OverlayDecision.decide(Self.overlays, probe: try probe("h100-x2-nvlink"))
        #expect(decision.choice == .dual)
        #expect(decision.file == "dual.yml")
        #expect(decision.warning == nil)
        #expect(decision.reason == "2 GPUs found (NVIDIA H100 80GB HBM3): dual-GPU overlay")
    }

    @Test func twoGPUsWithoutNVLinkWarnButStayDual() throws {
        let decision = OverlayDecision.decide(Self.overlays, probe: try probe("a6000-x2-pcie"))
        #expect(decision.choice == .dual)
        #expect(decision.failure == nil)
        #expect(decision.warning?.contains("PCIe (SYS), not NVLink") == true)
    }

    @Test func oneGPUFallsBackToSingle() throws {
        let decision = OverlayDecision.decide(Self.overlays, probe: try probe("h100-x1"))
        #expect(decision.choice == .single)
        #expect(decision.reason == "1 GPU found (NVIDIA H100 80GB HBM3): single-GPU fallback")
    }

    @Test func noGPUUsesTheCPUOverlayOrFailsWhenRequired() {
        let optional = OverlayDecision.decide(Self.overlays, probe: .notInstalled)
        #expect(optional.choice == .none)
        #expect(optional.file == "cpu.yml")
        #expect(optional.reason.hasPrefix("no NVIDIA driver"))

        let required = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let failed = OverlayDecision.decide(required, probe: .found(GPUInventory(gpus: [])))
        #expect(failed.file == nil)
        #expect(failed.failure == "this profile requires a GPU (gpu.mode: required, never the CPU fallback): nvidia-smi lists no GPUs")

        let optionalNoCPU = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: nil)
        let bare = OverlayDecision.decide(optionalNoCPU, probe: .notInstalled)
        #expect(bare.choice == .noOverlay)
        #expect(bare.failure == nil)
    }

    @Test func brokenDriverIsItsOwnDiagnosis() throws {
        let message = try Fixture.text("nvidia-smi/driver-mismatch/stdout.txt")
        let required = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let decision = OverlayDecision.decide(required, probe: .failed(status: 18, message: message))
        #expect(
            decision.failure?.contains("nvidia-smi failed (exit 18: Failed to initialize NVML: Driver/library version mismatch)") == true)
    }

    @Test func modeNoneNeverProbes() {
        let decision = OverlayDecision.decide(.init(mode: .none), probe: .found(GPUInventory(gpus: [])))
        #expect(decision.choice == .noOverlay)
    }

    @Test func probeRunsTopologyOnlyForTwoOrMore() async throws {
        let runner = RecordingRunner()
        runner.on(
            [
                "nvidia-smi",
                "--query-gpu=index,name,uuid,memory.total,memory.used,memory.free,utilization.gpu,driver_version,pci.bus_id,compute_cap",
                "--format=csv,noheader,nounits",
            ],
            ProcessOutput(status: 0, stdout: try Fixture.text("nvidia-smi/h100-x2-nvlink/query-gpu.csv")))
        runner.on(["nvidia-smi", "topo", "-m"], ProcessOutput(status: 0, stdout: try Fixture.text("nvidia-smi/h100-x2-nvlink/topo-m.txt")))
        runner.on(["nvidia-smi"], ProcessOutput(status: 0))
        let probe = await GPUProbe.run(NvidiaSMI(), runner: runner)
        #expect(probe.inventory?.link01 == .nvlink(18))
        #expect(runner.calls.map(\.arguments).contains(["topo", "-m"]))
        #expect(runner.calls.map(\.arguments).contains(["topo", "-p2p", "n"]))

        let single = RecordingRunner()
        single.on(["nvidia-smi", "--query-gpu"], ProcessOutput(status: 0, stdout: try Fixture.text("nvidia-smi/h100-x1/query-gpu.csv")))
        single.on(["nvidia-smi"], ProcessOutput(status: 0))
        _ = await GPUProbe.run(NvidiaSMI(), runner: single)
        #expect(!single.calls.contains { $0.arguments.first == "topo" })

        let missing = RecordingRunner()
        missing.onMissing("nvidia-smi")
        #expect(await GPUProbe.run(NvidiaSMI(), runner: missing) == .notInstalled)

        let broken = RecordingRunner()
        broken.on(["nvidia-smi"], ProcessOutput(status: 18, stdout: try Fixture.text("nvidia-smi/driver-mismatch/stdout.txt")))
        guard case .failed(18, let message) = await GPUProbe.run(NvidiaSMI(), runner: broken) else {
            Issue.record("expected a failed probe")
            return
        }
        #expect(message.hasPrefix("Failed to initialize NVML: Driver/library version mismatch"))
    }
}
