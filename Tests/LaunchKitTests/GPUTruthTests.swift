import Foundation
import Testing

@testable import LaunchKit

/// The stack's own GPU requests, `required` through `extends`, CDI, memory, P2P, shared memory and the smoke
/// container's verdicts — each decided on real (or documented) tool output.
@Suite("GPU truth: requests, modes, CDI, capacity, smoke")
struct GPUTruthTests {
    static func inventory(_ folder: String, query: String = "query-gpu.csv") throws -> GPUInventory {
        var inventory = GPUInventory(gpus: GPUInventory.parseQuery(try Fixture.text("nvidia-smi/\(folder)/\(query)")))
        if let p2p = try? Fixture.text("nvidia-smi/\(folder)/topo-p2p-n.txt") { inventory.p2p = P2PMatrix.parse(p2p) }
        if let apps = try? Fixture.text("nvidia-smi/\(folder)/query-compute-apps.csv") { inventory.processes = GPUProcess.parse(apps) }
        if let list = try? Fixture.text("nvidia-smi/\(folder)/list-gpus.txt") { inventory.migDevices = MIGDevice.parseList(list) }
        return inventory
    }

    static func stack(_ services: String) throws -> ComposeStack {
        try ComposeModelReader.read(config: "services:\n" + services)
    }

    static let mismatch = GPUProbe.failed(
        status: 18, message: "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.159")

    // MARK: Requests

    @Test func everyFormOfGPURequestIsCountedRight() throws {
        let stack = try Self.stack(
            """
              joined:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['0,1,2,3,4,5,6,7'], capabilities: [gpu]}]}}}
              cdi:
                deploy: {resources: {reservations: {devices: [{driver: cdi, device_ids: [nvidia.com/gpu=all]}]}}}
              every:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}
              counted:
                deploy: {resources: {reservations: {devices: [{capabilities: [gpu], count: 2}]}}}
              direct:
                devices: [nvidia.com/gpu=1, /dev/fuse]
              cpu:
                image: busybox
            """)
        #expect(stack.service("joined")?.gpuCount == 8)
        #expect(stack.service("joined")?.gpuDeviceIDs == ["0", "1", "2", "3", "4", "5", "6", "7"])
        #expect(stack.service("cdi")?.gpuCount == -1)
        #expect(stack.service("cdi")?.gpuRequests.first?.driver == .cdi)
        #expect(stack.service("every")?.gpuCount == -1)
        #expect(stack.service("counted")?.gpuCount == 2)
        #expect(stack.service("counted")?.gpuRequests.first?.description == "2 GPUs")
        #expect(stack.service("direct")?.gpuRequests == [GPURequest(driver: .cdi, deviceIDs: ["nvidia.com/gpu=1"], capabilities: [])])
        #expect(stack.service("cpu")?.requestsGPUs == false)
    }

    @Test func aVariableCountIsInterpolatedBeforeItIsRead() throws {
        let project = try TemporaryProject()
        try project.write(
            "compose/a.yml",
            """
            services:
              vllm:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: "${GPU_COUNT:-2}", capabilities: [gpu]}]}}}
            """)
        let stack = try ComposeModelReader.read(files: [project.root + "/compose/a.yml"], lookup: { $0 == "GPU_COUNT" ? "4" : nil })
        #expect(stack.service("vllm")?.gpuCount == 4)
    }

    @Test func requestsAreHeldAgainstTheGPUsPresent() throws {
        let one = try Self.inventory("h100-x1")
        let twoAsked = GPUDemand(
            stack: try Self.stack(
                """
                  vllm:
                    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
                """), inventory: one)
        #expect(twoAsked.shortfalls.map(\.service) == ["vllm"])
        #expect(twoAsked.shortfalls.first?.shortfall == "asks for 2 GPUs, 1 usable")

        let named = GPUDemand(
            stack: try Self.stack(
                """
                  vllm:
                    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['1', '2'], capabilities: [gpu]}]}}}
                """), inventory: one)
        #expect(named.shortfalls.first?.shortfall == "names devices 1, 2, which do not exist (present: GPU0)")

        let shared = GPUDemand(
            stack: try Self.stack(
                """
                  vllm:
                    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}
                  embedder:
                    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['0'], capabilities: [gpu]}]}}}
                """), inventory: try Self.inventory("h100-x2-nvlink"))
        #expect(shared.shortfalls.isEmpty)
        #expect(shared.shared.map(\.gpu) == [0])
        let check = GPUChecks.requests(shared, probe: .found(try Self.inventory("h100-x2-nvlink")), profile: ProfileFixture.profile(.none))
        #expect(check.status == .warn)
        #expect(check.evidence == "embedder gets GPU0; vllm gets GPU0: GPU0 (embedder, vllm) claimed by more than one service")
    }

    @Test func aBaseStackThatReservesGPUsFailsWithoutThemNamingTheServices() throws {
        let stack = try Self.stack(
            """
              vllm:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
              web:
                image: busybox
            """)
        let profile = ProfileFixture.profile(.none)
        let none = GPUChecks.plan(
            profile, probe: .notInstalled, overlay: OverlayDecision.decide(profile.gpu, probe: .notInstalled), stack: stack)
        let failed = try #require(none.first { $0.id == "gpu.requests" })
        #expect(failed.status == .fail)
        #expect(failed.evidence == "vllm (2 GPUs) requests GPUs, but no NVIDIA driver (nvidia-smi is not on PATH)")

        let one = GPUProbe.found(try Self.inventory("h100-x1"))
        let short = GPUChecks.plan(profile, probe: one, overlay: OverlayDecision.decide(profile.gpu, probe: one), stack: stack)
        #expect(short.first { $0.id == "gpu.requests" }?.status == .fail)
        #expect(short.first { $0.id == "gpu.requests" }?.remediation?.contains("deploy.resources.reservations.devices of vllm") == true)

        let two = GPUProbe.found(try Self.inventory("h100-x2-nvlink"))
        let fits = GPUChecks.plan(profile, probe: two, overlay: OverlayDecision.decide(profile.gpu, probe: two), stack: stack)
        #expect(fits.first { $0.id == "gpu.requests" }?.status == .ok)
        #expect(fits.first { $0.id == "gpu.requests" }?.evidence == "vllm gets GPU0,GPU1")
        #expect(!fits.contains { $0.status == .fail })
    }

    // MARK: Modes

    @Test func requiredNeverTakesTheCPUOverlayAndOptionalMay() throws {
        // What the loader hands over for `required` that extends an optional profile: its CPU overlay dropped.
        let required = Profile.GPUSettings(mode: .required, dual: "dual.yml", single: "single.yml", none: nil)
        let none = OverlayDecision.decide(required, probe: .notInstalled)
        #expect(none.file == nil)
        #expect(
            none.failure
                == "this profile requires a GPU (gpu.mode: required, never the CPU fallback): no NVIDIA driver (nvidia-smi is not on PATH)")
        #expect(OverlayDecision.decide(required, probe: .found(try Self.inventory("h100-x1"))).choice == .single)
        #expect(OverlayDecision.decide(required, probe: .found(try Self.inventory("h100-x2-nvlink"))).choice == .dual)

        let optional = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: "cpu.yml")
        #expect(OverlayDecision.decide(optional, probe: .notInstalled).file == "cpu.yml")
    }

    @Test func aDriverMismatchFailsARequiredProfileAndAnOptionalOneFallsBack() throws {
        let required = ProfileFixture.profile(.required)
        let overlay = OverlayDecision.decide(required.gpu, probe: Self.mismatch)
        #expect(
            overlay.failure?.contains("nvidia-smi failed (exit 18: Failed to initialize NVML: Driver/library version mismatch)") == true)
        let checks = GPUChecks.plan(required, probe: Self.mismatch, overlay: overlay, stack: ComposeStack(services: []))
        let failed = try #require(checks.first { $0.id == "gpu.overlay" })
        #expect(failed.status == .fail)
        #expect(failed.remediation == "reboot (or reload the nvidia kernel modules) so the running driver matches the installed libraries")

        let optional = Profile.GPUSettings(mode: .optional, dual: "dual.yml", single: "single.yml", none: "cpu.yml")
        let fallback = OverlayDecision.decide(optional, probe: Self.mismatch)
        #expect(fallback.file == "cpu.yml")
        #expect(fallback.failure == nil)
        #expect(
            fallback.reason.hasPrefix(
                "the NVIDIA driver is not usable: nvidia-smi failed (exit 18: Failed to initialize NVML: Driver/library version mismatch)"))
    }

    @Test func exitSixIsNoGPUOnEveryLine() throws {
        let probe = GPUProbe.failed(status: 6, message: try Fixture.text("nvidia-smi/no-gpu/stdout.txt"))
        #expect(probe.whyNoGPU == "nvidia-smi finds no GPU (exit 6: No devices were found)")
        #expect(GPUChecks.devices(probe).evidence == "nvidia-smi finds no GPU (exit 6: No devices were found)")
        #expect(GPUChecks.driverDiagnosis(status: 6, message: "No devices were found") == nil)
    }

    @Test func requiredProfilesThroughExtends() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                gpu: {mode: optional, single: gpu-single.yml, dual: gpu-dual.yml, none: cpu.yml}
                """)
        try project.write("compose/cpu.yml", "services:\n  web:\n    environment: {CPU: '1'}\n")
        try project.write("environments/strict.yml", "name: strict\nextends: demo\ngpu: {mode: required}\nrequires: {gpu_memory: 70GiB}\n")
        try project.write("environments/own.yml", "name: own\ncompose: {project: own, files: [app.yml]}\ngpu: {mode: required}\n")
        try project.write(
            "environments/wrong.yml",
            """
            name: wrong
            compose: {project: wrong, files: [app.yml]}
            gpu:
              mode: required
              single: gpu-single.yml
              none: cpu.yml
            """)
        let catalog = project.catalog()
        let strict = try catalog.profile(named: "strict")
        #expect(strict.gpu == Profile.GPUSettings(mode: .required, dual: "gpu-dual.yml", single: "gpu-single.yml", none: nil))
        #expect(strict.requires.gpuMemory == ByteSize(bytes: 70 << 30))
        #expect(try catalog.profile(named: "own").gpu.mode == .required)
        do {
            _ = try catalog.profile(named: "wrong")
            Issue.record("an explicit CPU overlay in a required profile was accepted")
        } catch let error as ConfigurationError {
            let problem = try #require(error.problems.first)
            #expect(problem.location.file == "environments/wrong.yml")
            #expect(problem.location.line == 6)
            #expect(problem.message.hasPrefix("gpu.none names a CPU overlay, but gpu.mode is required"))
            #expect(error.exitCode == .invalidConfiguration)
        }
    }

    // MARK: MIG, visibility, memory, P2P, shared memory

    @Test func migDevicesAreListedNotCountedAsWholeGPUs() throws {
        let inventory = try Self.inventory("a100-mig")
        #expect(inventory.migDevices.map(\.profile) == ["3g.20gb", "1g.5gb", "1g.5gb"])
        #expect(inventory.migDevices.first?.uuid == "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f")
        #expect(inventory.count == 1)
        #expect(inventory.resolve("0:1")?.mig?.profile == "1g.5gb")
        #expect(
            GPUChecks.devices(.found(inventory)).evidence.contains(
                "GPU0 is split into 3 MIG devices (3g.20gb, 1g.5gb, 1g.5gb), not counted as a whole GPU"))
    }

    @Test func visibleDevicesRestrictTheCount() throws {
        var inventory = try Self.inventory("h100-x2-nvlink")
        inventory.visibility = GPUVisibility.from(["CUDA_VISIBLE_DEVICES": "1"])
        #expect(inventory.usable.map(\.index) == [1])
        inventory.visibility = GPUVisibility.from(["NVIDIA_VISIBLE_DEVICES": "none"])
        #expect(GPUProbe.found(inventory).whyNoGPU == "2 GPUs present but none visible (NVIDIA_VISIBLE_DEVICES=none)")
        #expect(GPUVisibility.from(["CUDA_VISIBLE_DEVICES": "all"]) == nil)
    }

    @Test func memoryInUseIsNamedAndHeldAgainstTheRequirement() throws {
        let busy = try Self.inventory("h100-x2-nvlink", query: "query-gpu-busy.csv")
        #expect(busy.processes.map(\.pid) == [48213, 51877])
        #expect(busy.processes.first?.name == "python3")
        let warned = GPUChecks.memory(busy, claimed: [0], required: nil)
        #expect(warned.status == .warn)
        #expect(warned.evidence == "GPU0: 42.3 GiB in use, held by python3 (pid 48213, 40.0 GiB), ollama (pid 51877, 2.3 GiB)")
        let failed = GPUChecks.memory(busy, claimed: [0, 1], required: try ByteSize.parse("70GiB"))
        #expect(failed.status == .fail)
        #expect(failed.evidence.hasPrefix("GPU0 has 36.9 GiB free of 79.6 GiB, held by python3 (pid 48213"))
        #expect(failed.remediation?.hasPrefix("stop what holds it (pid 48213, 51877)") == true)
        #expect(GPUChecks.memory(busy, claimed: [1], required: try ByteSize.parse("70GiB")).status == .ok)
    }

    @Test func peerToPeerOverNVLinkIsReadForTheTensorParallelGPUs() throws {
        let nvlink = try Self.inventory("h100-x2-nvlink")
        #expect(nvlink.p2p?.status(0, 1) == "OK")
        #expect(GPUChecks.p2p(nvlink, gpus: [0, 1])?.status == .ok)
        let pcie = try Self.inventory("a6000-x2-pcie")
        let check = try #require(GPUChecks.p2p(pcie, gpus: [0, 1]))
        #expect(check.status == .warn)
        #expect(check.evidence.hasPrefix("no P2P over NVLink between GPU0↔GPU1 NS (not supported)"))
    }

    @Test func tensorParallelWithoutSharedMemoryWarnsWithTheLineToAdd() throws {
        let stack = try Self.stack(
            """
              vllm:
                command: ["--model", "m", "--tensor-parallel-size", "2"]
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}
              host:
                command: ["python3", "-m", "sglang.launch_server", "--tp", "2"]
                ipc: host
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
              ollama:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 4, capabilities: [gpu]}]}}}
              tgi:
                command: ["--model-id", "m", "--num-shard=2"]
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}
              sized:
                command: serve --tensor-parallel-size=4
                shm_size: "17179869184"
                deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}
            """)
        let vllm = try #require(stack.service("vllm")?.tensorParallelism)
        #expect(vllm.size == 2)
        let warned = GPUChecks.sharedMemory(vllm)
        #expect(warned.status == .warn)
        #expect(warned.remediation == "add `ipc: host` (or `shm_size: 16gb`) under services.vllm in its compose file")
        #expect(try #require(stack.service("host")?.tensorParallelism).hasEnoughSharedMemory)
        #expect(try #require(stack.service("sized")?.tensorParallelism).size == 4)
        // Four GPUs and no word of tensor parallelism to the server: none assumed (Ollama uses no NCCL).
        #expect(stack.service("ollama")?.tensorParallelism == nil)
        #expect(try #require(stack.service("tgi")?.tensorParallelism).size == 2)
        #expect(GPUChecks.sharedMemory(try #require(stack.service("sized")?.tensorParallelism)).status == .ok)
    }

    @Test func aDeviceDriverTheEngineDoesNotHaveFailsDoctorAndThePlanSaysSo() throws {
        // LocalAI's documented form: the engine refuses it at create (could not select device driver).
        let stack = try Self.stack(
            """
              localai:
                deploy: {resources: {reservations: {devices: [{driver: nvidia.com/gpu, count: all, capabilities: [gpu]}]}}}
            """)
        #expect(stack.service("localai")?.unknownDeviceDrivers == ["nvidia.com/gpu"])
        let results = GPUChecks.plan(
            Profile.fixture(), probe: .found(try Self.inventory("h100-x1")), overlay: .init(choice: .noOverlay, file: nil, reason: ""),
            stack: stack)
        let check = try #require(results.first { $0.id == "gpu.drivers" })
        #expect(check.status == .fail)
        #expect(check.evidence.hasPrefix("localai (driver: nvidia.com/gpu): the engine has only the `nvidia` and `cdi` device drivers"))
    }

    @Test func aGPUShortfallDoctorFailsOnIsAPlanWarning() throws {
        let stack = try Self.stack(
            """
              nim-llm:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["1", "2"], capabilities: [gpu]}]}}}
            """)
        let warning = try #require(
            Planner.gpuShortfall(
                stack, probe: .found(try Self.inventory("h100-x1")),
                profile: Profile.fixture(gpu: .init(mode: .required, dual: "dual.yml", single: "single.yml"))))
        #expect(
            warning.hasSuffix(
                "`launch doctor \(Profile.fixture(gpu: .init(mode: .required, dual: "dual.yml", single: "single.yml")).name)` fails on it (gpu.requests)"
            ))
        #expect(warning.contains("nim-llm"))
        let fits = try Self.stack(
            """
              nim-llm:
                deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
            """)
        #expect(
            Planner.gpuShortfall(
                fits, probe: .found(try Self.inventory("h100-x1")),
                profile: Profile.fixture(gpu: .init(mode: .required, dual: "dual.yml", single: "single.yml"))) == nil)
    }

    // MARK: CDI and the toolkit

    static func facts(_ fixture: String) throws -> EngineFacts {
        let info = try JSONDecoder().decode(EngineInfo.self, from: Data(Fixture.text("docker/cdi/\(fixture)").utf8))
        return EngineFacts(endpoint: EngineEndpoint(socketPath: "/var/run/docker.sock"), info: info)
    }

    @Test func cdiRequestsAreCheckedAgainstTheEnginesDevices() throws {
        let facts = try Self.facts("info-cdi.json")
        #expect(facts.info?.cdiSpecDirs == ["/etc/cdi", "/var/run/cdi"])
        #expect(facts.info?.discoveredDevices?.count == 5)
        let ok = GPUToolkitChecks.cdiDevices(facts, requested: ["nvidia.com/gpu=all"], cdi: .init())
        #expect(ok.status == .ok)
        #expect(ok.evidence == "the engine discovered nvidia.com/gpu=all (spec dirs /etc/cdi, /var/run/cdi)")
        let missing = GPUToolkitChecks.cdiDevices(facts, requested: ["nvidia.com/gpu=3"], cdi: .init())
        #expect(missing.status == .fail)
        #expect(missing.evidence.hasPrefix("unresolvable CDI device nvidia.com/gpu=3"))
        #expect(missing.remediation?.contains("sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml") == true)

        let old = GPUToolkitChecks.cdiDevices(try Self.facts("info-no-cdi.json"), requested: ["nvidia.com/gpu=all"], cdi: .init())
        #expect(old.status == .fail)
        #expect(old.evidence.contains("reports no CDI spec directories"))
        #expect(old.remediation?.contains("\"features\": {\"cdi\": true}") == true)
    }

    @Test func aSpecForAnotherDriverIsAStaleSpec() throws {
        let spec = try #require(CDISpec.parse(try Fixture.text("docker/cdi/nvidia-stale.yaml"), path: "/etc/cdi/nvidia.yaml"))
        #expect(spec.kind == "nvidia.com/gpu")
        #expect(spec.devices == ["nvidia.com/gpu=0", "nvidia.com/gpu=GPU-7168be2e-cb71-b0b9-d7ee-70227e2c9dc9", "nvidia.com/gpu=all"])
        #expect(spec.driverVersion == "550.54.15")
        #expect(CDISpec.parseList(try Fixture.text("docker/cdi/nvidia-ctk-cdi-list.txt")) == spec.devices)

        let stale = try #require(GPUToolkitChecks.staleSpec([spec], driverVersion: "580.159.04", usedByStack: true))
        #expect(stale.status == .fail)
        #expect(
            stale.evidence == "stale CDI spec: /etc/cdi/nvidia.yaml was generated for driver 550.54.15, the running driver is 580.159.04")
        #expect(stale.remediation?.hasPrefix("regenerate it: `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`") == true)
        #expect(GPUToolkitChecks.staleSpec([spec], driverVersion: "580.159.04", usedByStack: false)?.status == .warn)
        #expect(GPUToolkitChecks.staleSpec([spec], driverVersion: "550.54.15", usedByStack: true) == nil)
    }

    // MARK: Smoke container

    @Test func theSmokeContainerAsksTheEngineForTheServicesOwnRequest() throws {
        let service = try #require(
            try Self.stack(
                """
                  vllm:
                    image: vllm/vllm-openai
                    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ['0,1'], capabilities: [gpu]}]}}}
                """
            ).service("vllm"))
        let request = ContainerCreateRequest(
            image: "vllm/vllm-openai", entrypoint: ["/bin/sh", "-c"], command: ["ls -1 /dev"], labels: ["launch.gpu-smoke": "p"],
            deviceRequests: service.gpuRequests.map(\.engineRequest))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(request), as: UTF8.self)
        #expect(json.contains(#""DeviceRequests":[{"Capabilities":[["gpu"]],"Count":0,"DeviceIDs":["0","1"],"Driver":"nvidia"}]"#))
        #expect(json.contains(#""NetworkMode":"none""#))

        let refused = GPUSmokeTest.evaluate(
            .refused(#"could not select device driver "nvidia" with capabilities: [[gpu]]"#),
            service: service, image: "vllm/vllm-openai", endpoint: "unix:///var/run/docker.sock")
        #expect(refused.status == .fail)
        #expect(
            refused.evidence.hasPrefix(
                "no GPU reachable from containers: the engine at unix:///var/run/docker.sock refused vllm's request (GPUs 0,1)"))
        let seen = GPUSmokeTest.evaluate(
            .exited(code: 0, output: ["null", "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"]),
            service: service, image: "vllm/vllm-openai", endpoint: "")
        #expect(seen.status == .ok)
        #expect(seen.evidence.contains("/dev/nvidia0, /dev/nvidia1, /dev/nvidiactl, /dev/nvidia-uvm"))
        let empty = GPUSmokeTest.evaluate(.exited(code: 0, output: ["null", "zero"]), service: service, image: "x", endpoint: "")
        #expect(empty.status == .fail)
        #expect(empty.evidence.hasPrefix("no GPU in the container"))
        #expect(GPUSmokeTest.evaluate(.exited(code: 127, output: []), service: service, image: "x", endpoint: "").status == .warn)
    }

    @Test func theProbeAsksForMIGProcessesAndPeerToPeer() async throws {
        let runner = RecordingRunner()
        let folder = "nvidia-smi/h100-x2-nvlink/"
        runner.on(NvidiaSMI().queryGPUs().argv, ProcessOutput(status: 0, stdout: try Fixture.text(folder + "query-gpu.csv")))
        runner.on(NvidiaSMI().listGPUs().argv, ProcessOutput(status: 0, stdout: try Fixture.text(folder + "list-gpus.txt")))
        runner.on(NvidiaSMI().computeApps().argv, ProcessOutput(status: 0, stdout: try Fixture.text(folder + "query-compute-apps.csv")))
        runner.on(NvidiaSMI().topology().argv, ProcessOutput(status: 0, stdout: try Fixture.text(folder + "topo-m.txt")))
        runner.on(NvidiaSMI().p2p().argv, ProcessOutput(status: 0, stdout: try Fixture.text(folder + "topo-p2p-n.txt")))
        let probe = await GPUProbe.run(NvidiaSMI(), runner: runner, environment: ["CUDA_VISIBLE_DEVICES": "0"])
        let inventory = try #require(probe.inventory)
        #expect(inventory.count == 1)
        #expect(inventory.processes.count == 2)
        #expect(inventory.p2p?.status(1, 0) == "OK")
        #expect(
            NvidiaSMI().computeApps().arguments == [
                "--query-compute-apps=gpu_uuid,pid,process_name,used_memory", "--format=csv,noheader,nounits",
            ])
        #expect(NvidiaSMI().p2p().arguments == ["topo", "-p2p", "n"])
        #expect(NvidiaCTK().cdiList().arguments == ["cdi", "list"])
    }
}

/// A minimal profile for checks that only read its name, file and GPU settings.
enum ProfileFixture {
    static func profile(_ mode: Profile.GPUSettings.Mode) -> Profile {
        Profile.fixture(gpu: mode == .none ? .init(mode: .none) : .init(mode: mode, dual: "dual.yml", single: "single.yml"))
    }
}
