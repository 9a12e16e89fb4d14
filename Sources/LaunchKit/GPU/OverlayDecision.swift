/// Which GPU overlay a profile gets on this machine, and why — the script's dual/single fallback made explicit.
///
/// `required` never takes the CPU overlay, even one inherited through `extends`; `optional` may; `none` takes no
/// overlay at all (the stack's own GPU requests are still checked by preflight).
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
        let count = probe.count
        let names =
            probe.inventory.map { inventory in
                Set(inventory.usable.map(\.name)).sorted().joined(separator: ", ")
            } ?? ""
        let warning: String? =
            switch probe.inventory?.link01 {
            case .pcie(let kind)?: "GPU0 and GPU1 are linked through PCIe (\(kind)), not NVLink: tensor parallelism will be slower"
            default: nil
            }
        if case .engine(let gpus) = probe {
            let on = "on the engine at \(gpus.endpoint)" + (names.isEmpty ? "" : " (\(names))")
            return decide(
                settings, count: count, found: "\(GPUWords.count(count)) \(on)", counted: "\(count) GPUs \(on)", missing: probe.whyNoGPU,
                warning: warning)
        }
        return decide(
            settings, count: count, found: "\(GPUWords.count(count)) found (\(names))", counted: "\(count) GPUs found",
            missing: probe.whyNoGPU, warning: warning)
    }

    /// On a swarm the stack's GPUs are the nodes', not this machine's: the overlay follows the most GPUs one
    /// schedulable node advertises as `NVIDIA-GPU` (what one task can be given). `nodes` nil: the swarm could not be
    /// read (the swarm checks say why), so no GPU is assumed.
    public static func decide(_ settings: Profile.GPUSettings, swarmNodes nodes: [SwarmNode]?) -> OverlayDecision {
        let resource = SwarmChecks.gpuResource
        let count = SwarmChecks.mostGPUs(on: nodes ?? [])
        let best = (nodes ?? []).filter { $0.schedulable && ($0.genericResources[resource] ?? 0) == count }.map(\.hostname).sorted()
        let on = "on swarm node\(best.count == 1 ? "" : "s") \(best.joined(separator: ", ")) (\(resource))"
        let missing =
            nodes == nil
            ? "the swarm's nodes could not be read"
            : (count == 0
                ? "no schedulable swarm node advertises \(resource)"
                : "\(GPUWords.count(count)) \(on) but the profile has no overlay for that count")
        return decide(
            settings, count: count, found: "\(GPUWords.count(count)) \(on)", counted: "\(count) GPUs \(on)",
            missing: missing, warning: nil)
    }

    /// The overlay for a swarm, from the nodes the engine at `client` (a manager) lists; none are read for a profile
    /// that needs no overlay.
    public static func forSwarm(_ settings: Profile.GPUSettings, client: EngineClient) async -> OverlayDecision {
        decide(settings, swarmNodes: settings.mode == .none ? [] : try? await client.listNodes())
    }

    /// `found`: "2 GPUs found (H100)"; `counted`: the same without names, for a count the profile has no overlay for;
    /// `missing`: why no GPU (or no overlay for the count) can be used.
    static func decide(
        _ settings: Profile.GPUSettings, count: Int, found: String, counted: String, missing: String, warning: String?
    ) -> OverlayDecision {
        if settings.mode == .none {
            return OverlayDecision(choice: .noOverlay, file: nil, reason: "profile needs no GPU overlay (gpu.mode: none)")
        }
        switch count {
        case 2...:
            if let dual = settings.dual {
                return OverlayDecision(choice: .dual, file: dual, reason: "\(found): dual-GPU overlay", warning: warning)
            }
            if let single = settings.single {
                return OverlayDecision(
                    choice: .single, file: single, reason: "\(counted) but the profile has no dual overlay: single-GPU overlay")
            }
        case 1:
            if let single = settings.single {
                return OverlayDecision(choice: .single, file: single, reason: "\(found): single-GPU fallback")
            }
        default:
            break
        }
        if count >= 1 && settings.dual == nil && settings.single == nil {
            return OverlayDecision(
                choice: .noOverlay, file: nil,
                reason: "\(found): the stack's own GPU requests apply (the profile names no overlay)")
        }
        if settings.mode == .optional {
            if let none = settings.none {
                return OverlayDecision(choice: .none, file: none, reason: "\(missing): CPU fallback overlay")
            }
            return OverlayDecision(choice: .noOverlay, file: nil, reason: "\(missing): running without a GPU overlay")
        }
        return OverlayDecision(
            choice: .noOverlay, file: nil, reason: missing,
            failure: "this profile requires a GPU (gpu.mode: required, never the CPU fallback): \(missing)")
    }
}

extension GPUProbe {
    /// Why no (or not enough) GPU can be used, in the driver's own words where it gave any.
    public var whyNoGPU: String {
        switch self {
        case .engine(let gpus) where gpus.inventory == nil && gpus.count == nil:
            return "the GPUs of the engine at \(gpus.endpoint) are unknown: \(gpus.evidence)"
        case .engine(let gpus) where count == 0:
            return "no GPU on the engine's machine (\(gpus.endpoint)): \(gpus.evidence)"
        case .engine(let gpus):
            return "\(GPUWords.count(count)) on the engine at \(gpus.endpoint) but the profile has no overlay for that count"
        case .notInstalled:
            return "no NVIDIA driver (nvidia-smi is not on PATH)"
        case .failed(6, let message):
            return "nvidia-smi finds no GPU (exit 6: \(Self.firstLine(message)))"
        case .failed(let status, let message):
            return "the NVIDIA driver is not usable: nvidia-smi failed (exit \(status): \(Self.firstLine(message)))"
        case .found(let inventory) where inventory.gpus.isEmpty:
            return "nvidia-smi lists no GPUs"
        case .found(let inventory) where inventory.count == 0:
            if let visibility = inventory.visibility, !inventory.gpus.contains(where: visibility.allows) {
                return "\(GPUWords.count(inventory.gpus.count)) present but none visible (\(visibility))"
            }
            return "every GPU is split into MIG devices (\(inventory.migDevices.count) MIG devices, no whole GPU)"
        case .found(let inventory):
            return "\(GPUWords.count(inventory.count)) found but the profile has no overlay for that count"
        }
    }

    static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "no output"
    }
}
