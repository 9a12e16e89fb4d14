import Foundation

/// One GPU as `nvidia-smi --query-gpu` reports it.
public struct GPU: Sendable, Hashable, Codable {
    public var index: Int
    public var name: String
    public var uuid: String
    public var memoryTotalMiB: Int
    public var memoryUsedMiB: Int?
    public var memoryFreeMiB: Int?
    public var driverVersion: String?
    public var busID: String?
    public var computeCapability: String?
}

/// How GPU0 and GPU1 are connected, from `nvidia-smi topo -m`.
public enum GPULink: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `NV#`: a bonded set of # NVLinks.
    case nvlink(Int)
    /// `PIX`, `PXB`, `PHB`, `NODE`, `SYS`: through PCIe (and maybe the CPU interconnect).
    case pcie(String)

    public var isNVLink: Bool { if case .nvlink = self { true } else { false } }

    public var description: String {
        switch self {
        case .nvlink(let count): "NVLink ×\(count) (NV\(count))"
        case .pcie(let kind): "PCIe (\(kind), no NVLink)"
        }
    }
}

/// What `nvidia-smi` says about this machine's GPUs.
public struct GPUInventory: Sendable, Hashable, Codable {
    /// Every GPU nvidia-smi lists, visible or not.
    public var gpus: [GPU]
    /// nil with fewer than two GPUs or when the topology could not be read.
    public var link01: GPULink?
    public var migDevices: [MIGDevice]
    /// Processes holding GPU memory right now.
    public var processes: [GPUProcess]
    /// P2P over NVLink between GPU pairs (`topo -p2p n`); nil with one GPU or when it could not be read.
    public var p2p: P2PMatrix?
    /// A `CUDA_VISIBLE_DEVICES`/`NVIDIA_VISIBLE_DEVICES` restriction in launch's environment.
    public var visibility: GPUVisibility?

    public init(
        gpus: [GPU], link01: GPULink? = nil, migDevices: [MIGDevice] = [], processes: [GPUProcess] = [],
        p2p: P2PMatrix? = nil, visibility: GPUVisibility? = nil
    ) {
        self.gpus = gpus
        self.link01 = link01
        self.migDevices = migDevices
        self.processes = processes
        self.p2p = p2p
        self.visibility = visibility
    }

    /// Whole GPUs a count request can get: visible, and not split into MIG devices.
    public var usable: [GPU] {
        gpus.filter { gpu in (visibility?.allows(gpu) ?? true) && !migDevices.contains { $0.gpu == gpu.index } }
    }

    public var count: Int { usable.count }

    public var driverVersion: String? { gpus.compactMap(\.driverVersion).first }

    /// The GPU a `device_ids` entry names: an index, a UUID, or (for MIG) `gpu:device` or a MIG UUID.
    public func resolve(_ id: String) -> (gpu: GPU?, mig: MIGDevice?)? {
        if let gpu = gpus.first(where: { String($0.index) == id || $0.uuid == id }) { return (gpu, nil) }
        if let mig = migDevices.first(where: { "\($0.gpu):\($0.index)" == id || $0.uuid == id }) {
            return (gpus.first { $0.index == mig.gpu }, mig)
        }
        return nil
    }

    public func processes(on gpu: GPU) -> [GPUProcess] { processes.filter { $0.gpuUUID == gpu.uuid } }

    /// Parses `--query-gpu=<NvidiaSMI.queryFields> --format=csv,noheader,nounits`.
    /// A header line and ` MiB` units are tolerated, so the output of older invocations parses too.
    public static func parseQuery(_ text: String) -> [GPU] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 3, let index = Int(fields[0]) else { return nil }
            func number(_ position: Int) -> Int? {
                guard position < fields.count else { return nil }
                return Int(fields[position].replacingOccurrences(of: " MiB", with: ""))
            }
            func text(_ position: Int) -> String? {
                position < fields.count && !["", "[N/A]", "N/A"].contains(fields[position]) ? fields[position] : nil
            }
            // With all fields, column 2 is the UUID; the short form (index, name, memory.total) has none.
            let full = fields.count >= 4
            return GPU(
                index: index, name: fields[1], uuid: full ? fields[2] : "",
                memoryTotalMiB: number(full ? 3 : 2) ?? 0, memoryUsedMiB: full ? number(4) : nil,
                memoryFreeMiB: full ? number(5) : nil, driverVersion: text(7), busID: text(8),
                computeCapability: text(9))
        }
    }

    /// Counts `GPU n: …` lines of `--list-gpus`.
    public static func parseList(_ text: String) -> Int {
        text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("GPU ") }.count
    }

    /// The GPU0↔GPU1 cell of `nvidia-smi topo -m` (the matrix has ANSI underline codes in its header).
    public static func parseTopology(_ text: String) -> GPULink? {
        let clean = text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        let lines = clean.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first(where: { $0.contains("GPU0") && !$0.hasPrefix("GPU0") }) else { return nil }
        let columns = header.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard let column = columns.firstIndex(of: "GPU1"),
            let row = lines.first(where: { $0.hasPrefix("GPU0") })
        else { return nil }
        let cells = row.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // cells[0] is the row label "GPU0".
        guard column + 1 < cells.count else { return nil }
        let cell = cells[column + 1]
        if cell.hasPrefix("NV"), let count = Int(cell.dropFirst(2)) { return .nvlink(count) }
        return ["PIX", "PXB", "PHB", "NODE", "SYS"].contains(cell) ? .pcie(cell) : nil
    }
}

/// The result of asking `nvidia-smi`.
public enum GPUProbe: Sendable, Hashable {
    /// `nvidia-smi` is not on PATH: no NVIDIA driver here.
    case notInstalled
    /// `nvidia-smi` exists but fails — typically a driver/library version mismatch after an upgrade.
    case failed(status: Int32, message: String)
    case found(GPUInventory)
    /// The engine is not on this machine: what it says of its own machine's GPUs (`EngineGPUProbe`).
    case engine(EngineGPUs)

    public var inventory: GPUInventory? {
        switch self {
        case .found(let inventory): inventory
        case .engine(let gpus): gpus.inventory
        default: nil
        }
    }
    public var count: Int {
        if case .engine(let gpus) = self, gpus.inventory == nil { return gpus.count ?? 0 }
        return inventory?.count ?? 0
    }

    /// Runs `--query-gpu`, then `-L` (MIG devices), `--query-compute-apps` and, with two or more GPUs,
    /// `topo -m` and `topo -p2p n`, all at once. `environment` carries any `CUDA_VISIBLE_DEVICES` restriction.
    public static func run(_ nvidiaSMI: NvidiaSMI, runner: any ProcessRunning, environment: [String: String] = [:]) async -> GPUProbe {
        let output: ProcessOutput
        do {
            output = try await runner.run(nvidiaSMI.queryGPUs())
        } catch {
            return .notInstalled
        }
        guard output.succeeded else {
            let message = (output.stdout + "\n" + output.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failed(status: output.status, message: message)
        }
        var inventory = GPUInventory(
            gpus: GPUInventory.parseQuery(output.stdout), visibility: GPUVisibility.from(environment))
        let several = inventory.gpus.count >= 2
        async let list = succeeded(nvidiaSMI.listGPUs(), runner)
        async let apps = succeeded(nvidiaSMI.computeApps(), runner)
        async let topology = several ? succeeded(nvidiaSMI.topology(), runner) : nil
        async let p2p = several ? succeeded(nvidiaSMI.p2p(), runner) : nil
        inventory.migDevices = await list.map(MIGDevice.parseList) ?? []
        inventory.processes = await apps.map(GPUProcess.parse) ?? []
        inventory.link01 = await topology.flatMap(GPUInventory.parseTopology)
        inventory.p2p = await p2p.flatMap(P2PMatrix.parse)
        return .found(inventory)
    }

    /// Stdout of a command that ran and succeeded; nil otherwise (these details are optional).
    private static func succeeded(_ command: Command, _ runner: any ProcessRunning) async -> String? {
        guard let output = try? await runner.run(command), output.succeeded else { return nil }
        return output.stdout
    }
}
