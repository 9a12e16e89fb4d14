/// The stack's own GPU requests held against the GPUs present: who asks for what, which GPUs each service
/// would get, and what cannot be satisfied. Pure; `GPUChecks` turns it into check results.
public struct GPUDemand: Sendable, Hashable {
    public struct Claim: Sendable, Hashable {
        public var service: String
        /// `2 GPUs`, `GPUs 0,1`, `nvidia.com/gpu=all`.
        public var asks: String
        /// GPU indices this service would get on this machine (count requests take the first n, as the engine does).
        public var gpus: [Int]
        /// Something the machine cannot give: too few GPUs, a device id that does not exist.
        public var shortfall: String?
    }

    public var claims: [Claim]

    public var shortfalls: [Claim] { claims.filter { $0.shortfall != nil } }

    /// GPU index → services that would both get it.
    public var shared: [(gpu: Int, services: [String])] {
        var owners: [Int: [String]] = [:]
        for claim in claims { for gpu in claim.gpus { owners[gpu, default: []].append(claim.service) } }
        return owners.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Every GPU some service would get.
    public var claimedGPUs: [Int] { Array(Set(claims.flatMap(\.gpus))).sorted() }

    public init(stack: ComposeStack, inventory: GPUInventory?) {
        let usable = inventory?.usable ?? []
        claims = stack.services.filter(\.requestsGPUs).map { service in
            var gpus: [Int] = []
            var problems: [String] = []
            var asks: [String] = []
            for request in service.gpuRequests {
                asks.append(request.description)
                switch request.selection {
                case .notNVIDIA:
                    continue
                case .all:
                    if usable.isEmpty { problems.append("asks for all GPUs, none usable") }
                    gpus += usable.map(\.index)
                case .first(let n):
                    if n > usable.count { problems.append("asks for \(GPUWords.count(n)), \(usable.count) usable") }
                    gpus += usable.prefix(n).map(\.index)
                case .named(let ids):
                    let missing = ids.filter { inventory?.resolve($0) == nil }
                    if !missing.isEmpty {
                        let present = inventory.map { $0.gpus.map { "GPU\($0.index)" }.joined(separator: ", ") } ?? ""
                        problems.append(
                            "names \(missing.count == 1 ? "device" : "devices") \(missing.joined(separator: ", ")), which "
                                + "\(missing.count == 1 ? "does" : "do") not exist (present: \(present.isEmpty ? "none" : present))")
                    }
                    // A MIG device is a slice, not the GPU: two services on different slices share nothing.
                    gpus += ids.compactMap { id in inventory?.resolve(id).flatMap { $0.mig == nil ? $0.gpu?.index : nil } }
                }
            }
            return Claim(
                service: service.name, asks: asks.joined(separator: " + "), gpus: Array(Set(gpus)).sorted(),
                shortfall: problems.isEmpty ? nil : problems.joined(separator: "; "))
        }
    }
}
