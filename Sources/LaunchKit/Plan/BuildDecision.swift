/// Whether a `build:` service's image is built again, and why: the context hash on the image against the files now.
public enum BuildDecision: Sendable, Hashable {
    /// No image yet.
    case missing
    /// The image carries another `launch.context-hash` than the context has now (or none: not built by launch).
    case changed
    /// The image was built from exactly these files.
    case unchanged(hash: String)
    /// The context cannot be hashed (remote, unreadable): Compose's build cache decides.
    case unknown

    public var needsBuild: Bool {
        switch self {
        case .missing, .changed, .unknown: true
        case .unchanged: false
        }
    }

    public var description: String {
        switch self {
        case .missing: "build (image missing)"
        case .changed: "build (context changed)"
        case .unchanged: "keep (context unchanged)"
        case .unknown: "build (context not hashable: build cache decides)"
        }
    }

    /// `label`: the image's `launch.context-hash` (nil: no image; empty: built without launch).
    static func decide(imageLabel label: String?, contextHash: String?) -> BuildDecision {
        guard let label else { return .missing }
        guard let contextHash else { return .unknown }
        return label == contextHash ? .unchanged(hash: contextHash) : .changed
    }
}
