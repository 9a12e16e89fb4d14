/// `nvidia-smi` invocations as values.
public struct NvidiaSMI: Sendable, Hashable {
    public var executable: String

    public init(executable: String = "nvidia-smi") { self.executable = executable }

    /// The fields `GPUInventory` parses, in this order.
    public static let queryFields = [
        "index", "name", "uuid", "memory.total", "memory.used", "memory.free", "utilization.gpu",
        "driver_version", "pci.bus_id", "compute_cap",
    ]

    public func listGPUs() -> Command { Command(executable, ["--list-gpus"]) }

    public func queryGPUs() -> Command {
        Command(
            executable,
            ["--query-gpu=" + Self.queryFields.joined(separator: ","), "--format=csv,noheader,nounits"])
    }

    public func topology() -> Command { Command(executable, ["topo", "-m"]) }
}
