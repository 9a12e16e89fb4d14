/// Which GPU overlay a profile gets on this machine, and why — the script's dual/single fallback made explicit.
public struct OverlayDecision: Sendable, Hashable, Encodable {
    public enum Choice: String, Sendable, Hashable, Encodable { case dual, single, none, noOverlay = "no-overlay" }

    public var choice: Choice
    /// The overlay file (relative to compose/), if any.
    public var file: String?
    /// One line a person can read: "1 GPU found: single-GPU fallback".
    public var reason: String
    /// Set when the machine cannot run this profile (mode required, no usable overlay).
    public var failure: String?
    /// Something worth knowing that does not stop the launch (two GPUs without NVLink).
    public var warning: String?

    public static func decide(_ settings: Profile.GPUSettings, probe: GPUProbe) -> OverlayDecision {
        if settings.mode == .none {
            return OverlayDecision(choice: .noOverlay, file: nil, reason: "profile needs no GPU (gpu.mode: none)")
        }
        let count = probe.count
        let names = probe.inventory.map { inventory in
            Set(inventory.gpus.map(\.name)).sorted().joined(separator: ", ")
        } ?? ""
        switch count {
        case 2...:
            let warning: String? =
                switch probe.inventory?.link01 {
                case .pcie(let kind)?:
                    "GPU0 and GPU1 are linked through PCIe (\(kind)), not NVLink: tensor parallelism will be slower"
                default: nil
                }
            if let dual = settings.dual {
                return OverlayDecision(choice: .dual, file: dual, reason: "\(count) GPUs found (\(names)): dual-GPU overlay", warning: warning)
            }
            if let single = settings.single {
                return OverlayDecision(choice: .single, file: single,
                    reason: "\(count) GPUs found but the profile has no dual overlay: single-GPU overlay")
            }
        case 1:
            if let single = settings.single {
                return OverlayDecision(choice: .single, file: single, reason: "1 GPU found (\(names)): single-GPU fallback")
            }
        default:
            break
        }
        let missing: String =
            switch probe {
            case .notInstalled: "no NVIDIA driver (nvidia-smi is not on PATH)"
            case .failed(let status, _): "nvidia-smi failed (exit \(status)): the NVIDIA driver is not usable"
            case .found(let inventory) where inventory.count == 0: "nvidia-smi lists no GPUs"
            case .found(let inventory): "\(inventory.count) GPU(s) found but the profile has no overlay for that count"
            }
        if let none = settings.none {
            return OverlayDecision(choice: .none, file: none, reason: "\(missing): CPU fallback overlay")
        }
        if settings.mode == .optional {
            return OverlayDecision(choice: .noOverlay, file: nil, reason: "\(missing): running without a GPU overlay")
        }
        return OverlayDecision(choice: .noOverlay, file: nil, reason: missing,
            failure: "this profile requires a GPU and has no CPU fallback: \(missing)")
    }
}
