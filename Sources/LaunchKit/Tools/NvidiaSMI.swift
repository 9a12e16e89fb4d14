/// `nvidia-smi` invocations as values.
public struct NvidiaSMI: Sendable, Hashable {
    public var executable: String

    public init(executable: String = "nvidia-smi") { self.executable = executable }

    /// A wedged driver can leave `nvidia-smi` waiting forever: each call gets a deadline (its normal run is well
    /// under a second; without persistence mode, each call loads the driver for every GPU, seconds on a big host,
    /// and four calls run at once).
    public static let deadline: Duration = .seconds(45)

    /// The fields `GPUInventory` parses, in this order.
    public static let queryFields = [
        "index", "name", "uuid", "memory.total", "memory.used", "memory.free", "utilization.gpu",
        "driver_version", "pci.bus_id", "compute_cap",
    ]

    public func listGPUs() -> Command { Command(executable, ["--list-gpus"], timeout: Self.deadline) }

    public func queryGPUs() -> Command {
        Command(
            executable,
            ["--query-gpu=" + Self.queryFields.joined(separator: ","), "--format=csv,noheader,nounits"], timeout: Self.deadline)
    }

    public func topology() -> Command { Command(executable, ["topo", "-m"], timeout: Self.deadline) }

    /// The fields `GPUProcess` parses, in this order.
    public static let computeAppFields = ["gpu_uuid", "pid", "process_name", "used_memory"]

    /// Processes holding GPU memory.
    public func computeApps() -> Command {
        Command(
            executable,
            ["--query-compute-apps=" + Self.computeAppFields.joined(separator: ","), "--format=csv,noheader,nounits"],
            timeout: Self.deadline)
    }

    /// Peer-to-peer status between every GPU pair over NVLink.
    public func p2p() -> Command { Command(executable, ["topo", "-p2p", "n"], timeout: Self.deadline) }
}

/// `nvidia-ctk` (the NVIDIA Container Toolkit's CLI) invocations as values.
public struct NvidiaCTK: Sendable, Hashable {
    public var executable: String

    public init(executable: String = "nvidia-ctk") { self.executable = executable }

    /// The CDI devices the toolkit finds in the spec directories.
    public func cdiList() -> Command { Command(executable, ["cdi", "list"], timeout: NvidiaSMI.deadline) }

    /// What a person runs to (re)generate the spec; shown, never run by launch (it needs root).
    public static let regenerate = "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
}
