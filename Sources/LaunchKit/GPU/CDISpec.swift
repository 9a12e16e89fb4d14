import Foundation

/// A CDI spec file (`/etc/cdi/nvidia.yaml`, `/var/run/cdi/*.json`): the devices it defines and, for NVIDIA's
/// generated specs, the driver version it was generated for (the version in the library names it mounts).
public struct CDISpec: Sendable, Hashable {
    public var path: String
    /// `nvidia.com/gpu`.
    public var kind: String
    /// Fully qualified: `nvidia.com/gpu=0`, `nvidia.com/gpu=all`.
    public var devices: [String]
    /// `580.159.04` from `libcuda.so.580.159.04`; nil when the spec mounts no versioned driver library.
    public var driverVersion: String?

    public static func parse(_ text: String, path: String) -> CDISpec? {
        guard let tree = try? YAMLTree.parse(text, file: path), case .scalar(let kind, _)? = tree["kind"] else { return nil }
        var devices: [String] = []
        if case .list(let items, _)? = tree["devices"] {
            for item in items { if case .scalar(let name, _)? = item["name"] { devices.append("\(kind)=\(name)") } }
        }
        let pattern = #"lib(?:cuda|nvidia-ml)\.so\.([0-9]+\.[0-9]+(?:\.[0-9]+)?)"#
        let version = text.range(of: pattern, options: .regularExpression).map { range in
            String(text[range]).components(separatedBy: ".so.").last ?? ""
        }
        return CDISpec(path: path, kind: kind, devices: devices, driverVersion: version)
    }

    /// Every spec in `directories` (later directories override, as the CDI cache does); unreadable files are skipped.
    public static func read(directories: [String]) -> [CDISpec] {
        directories.flatMap { directory -> [CDISpec] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.sorted().filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.compactMap { name in
                let path = (directory as NSString).appendingPathComponent(name)
                return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { parse($0, path: path) }
            }
        }
    }

    /// The device names of `nvidia-ctk cdi list` (its `INFO[…]` log lines are skipped).
    public static func parseList(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.range(of: "^[A-Za-z0-9.-]+/[A-Za-z0-9._-]+=[^ ]+$", options: .regularExpression) != nil }
    }

    /// Whether `requested` (`nvidia.com/gpu=all`, `nvidia.com/gpu=0`) is among `available`.
    public static func satisfies(_ requested: String, available: [String]) -> Bool {
        available.contains(requested)
    }
}
