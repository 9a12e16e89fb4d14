import Foundation

/// What Docker keeps on disk, per kind, and how much of it `launch`'s prune would remove.
///
/// Docker's own "reclaimable" counts tagged images that no container uses; `launch` never removes those
/// (the stack needs them next time), so the cleanup policy is decided on `prunable`: stopped containers,
/// dangling images and unused build cache. Volumes are never pruned.
public struct DiskUsage: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Encodable, CaseIterable {
        case images, containers, volumes
        case buildCache = "build_cache"

        var title: String { self == .buildCache ? "build cache" : rawValue }
    }

    public struct Category: Sendable, Hashable, Encodable {
        public var kind: Kind
        public var count: Int
        public var active: Int
        public var size: ByteSize
        /// Docker's figure, as `docker system df` prints it.
        public var reclaimable: ByteSize
        /// What `launch clean` removes of this kind; always zero for volumes.
        public var prunable: ByteSize
    }

    /// One thing the prune would remove, for the dry run.
    public struct Candidate: Sendable, Hashable, Encodable {
        public var kind: Kind
        /// Container name, short image id, or "N entries" for build cache.
        public var name: String
        public var size: ByteSize
    }

    public var categories: [Category]
    /// Known when read from the engine; `docker system df`'s summary does not list objects.
    public var candidates: [Candidate]?
    /// `engine API` or `docker system df`.
    public var source: String

    public func category(_ kind: Kind) -> Category? { categories.first { $0.kind == kind } }

    /// Everything a prune could touch: images, containers and build cache (volumes are not part of it).
    public var prunableBase: ByteSize {
        ByteSize(bytes: categories.filter { $0.kind != .volumes }.saturatingSum(\.size.bytes))
    }

    public var prunable: ByteSize { ByteSize(bytes: categories.saturatingSum(\.prunable.bytes)) }

    /// `prunable / prunableBase` in percent; 0 on an empty engine.
    public var prunablePercent: Double {
        prunableBase.bytes == 0 ? 0 : Double(prunable.bytes) / Double(prunableBase.bytes) * 100
    }

    enum CodingKeys: String, CodingKey {
        case categories, candidates, source, prunable, prunablePercent = "prunable_percent"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(categories, forKey: .categories)
        try container.encode(candidates, forKey: .candidates)
        try container.encode(source, forKey: .source)
        try container.encode(prunable, forKey: .prunable)
        try container.encode((prunablePercent * 10).rounded() / 10, forKey: .prunablePercent)
    }
}

extension DiskUsage {
    /// From `GET /system/df`. `label` (`key` or `key=value`) narrows the candidates, and leaves build cache alone
    /// (it carries no labels); the category totals always describe the whole engine.
    public init(engine usage: SystemDataUsage, label: String? = nil) {
        func bytes(_ value: Int64?) -> UInt64 { UInt64(max(value ?? 0, 0)) }
        let matches = LabelFilter(label)

        let usedByContainers = usage.images.filter { $0.containers > 0 }
            .saturatingSum { bytes($0.size) - min(bytes($0.size), bytes($0.sharedSize)) }
        let dangling = usage.images.filter { image in
            image.containers == 0 && (image.repoTags ?? []).allSatisfy { $0 == "<none>:<none>" }
        }
        func uniqueSize(_ image: SystemDataUsage.Image) -> UInt64 {
            image.sharedSize < 0 ? bytes(image.size) : bytes(image.size) - min(bytes(image.size), bytes(image.sharedSize))
        }
        let imageCandidates = dangling.filter { matches($0.labels) }.map { image in
            Candidate(kind: .images, name: Self.shortID(image.id ?? "?"), size: ByteSize(bytes: uniqueSize(image)))
        }

        let stopped = usage.containers.filter { ["exited", "created", "dead"].contains($0.state) }
        let containerCandidates = stopped.filter { matches($0.labels) }.map { container in
            let name = container.names?.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
            return Candidate(
                kind: .containers, name: name ?? Self.shortID(container.id ?? "?"), size: ByteSize(bytes: bytes(container.sizeRw)))
        }

        let unusedCache = usage.buildCache.filter { !$0.inUse && !($0.shared ?? false) }
        let cacheBytes = unusedCache.saturatingSum { bytes($0.size) }
        let cacheCandidates =
            label == nil && !unusedCache.isEmpty
            ? [Candidate(kind: .buildCache, name: "\(unusedCache.count) unused entries", size: ByteSize(bytes: cacheBytes))]
            : []

        let volumeSizes = usage.volumes.map { (bytes($0.usageData?.size), ($0.usageData?.refCount ?? 0) > 0) }
        categories = [
            Category(
                kind: .images, count: usage.images.count, active: usage.images.count { $0.containers > 0 },
                size: ByteSize(bytes: bytes(usage.layersSize)),
                reclaimable: ByteSize(bytes: bytes(usage.layersSize) - min(bytes(usage.layersSize), usedByContainers)),
                prunable: ByteSize(bytes: dangling.saturatingSum(uniqueSize))),
            Category(
                kind: .containers, count: usage.containers.count, active: usage.containers.count { $0.state == "running" },
                size: ByteSize(bytes: usage.containers.saturatingSum { bytes($0.sizeRw) }),
                reclaimable: ByteSize(bytes: usage.containers.filter { $0.state != "running" }.saturatingSum { bytes($0.sizeRw) }),
                prunable: ByteSize(bytes: stopped.saturatingSum { bytes($0.sizeRw) })),
            Category(
                kind: .volumes, count: usage.volumes.count, active: volumeSizes.count { $0.1 },
                size: ByteSize(bytes: volumeSizes.saturatingSum(\.0)),
                reclaimable: ByteSize(bytes: volumeSizes.filter { !$0.1 }.saturatingSum(\.0)),
                prunable: ByteSize(bytes: 0)),
            Category(
                kind: .buildCache, count: usage.buildCache.count, active: usage.buildCache.count(where: \.inUse),
                size: ByteSize(bytes: usage.buildCache.saturatingSum { bytes($0.size) }),
                reclaimable: ByteSize(bytes: usage.buildCache.filter { !$0.inUse }.saturatingSum { bytes($0.size) }),
                prunable: ByteSize(bytes: cacheBytes)),
        ]
        candidates = containerCandidates + imageCandidates + cacheCandidates
        source = "engine API"
    }

    /// `sha256:4d8e945f8358…` → `4d8e945f8358`, as `docker images` shows it.
    static func shortID(_ id: String) -> String {
        String((id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id).prefix(12))
    }
}

/// Docker's `label=key` / `label=key=value` filter, applied to objects already listed.
struct LabelFilter: Sendable {
    let key: String?
    let value: String?

    init(_ label: String?) {
        guard let label else {
            key = nil
            value = nil
            return
        }
        let parts = label.split(separator: "=", maxSplits: 1)
        key = parts.first.map(String.init)
        value = parts.count == 2 ? String(parts[1]) : nil
    }

    func callAsFunction(_ labels: [String: String]?) -> Bool {
        guard let key else { return true }
        guard let found = labels?[key] else { return false }
        return value.map { $0 == found } ?? true
    }
}

/// When `launch <env>` prunes before starting: more of the disk than the profile allows is prunable.
public struct CleanupDecision: Sendable, Hashable, Encodable {
    public var prune: Bool
    public var prunablePercent: Double
    public var thresholdPercent: Double
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case prune, prunablePercent = "prunable_percent", thresholdPercent = "threshold_percent", reason
    }

    public static func decide(_ usage: DiskUsage, policy: Profile.CleanupPolicy) -> CleanupDecision {
        let percent = (usage.prunablePercent * 10).rounded() / 10
        let threshold = policy.reclaimablePercent
        let figures = "\(usage.prunable) of \(usage.prunableBase) (\(Self.format(percent))%) is prunable"
        if usage.prunable.bytes == 0 {
            return CleanupDecision(
                prune: false, prunablePercent: percent, thresholdPercent: threshold,
                reason: "nothing to prune")
        }
        if percent > threshold {
            return CleanupDecision(
                prune: true, prunablePercent: percent, thresholdPercent: threshold,
                reason: figures + ", above the \(Self.format(threshold))% threshold")
        }
        return CleanupDecision(
            prune: false, prunablePercent: percent, thresholdPercent: threshold,
            reason: figures + ", within the \(Self.format(threshold))% threshold")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

extension Sequence {
    /// The engine's sizes are whatever it says: a sum past `UInt64.max` stays at the maximum instead of trapping.
    func saturatingSum(_ value: (Element) -> UInt64) -> UInt64 {
        reduce(UInt64(0)) { total, element in
            let (sum, overflow) = total.addingReportingOverflow(value(element))
            return overflow ? .max : sum
        }
    }
}
