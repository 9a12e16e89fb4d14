/// One GPU device request of a service, as Compose resolved it (`deploy.resources.reservations.devices`):
/// `driver: nvidia` with `count` or `device_ids`, or `driver: cdi` with CDI device names.
public struct GPURequest: Sendable, Hashable, Codable {
    public enum Driver: String, Sendable, Hashable, Codable {
        /// The NVIDIA device driver (`--gpus`); also a request with only `capabilities: [gpu]`.
        case nvidia
        /// Container Device Interface: `device_ids` are fully qualified names like `nvidia.com/gpu=all`.
        case cdi
    }

    public enum Count: Sendable, Hashable, Codable {
        case all
        case exactly(Int)
    }

    public var driver: Driver
    /// nil when `device_ids` name the devices instead.
    public var count: Count?
    /// Indices, UUIDs or MIG ids (comma-joined strings are split), or CDI names for `driver: cdi`.
    public var deviceIDs: [String]
    public var capabilities: [String]

    public init(driver: Driver = .nvidia, count: Count? = nil, deviceIDs: [String] = [], capabilities: [String] = ["gpu"]) {
        self.driver = driver
        self.count = count
        self.deviceIDs = deviceIDs
        self.capabilities = capabilities
    }

    /// GPUs these requests ask for together: -1 means all (whatever else is asked for); nil when they ask for
    /// none. CDI names of other vendors do not count.
    static func count(of requests: [GPURequest]) -> Int? {
        var total: Int?
        for request in requests {
            let count: Int
            switch request.selection {
            case .all: count = -1
            case .first(let n): count = n
            case .named(let ids): count = splitIDs(ids).count
            case .notNVIDIA: continue
            }
            total = (total == -1 || count == -1) ? -1 : (total ?? 0) + count
        }
        return total
    }

    /// The device ids these requests name (`0`, `GPU-…`, `0:1`), as written, in order; empty when they ask by count.
    static func deviceIDs(of requests: [GPURequest]) -> [String] {
        requests.flatMap { request -> [String] in
            if case .named(let ids) = request.selection { ids } else { [] }
        }
    }

    /// `NVIDIA_VISIBLE_DEVICES`-style id lists: Compose accepts `['0,1']` as one entry and so does the toolkit.
    static func splitIDs(_ ids: [String]) -> [String] {
        ids.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// What the request selects on a machine: every GPU, the first n, or named devices.
    public enum Selection: Sendable, Hashable {
        case all
        case first(Int)
        /// GPU indices, UUIDs or MIG ids; for CDI, the part after `nvidia.com/gpu=`.
        case named([String])
        /// A CDI device of another vendor or class: not an NVIDIA GPU.
        case notNVIDIA
    }

    public var selection: Selection {
        switch driver {
        case .nvidia:
            if !deviceIDs.isEmpty { return .named(deviceIDs) }
            switch count {
            case .exactly(let n)?: return .first(n)
            case .all?, nil: return .all
            }
        case .cdi:
            let gpus = deviceIDs.compactMap { name -> String? in
                guard name.hasPrefix(CDIName.nvidiaGPU + "=") else { return nil }
                return String(name.dropFirst(CDIName.nvidiaGPU.count + 1))
            }
            if gpus.isEmpty { return .notNVIDIA }
            return gpus.contains("all") ? .all : .named(gpus)
        }
    }

    /// `2 GPUs`, `all GPUs`, `GPUs 0,1`, `nvidia.com/gpu=all` — for plans and messages.
    public var description: String {
        switch driver {
        case .cdi: return deviceIDs.joined(separator: ", ")
        case .nvidia:
            switch selection {
            case .all: return "all GPUs"
            case .first(let n): return GPUWords.count(n)
            case .named(let ids): return (ids.count == 1 ? "GPU " : "GPUs ") + ids.joined(separator: ",")
            case .notNVIDIA: return "no GPU"
            }
        }
    }

    /// The Engine API's `HostConfig.DeviceRequests` entry for this request.
    public var engineRequest: DeviceRequest {
        let count: Int =
            switch self.count {
            case .all?: -1
            case .exactly(let n)?: n
            case nil: deviceIDs.isEmpty ? -1 : 0
            }
        return DeviceRequest(
            driver: driver.rawValue, count: count, deviceIDs: deviceIDs.isEmpty ? nil : deviceIDs,
            capabilities: driver == .cdi ? [] : [capabilities.isEmpty ? ["gpu"] : capabilities])
    }
}

/// Fully qualified CDI names the NVIDIA toolkit generates.
enum CDIName {
    static let nvidiaGPU = "nvidia.com/gpu"
}

/// "1 GPU", "2 GPUs": counts read right in the plural.
enum GPUWords {
    static func count(_ n: Int) -> String { n == 1 ? "1 GPU" : "\(n) GPUs" }
}

/// What a service needs for tensor parallelism, read from its command and GPU requests.
public struct TensorParallelism: Sendable, Hashable {
    public var service: String
    public var size: Int
    /// `ipc: host` shares the host's /dev/shm; otherwise `shm_size` bounds it (Docker's default is 64 MiB).
    public var ipc: String?
    public var shmSize: ByteSize?

    /// NCCL between the workers of one container needs shared memory well beyond Docker's 64 MiB.
    public static let minimumShm = ByteSize(bytes: 1 << 30)

    public var hasEnoughSharedMemory: Bool {
        ipc == "host" || (shmSize.map { $0 >= Self.minimumShm } ?? false)
    }

    /// What the server is told, never guessed from the GPUs it is given (Ollama spreads a model over four GPUs without
    /// NCCL; a UI may hold a GPU): vLLM's `--tensor-parallel-size N` / `-tp N`, SGLang's `--tp-size N` / `--tp N`,
    /// TGI's `--num-shard N`, each also as `--flag=N`. 1 when none is given.
    static let parallelismFlags = ["--tensor-parallel-size", "-tp", "--tp-size", "--tp", "--num-shard"]

    static func size(command: [String]) -> Int {
        var declared: Int?
        for (offset, argument) in command.enumerated() {
            for flag in parallelismFlags {
                if argument.hasPrefix(flag + "=") {
                    declared = Int(argument.dropFirst(flag.count + 1))
                } else if argument == flag, offset + 1 < command.count {
                    declared = Int(command[offset + 1])
                }
            }
        }
        return min(max(declared ?? 1, 1), 1024)
    }
}
