import Foundation

/// The GPUs of an engine that is not on this machine (`tcp://`, `ssh://`, a context), learned through that engine —
/// never this machine's `nvidia-smi`. In order: the devices the engine itself lists (CDI, Docker 28.2+); else, where
/// the engine has the NVIDIA runtime or CDI, one short-lived container on an image already there, given every GPU
/// and running `nvidia-smi` as the toolkit injects it (the same query as on this machine, so the same inventory);
/// else none. What cannot be learned is said to be unknown, with why.
public enum EngineGPUProbe {
    /// What the engine said, and what the probe container answered (nil: none was run).
    struct Evidence: Sendable, Equatable {
        var info: EngineInfo
        var container: ContainerAnswer?
    }

    enum ContainerAnswer: Sendable, Equatable {
        /// nvidia-smi's CSV, from a container that exited 0.
        case listed(String)
        /// Why no count came back: no image to run, the engine refused the GPU request, nvidia-smi failed.
        case failed(String)
    }

    /// Marks the probe container (value: the endpoint), so one left behind can be found.
    static let label = "launch.engine-gpus"

    public static func run(client: EngineClient) async throws -> GPUProbe {
        let info = try await client.info()
        var evidence = Evidence(info: info, container: nil)
        // A container is worth starting only where the engine has the NVIDIA runtime, or CDI without saying which
        // devices it discovered (before Docker 28.2): an engine that lists its devices has said it already.
        if cdiGPUs(info).isEmpty && (hasNVIDIARuntime(info) || (info.discoveredDevices == nil && !(info.cdiSpecDirs ?? []).isEmpty)) {
            evidence.container = await countInContainer(client)
        }
        return .engine(decide(evidence, endpoint: "\(client.endpoint)"))
    }

    /// `nvidia.com/gpu=0`, `=1` … as the engine discovered them (not `=all`, nor MIG slices `=0:1`).
    static func cdiGPUs(_ info: EngineInfo) -> [String] {
        (info.discoveredDevices ?? []).map(\.id).filter { id in
            guard id.hasPrefix("nvidia.com/gpu=") else { return false }
            return id.dropFirst("nvidia.com/gpu=".count).allSatisfy(\.isNumber)
        }
    }

    static func hasNVIDIARuntime(_ info: EngineInfo) -> Bool { info.runtimes.contains("nvidia") }

    static func decide(_ evidence: Evidence, endpoint: String) -> EngineGPUs {
        let info = evidence.info
        let devices = cdiGPUs(info)
        if !devices.isEmpty {
            // What the engine lists is what requests are checked against: each `nvidia.com/gpu=<i>` a GPU of that index.
            let gpus = devices.compactMap { Int($0.dropFirst("nvidia.com/gpu=".count)) }.sorted().map {
                GPU(index: $0, name: "NVIDIA GPU (CDI)", uuid: "", memoryTotalMiB: 0)
            }
            return EngineGPUs(
                endpoint: endpoint, count: devices.count, inventory: GPUInventory(gpus: gpus),
                evidence: "the engine lists \(GPUWords.count(devices.count)) (CDI: \(devices.joined(separator: ", ")))")
        }
        switch evidence.container {
        case .listed(let csv)?:
            let gpus = GPUInventory.parseQuery(csv)
            return EngineGPUs(
                endpoint: endpoint, count: gpus.count, inventory: GPUInventory(gpus: gpus),
                evidence: "a container given every GPU saw \(GPUWords.count(gpus.count)) (nvidia-smi inside it)")
        case .failed(let why)? where why.contains("could not select device driver"):
            // The engine itself says it has no GPU driver to give: none, not unknown.
            return EngineGPUs(
                endpoint: endpoint, count: 0, inventory: nil,
                evidence: "the engine has no device driver for GPUs (it refused a request for every GPU: \(why))")
        case .failed(let why)?:
            return EngineGPUs(
                endpoint: endpoint, count: nil, inventory: nil,
                evidence:
                    "the engine has \(hasNVIDIARuntime(info) ? "the NVIDIA runtime" : "CDI") but its GPUs could not be counted: \(why)")
        case nil:
            let runtimes = info.runtimes.isEmpty ? "none listed" : info.runtimes.joined(separator: ", ")
            return EngineGPUs(
                endpoint: endpoint, count: 0, inventory: nil,
                evidence: "the engine has no NVIDIA runtime and lists no CDI GPU devices (runtimes: \(runtimes))")
        }
    }

    /// Runs `nvidia-smi --query-gpu=…` in a container given every GPU, on the first image the engine already has
    /// (never pulled), and removes it whatever happens.
    static func countInContainer(_ client: EngineClient) async -> ContainerAnswer {
        // Images most likely to run the injected nvidia-smi (glibc, the machine's architecture) first; a few are tried.
        let tags = ((try? await client.imageTags()) ?? []).sorted { rank($0) < rank($1) }
        guard !tags.isEmpty else {
            return .failed("the engine has no image to run a probe container from (launch never pulls one for this)")
        }
        var last = ContainerAnswer.failed("no probe container ran")
        for image in tags.prefix(3) {
            last = await countInContainer(client, image: image)
            if case .listed = last { return last }
            if case .failed(let why) = last, why.contains("could not select device driver") { return last }
        }
        return last
    }

    /// CUDA and glibc distributions first, then anything else; minimal images (busybox, alpine, distroless) last.
    static func rank(_ tag: String) -> Int {
        let name = tag.lowercased()
        if ["cuda", "nvidia", "vllm", "pytorch", "tritonserver"].contains(where: name.contains) { return 0 }
        if ["ubuntu", "debian", "python", "fedora", "rockylinux"].contains(where: name.contains) { return 1 }
        if ["busybox", "alpine", "distroless", "scratch"].contains(where: name.contains) { return 3 }
        return 2
    }

    static func countInContainer(_ client: EngineClient, image: String) async -> ContainerAnswer {
        let query = NvidiaSMI().queryGPUs()
        let request = ContainerCreateRequest(
            image: image, entrypoint: [query.executable], command: query.arguments, labels: [label: "\(client.endpoint)"],
            deviceRequests: [DeviceRequest(driver: "nvidia", count: -1, deviceIDs: nil, capabilities: [["gpu"]])])
        switch await client.runOnce(request, name: "launch-engine-gpus-\(UUID().uuidString.prefix(8).lowercased())") {
        case .notCreated(let why): return .failed("could not create a probe container from \(image): \(why)")
        case .refused(let message): return .failed("the engine refused the GPU request: \(message)")
        case .exited(0, let output): return .listed(output.joined(separator: "\n"))
        case .exited(let code, let output): return .failed("nvidia-smi in \(image) exited \(code): \(output.last ?? "no output")")
        }
    }
}

/// What an engine that is not on this machine says of its GPUs (`GPUProbe.engine`).
public struct EngineGPUs: Sendable, Hashable {
    public var endpoint: String
    /// nil: unknown (the engine could not say, and no probe container could count them).
    public var count: Int?
    /// From nvidia-smi inside a probe container, when one ran.
    public var inventory: GPUInventory?
    /// Where the figure came from, in words.
    public var evidence: String
}
