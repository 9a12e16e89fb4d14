/// GPUs from `nvidia-smi`, the link between GPU0 and GPU1, and the overlay a profile gets.
enum GPUChecks {
    /// `launch doctor` without an environment: what this machine has.
    static func machine(_ probe: GPUProbe) -> [CheckResult] {
        [devices(probe)] + (probe.inventory.flatMap(link).map { [$0] } ?? [])
    }

    /// For a profile: what this machine has and which overlay that gives. A profile that cannot run here fails
    /// once, on `gpu.overlay`, with the fix for the missing piece.
    static func plan(_ profile: Profile, probe: GPUProbe, overlay: OverlayDecision) -> [CheckResult] {
        guard profile.gpu.mode != .none else {
            return [.skip("gpu", "GPUs", "profile needs no GPU (gpu.mode: none)")]
        }
        var results = machine(probe)
        let file = overlay.file.map { " → compose/\($0)" } ?? ""
        if let failure = overlay.failure {
            let fix: String =
                if case .failed(let status, let message) = probe, let diagnosis = driverDiagnosis(status: status, message: message) {
                    diagnosis.fix
                } else {
                    "run \(profile.name) on a machine with an NVIDIA GPU and driver, or give \(profile.sourceFile) a "
                        + "CPU overlay (`gpu.none: docker-compose.cpu.yml`)"
                }
            results.append(.fail("gpu.overlay", "GPU overlay", failure, fix: fix))
        } else {
            results.append(.ok("gpu.overlay", "GPU overlay", overlay.reason + file))
        }
        return results
    }

    static func devices(_ probe: GPUProbe) -> CheckResult {
        let id = "gpu.devices", title = "NVIDIA GPUs"
        switch probe {
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
            return .ok(id, title, describe(inventory.gpus))
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
            return ("nvidia-smi fails (exit 18: \(said)): the NVIDIA kernel module and its libraries differ, typically after a driver upgrade",
                "reboot (or reload the nvidia kernel modules) so the running driver matches the installed libraries")
        case 9:
            return ("nvidia-smi fails (exit 9: \(said)): the NVIDIA kernel driver is not loaded",
                "load the driver (`sudo modprobe nvidia`) or reinstall it; `dmesg | grep -i nvidia` says why it did not load")
        case 12:
            return ("nvidia-smi fails (exit 12: \(said)): the NVML library is missing",
                "reinstall the NVIDIA driver so that libnvidia-ml.so matches it")
        case 15:
            return ("nvidia-smi fails (exit 15: \(said)): a GPU has fallen off the bus",
                "reboot the machine; if it happens again, check the GPU's power and seating (`dmesg` shows Xid errors)")
        default:
            return ("nvidia-smi fails (exit \(status): \(said)): the NVIDIA driver is not usable",
                "run `nvidia-smi` to see the full error; reinstalling or reloading the driver usually fixes it")
        }
    }

    static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "no output"
    }
}
