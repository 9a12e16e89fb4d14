import Foundation

/// A byte count written the way people and Docker write them: `512M`, `2GiB`, `20GB`.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    /// `i` units and bare single letters (Docker's `512m`) are 1024-based; `KB/MB/GB/TB` are 1000-based.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits), number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1024, "kib": 1024, "kb": 1000,
            "m": 1_048_576, "mib": 1_048_576, "mb": 1e6,
            "g": 1_073_741_824, "gib": 1_073_741_824, "gb": 1e9,
            "t": 1_099_511_627_776, "tib": 1_099_511_627_776, "tb": 1e12,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        bytes = UInt64(number * multiplier)
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// `23.5 GiB`: always binary units, one decimal.
    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024 && index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[index])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }

    public init(from decoder: any Decoder) throws {
        bytes = try decoder.singleValueContainer().decode(UInt64.self)
    }
}

/// Parses durations as profiles and Compose write them: `250ms`, `5s`, `1m30s`, `10m`, `1h`, `1.5s`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else {
                // A bare number is seconds, as in YAML `timeout: 30`.
                if rest.isEmpty { return total + .seconds(number) }
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            total += .seconds(number * unit.1)
        }
        return total
    }

    /// `1m30s`, `2.5s`, `250ms` — short and exact enough for humans.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 {
            let rounded = (seconds * 10).rounded() / 10
            return rounded == rounded.rounded() ? "\(Int(rounded))s" : String(format: "%.1fs", rounded)
        }
        let minutes = Int(seconds) / 60
        let rest = Int(seconds) % 60
        if minutes >= 60 { return "\(minutes / 60)h" + (minutes % 60 > 0 ? "\(minutes % 60)m" : "") }
        return rest == 0 ? "\(minutes)m" : "\(minutes)m\(rest)s"
    }
}

extension Duration {
    /// Seconds as a floating-point number, for arithmetic and JSON.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
