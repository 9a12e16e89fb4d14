/// GPUs from `nvidia-smi`, the link between GPU0 and GPU1, and the overlay a profile gets.
enum GPUChecks {
    /// `launch doctor` without an environment: what this machine has.
    static func machine(_ probe: GPUProbe) -> [CheckResult] {
        [devices(probe)] + (probe.inventory.flatMap(link).map { [$0] } ?? [])
    }

    /// For a profile: what this machine has, which overlay that gives, and whether the stack's own GPU requests
    /// (base files and overlay) fit the GPUs present. A profile that cannot run here fails on `gpu.overlay` or
    /// `gpu.requests`, with the fix for the missing piece.
    static func plan(
        _ profile: Profile, probe: GPUProbe, overlay: OverlayDecision, stack: ComposeStack = ComposeStack(services: [])
    ) -> [CheckResult] {
        let requested = stack.services.contains(where: \.requestsGPUs)
        let drivers = unknownDrivers(stack).map { [$0] } ?? []
        guard profile.gpu.mode != .none || requested else {
            return drivers.isEmpty ? [.skip("gpu", "GPUs", "profile needs no GPU (gpu.mode: none) and no service requests one")] : drivers
        }
        var results = machine(probe) + drivers
        let file = overlay.file.map { " → compose/\($0)" } ?? ""
        if let failure = overlay.failure {
            results.append(.fail("gpu.overlay", "GPU overlay", failure, fix: noGPUFix(probe, profile: profile)))
        } else if profile.gpu.mode != .none {
            results.append(.ok("gpu.overlay", "GPU overlay", overlay.reason + file))
        }
        guard requested else { return results }
        let demand = GPUDemand(stack: stack, inventory: probe.inventory)
        results.append(requests(demand, probe: probe, profile: profile))
        if let inventory = probe.inventory, inventory.count > 0, !inventory.gpus.contains(where: { $0.memoryTotalMiB > 0 }) {
            // GPUs an engine elsewhere lists through CDI: their number is known, their memory and links are not.
            results.append(.skip("gpu.memory", "GPU memory", "not known for these GPUs: the engine lists them (CDI), not their memory"))
        } else if let inventory = probe.inventory, inventory.count > 0 {
            results.append(memory(inventory, claimed: demand.claimedGPUs, required: profile.requires.gpuMemory))
            results += stack.services.compactMap(\.tensorParallelism).map(sharedMemory)
            let parallel = stack.services.compactMap(\.tensorParallelism)
            if overlay.choice == .dual || !parallel.isEmpty {
                let gpus = demand.claims.filter { claim in parallel.contains { $0.service == claim.service } }.flatMap(\.gpus)
                if let check = p2p(inventory, gpus: gpus.count >= 2 ? Array(Set(gpus)).sorted() : [0, 1]) { results.append(check) }
            }
        }
        return results
    }

    /// Device requests with a driver the engine does not have: Docker refuses the container at create ("could not
    /// select device driver … with capabilities"), so doctor fails before anything is created.
    static func unknownDrivers(_ stack: ComposeStack) -> CheckResult? {
        let asks = stack.services.filter { !$0.unknownDeviceDrivers.isEmpty }
        guard !asks.isEmpty else { return nil }
        let listed = asks.map { "\($0.name) (driver: \($0.unknownDeviceDrivers.joined(separator: ", ")))" }.joined(separator: ", ")
        return .fail(
            "gpu.drivers", "GPU device drivers",
            "\(listed): the engine has only the `nvidia` and `cdi` device drivers and will refuse to create \(asks.count == 1 ? "it" : "them") (could not select device driver)",
            fix:
                "write `driver: nvidia` with `count: all` (or `device_ids`) and `capabilities: [gpu]`, or `driver: cdi` with `device_ids: [nvidia.com/gpu=all]`"
        )
    }

    /// The fix for "no usable GPU": the driver's own diagnosis when nvidia-smi failed, else where to run.
    static func noGPUFix(_ probe: GPUProbe, profile: Profile) -> String {
        if case .failed(let status, let message) = probe, let diagnosis = driverDiagnosis(status: status, message: message) {
            return diagnosis.fix
        }
        if case .engine(let gpus) = probe {
            return "point --host/--context at an engine whose machine has NVIDIA GPUs and the NVIDIA Container Toolkit "
                + "(`docker info` there lists the nvidia runtime), or install them on the machine behind \(gpus.endpoint)"
        }
        return "run \(profile.name) on a machine with an NVIDIA GPU and driver"
            + (profile.gpu.mode != .optional ? "" : ", or give \(profile.sourceFile) a CPU overlay (`gpu.none: docker-compose.cpu.yml`)")
    }

    /// The stack's GPU requests against the GPUs present: a shortfall fails, a GPU two services would share warns.
    static func requests(_ demand: GPUDemand, probe: GPUProbe, profile: Profile) -> CheckResult {
        let id = "gpu.requests", title = "GPU requests"
        let asks = demand.claims.map { "\($0.service) (\($0.asks))" }.joined(separator: ", ")
        if probe.count == 0 {
            return .fail(
                id, title, "\(asks) \(demand.claims.count == 1 ? "requests" : "request") GPUs, but \(probe.whyNoGPU)",
                fix: noGPUFix(probe, profile: profile))
        }
        let short = demand.shortfalls
        if !short.isEmpty {
            let services = short.map(\.service).joined(separator: ", ")
            return .fail(
                id, title, short.map { "\($0.service) \($0.shortfall ?? "")" }.joined(separator: "; "),
                fix: "run on a machine with the GPUs \(services) \(short.count == 1 ? "asks" : "ask") for, or lower `count:`/`device_ids:` "
                    + "under deploy.resources.reservations.devices of \(services)")
        }
        let gets = demand.claims.map { claim in
            "\(claim.service) gets " + (claim.gpus.isEmpty ? claim.asks : claim.gpus.map { "GPU\($0)" }.joined(separator: ","))
        }.joined(separator: "; ")
        if let first = demand.shared.first {
            let all = demand.shared.map { "GPU\($0.gpu) (\($0.services.joined(separator: ", ")))" }.joined(separator: ", ")
            return .warn(
                id, title, "\(gets): \(all) claimed by more than one service",
                fix:
                    "give \(first.services.joined(separator: " and ")) their own `device_ids`, or make sure their memory fits on one GPU together"
            )
        }
        return .ok(id, title, gets)
    }

    /// Memory in use on the GPUs the stack gets, and by whom, against `requires.gpu_memory` (per GPU).
    static func memory(_ inventory: GPUInventory, claimed: [Int], required: ByteSize?) -> CheckResult {
        let id = "gpu.memory", title = "GPU memory"
        let gpus = inventory.usable.filter { claimed.isEmpty || claimed.contains($0.index) }
        func size(_ mib: Int) -> ByteSize { ByteSize(count: UInt64(max(mib, 0)), unit: 1_048_576) }
        func free(_ gpu: GPU) -> Int {
            if let free = gpu.memoryFreeMiB { return free }
            let (left, overflow) = gpu.memoryTotalMiB.subtractingReportingOverflow(gpu.memoryUsedMiB ?? 0)
            return overflow ? 0 : left
        }
        func holders(_ gpu: GPU) -> String {
            let processes = inventory.processes(on: gpu)
            return processes.isEmpty ? "" : ", held by " + processes.map(\.description).joined(separator: ", ")
        }
        let pids = gpus.flatMap { inventory.processes(on: $0) }.map { String($0.pid) }
        let stop = pids.isEmpty ? "" : "stop what holds it (pid \(pids.joined(separator: ", "))), or "
        if let required {
            if let small = gpus.first(where: { size($0.memoryTotalMiB) < required }) {
                return .fail(
                    id, title,
                    "GPU\(small.index) has \(size(small.memoryTotalMiB)) in all, \(required) required per GPU (requires.gpu_memory)",
                    fix: "run on GPUs with at least \(required) each, or lower requires.gpu_memory and the model's memory settings")
            }
            let short = gpus.filter { size(free($0)) < required }
            if !short.isEmpty {
                return .fail(
                    id, title,
                    short.map { "GPU\($0.index) has \(size(free($0))) free of \(size($0.memoryTotalMiB))\(holders($0))" }.joined(
                        separator: "; ")
                        + "; \(required) required per GPU (requires.gpu_memory)",
                    fix: stop + "point the GPU services at free GPUs with `device_ids`")
            }
        }
        let busy = gpus.filter { !inventory.processes(on: $0).isEmpty }
        if required == nil, !busy.isEmpty {
            return .warn(
                id, title, busy.map { "GPU\($0.index): \(size($0.memoryUsedMiB ?? 0)) in use\(holders($0))" }.joined(separator: "; "),
                fix: "vLLM reserves a share of the whole GPU at start and fails when another process holds it: "
                    + stop + "set requires.gpu_memory so preflight knows what the model needs")
        }
        let each = gpus.map { "GPU\($0.index) \(size(free($0))) free" }.joined(separator: ", ")
        return .ok(id, title, each + (required.map { ", \($0) required per GPU" } ?? "") + (busy.isEmpty ? ", no other process" : ""))
    }

    /// Tensor parallelism inside one container needs more shared memory than Docker's default 64 MiB.
    static func sharedMemory(_ parallel: TensorParallelism) -> CheckResult {
        let id = "gpu.shm.\(parallel.service)", title = "shared memory for \(parallel.service)"
        if parallel.hasEnoughSharedMemory {
            let how = parallel.ipc == "host" ? "ipc: host" : "shm_size \(parallel.shmSize.map { "\($0)" } ?? "")"
            return .ok(id, title, "tensor parallel \(parallel.size) with \(how)")
        }
        return .warn(id, title, sharedMemoryWarning(parallel), fix: sharedMemoryFix(parallel))
    }

    static func sharedMemoryWarning(_ parallel: TensorParallelism) -> String {
        let has = parallel.shmSize.map { "shm_size \($0)" } ?? "Docker's default 64 MiB /dev/shm"
        return
            "\(parallel.service) runs tensor parallel \(parallel.size) with \(has): NCCL between its workers fails or crawls without shared memory"
    }

    static func sharedMemoryFix(_ parallel: TensorParallelism) -> String {
        "add `ipc: host` (or `shm_size: 16gb`) under services.\(parallel.service) in its compose file"
    }

    /// P2P over NVLink between the GPUs tensor parallelism uses (`nvidia-smi topo -p2p n`).
    static func p2p(_ inventory: GPUInventory, gpus: [Int]) -> CheckResult? {
        guard let matrix = inventory.p2p, gpus.count >= 2 else { return nil }
        let id = "gpu.p2p", title = "GPU peer-to-peer"
        var missing: [String] = []
        for (offset, a) in gpus.enumerated() {
            for b in gpus.dropFirst(offset + 1) {
                let code = matrix.status(a, b) ?? "U"
                if code != "OK" { missing.append("GPU\(a)↔GPU\(b) \(code) (\(P2PMatrix.meaning(code)))") }
            }
        }
        let names = gpus.map { "GPU\($0)" }.joined(separator: ", ")
        guard missing.isEmpty else {
            return .warn(
                id, title,
                "no P2P over NVLink between \(missing.joined(separator: ", ")): tensor parallel traffic goes through host memory",
                fix: "nothing blocks the launch; for full speed use GPUs joined by NVLink (`nvidia-smi topo -p2p n` shows OK), "
                    + "and set NCCL_P2P_DISABLE=1 if NCCL hangs on this board")
        }
        return .ok(id, title, "P2P over NVLink between \(names)")
    }

    static func devices(_ probe: GPUProbe) -> CheckResult {
        let id = "gpu.devices", title = "NVIDIA GPUs"
        switch probe {
        case .engine(let gpus):
            let place = "the engine's machine (\(gpus.endpoint), not this one)"
            if let inventory = gpus.inventory, inventory.gpus.contains(where: { $0.memoryTotalMiB > 0 }) {
                return .ok(id, title, "\(describe(inventory.gpus)) on \(place): \(gpus.evidence)")
            }
            guard gpus.count != nil else {
                return .warn(
                    id, title, "unknown for \(place): \(gpus.evidence)",
                    fix: "run `launch doctor` on that machine, or `docker run --rm --gpus all <image> nvidia-smi` against it")
            }
            return .ok(id, title, "\(GPUWords.count(gpus.count ?? 0)) on \(place): \(gpus.evidence)")
        case .notInstalled:
            return .ok(id, title, "no NVIDIA driver here: nvidia-smi is not on PATH")
        case .failed(let status, let message):
            guard let diagnosis = driverDiagnosis(status: status, message: message) else {
                return .ok(id, title, "nvidia-smi finds no GPU (exit \(status): \(firstLine(message)))")
            }
            return .warn(id, title, diagnosis.evidence, fix: diagnosis.fix)
        case .found(let inventory) where inventory.count == 0:
            return .ok(id, title, "nvidia-smi lists no GPUs")
        case .found(let inventory):
            var evidence = describe(inventory.gpus)
            for gpu in inventory.gpus {
                let slices = inventory.migDevices.filter { $0.gpu == gpu.index }
                guard !slices.isEmpty else { continue }
                evidence +=
                    "; GPU\(gpu.index) is split into \(slices.count) MIG devices ("
                    + slices.map(\.profile).joined(separator: ", ") + "), not counted as a whole GPU"
            }
            if let visibility = inventory.visibility {
                evidence += "; \(inventory.count) visible (\(visibility))"
            }
            return .ok(id, title, evidence)
        }
    }

    /// `2 × NVIDIA H100 80GB HBM3, 79.6 GiB each (driver 580.159.04)`, or one entry per GPU when they differ.
    static func describe(_ gpus: [GPU]) -> String {
        func memory(_ gpu: GPU) -> String { ByteSize(count: UInt64(max(gpu.memoryTotalMiB, 0)), unit: 1_048_576).description }
        let driver = gpus.compactMap(\.driverVersion).first.map { " (driver \($0))" } ?? ""
        let kinds = Set(gpus.map { "\($0.name)|\($0.memoryTotalMiB)" })
        if kinds.count == 1, let first = gpus.first {
            let each = gpus.count == 1 ? "" : " each"
            return "\(gpus.count) × \(first.name), \(memory(first))\(each)\(driver)"
        }
        return gpus.map { "GPU\($0.index) \($0.name) \(memory($0))" }.joined(separator: ", ") + driver
    }

    /// NVLink between GPU0 and GPU1 matters for tensor parallelism; its absence is a warning, not a failure.
    static func link(_ inventory: GPUInventory) -> CheckResult? {
        guard inventory.count >= 2 else { return nil }
        let id = "gpu.nvlink", title = "GPU0↔GPU1 link"
        switch inventory.link01 {
        case .nvlink?:
            return .ok(id, title, inventory.link01.map { "\($0)" } ?? "")
        case .pcie(let kind)?:
            return .warn(
                id, title, "no NVLink: GPU0 and GPU1 talk through PCIe (\(kind)); tensor parallelism will be slower",
                fix: "nothing blocks the launch; for full dual-GPU speed run on GPUs joined by NVLink (`nvidia-smi topo -m` shows NV#)")
        case nil:
            return .warn(
                id, title, "could not read the GPU0↔GPU1 cell of `nvidia-smi topo -m`",
                fix: "run `nvidia-smi topo -m`: NV# means NVLink, PIX/PHB/NODE/SYS mean PCIe only")
        }
    }

    /// What a failing `nvidia-smi` means, decided on its documented exit codes. nil: not a driver problem
    /// (exit 6, "No devices were found", is a machine without GPUs).
    static func driverDiagnosis(status: Int32, message: String) -> (evidence: String, fix: String)? {
        let said = firstLine(message)
        switch status {
        case 6:
            return nil
        case 18:
            return (
                "nvidia-smi fails (exit 18: \(said)): the NVIDIA kernel module and its libraries differ, typically after a driver upgrade",
                "reboot (or reload the nvidia kernel modules) so the running driver matches the installed libraries"
            )
        case 4:
            return (
                "nvidia-smi fails (exit 4: \(said)): this user may not open the GPU devices",
                "ask for access to /dev/nvidia* (often the `video` group: `sudo usermod -aG video $USER`, then log in again)"
            )
        case 9:
            return (
                "nvidia-smi fails (exit 9: \(said)): the NVIDIA kernel driver is not loaded",
                "load the driver (`sudo modprobe nvidia`) or reinstall it; `dmesg | grep -i nvidia` says why it did not load"
            )
        case 12:
            return (
                "nvidia-smi fails (exit 12: \(said)): the NVML library is missing",
                "reinstall the NVIDIA driver so that libnvidia-ml.so matches it"
            )
        case 124:
            // Launch's own deadline (`NvidiaSMI.deadline`), not an exit of nvidia-smi's.
            return (
                "nvidia-smi did not answer (\(said)): the driver is hung or reloading on every call",
                "run `nvidia-smi` to see whether it returns; persistence mode (`sudo nvidia-smi -pm 1`) stops the reload on every call, a hung driver needs a reboot"
            )
        case 15:
            return (
                "nvidia-smi fails (exit 15: \(said)): a GPU has fallen off the bus",
                "reboot the machine; if it happens again, check the GPU's power and seating (`dmesg` shows Xid errors)"
            )
        default:
            return (
                "nvidia-smi fails (exit \(status): \(said)): the NVIDIA driver is not usable",
                "run `nvidia-smi` to see the full error; reinstalling or reloading the driver usually fixes it"
            )
        }
    }

    static func firstLine(_ text: String) -> String { GPUProbe.firstLine(text) }
}
