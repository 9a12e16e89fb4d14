import Foundation

/// Why a duration or size written in a file was refused. Loaders turn each case into a problem with file and
/// line; nothing here traps, however absurd the text.
public enum QuantityError: Error, Sendable, Hashable {
    /// Not a number with a known unit (`soon`, `5 parsecs`, `1.2.3s`).
    case malformed
    /// A leading `-`: no wait or size in a profile or stack can be negative.
    case negative
    /// Above `limit` — or so long a digit string that it is not even a finite number.
    case tooLarge(limit: String)
}

/// A byte count written the way people and Docker write them: `512M`, `2GiB`, `20GB`.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    /// 1 EiB: far above any machine's memory or disk, and far below `UInt64.max`, so a size that passed
    /// parsing can be summed and compared without overflow.
    public static let maximum = ByteSize(bytes: 1 << 60)

    public init(bytes: UInt64) { self.bytes = bytes }

    /// `count × unit` bytes, saturating at `UInt64.max`: for counts the kernel or a driver reports
    /// (`/proc/meminfo` kB, statvfs blocks, nvidia-smi MiB), which must never crash a check.
    public init(count: UInt64, unit: UInt64) {
        let (product, overflow) = count.multipliedReportingOverflow(by: unit)
        bytes = overflow ? .max : product
    }

    /// Nil for anything `parse(_:limit:)` refuses.
    public init?(parsing text: String) {
        guard let size = try? Self.parse(text) else { return nil }
        self = size
    }

    private static let multipliers: [String: Double] = [
        "": 1, "b": 1,
        "k": 1024, "kib": 1024, "kb": 1000,
        "m": 1_048_576, "mib": 1_048_576, "mb": 1e6,
        "g": 1_073_741_824, "gib": 1_073_741_824, "gb": 1e9,
        "t": 1_099_511_627_776, "tib": 1_099_511_627_776, "tb": 1e12,
        "p": 1_125_899_906_842_624, "pib": 1_125_899_906_842_624, "pb": 1e15,
    ]

    /// `i` units and bare single letters (Docker's `512m`) are 1024-based; `KB/MB/GB/TB/PB` are 1000-based.
    /// The range is checked in `Double` before converting, because `UInt64(_:)` traps on what it cannot hold.
    public static func parse(_ text: String, limit: ByteSize = maximum) throws(QuantityError) -> ByteSize {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("-") { throw .negative }
        let digits = trimmed.prefix(while: DurationText.isDecimal)
        guard let number = Double(digits) else { throw .malformed }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let multiplier = multipliers[unit] else { throw .malformed }
        let value = number * multiplier
        guard value.isFinite, value <= Double(limit.bytes) else { throw .tooLarge(limit: limit.description) }
        return ByteSize(bytes: UInt64(value))
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// `23.5 GiB`: always binary units, one decimal.
    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
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
    /// The longest duration any file may write: a week. A longer wait is a typo, and a week is far below
    /// where `Duration` (attoseconds in 128 bits) or `Task.sleep` would overflow, so sums and small multiples
    /// of accepted values stay safe.
    public static let maximum: Duration = .seconds(7 * 24 * 3600)

    private static let units: [(String, Double)] = [
        ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ns", 1e-9), ("h", 3600), ("m", 60), ("s", 1),
    ]

    /// Nil for anything `checked(_:limit:)` refuses.
    public static func parse(_ text: String) -> Duration? { try? checked(text) }

    /// Every part is range-checked as a `Double` before it becomes a `Duration`: `.seconds(_:)` traps on a
    /// value it cannot hold (`9999999999999999999h`), and a 400-digit number parses as infinity.
    public static func checked(_ text: String, limit: Duration = maximum) throws(QuantityError) -> Duration {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("-") { throw .negative }
        guard !rest.isEmpty else { throw .malformed }
        let limitSeconds = limit.seconds
        var seconds = 0.0
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix(while: isDecimal)
            guard let number = Double(digits) else { throw .malformed }
            rest = rest.dropFirst(digits.count)
            let scale: Double
            if let unit = units.first(where: { rest.hasPrefix($0.0) }) {
                rest = rest.dropFirst(unit.0.count)
                scale = unit.1
            } else if rest.isEmpty {
                scale = 1  // A bare number is seconds, as in YAML `timeout: 30`.
            } else {
                throw .malformed
            }
            let part = number * scale
            seconds += part
            guard part.isFinite, seconds <= limitSeconds else { throw .tooLarge(limit: format(limit)) }
            // Summed as `Duration`, not `Double`, so `1m30s` and `250ms` stay exact.
            total += .seconds(part)
        }
        return total
    }

    /// ASCII digits and the decimal point only: `Character.isNumber` also accepts `½` and `٣`.
    static func isDecimal(_ character: Character) -> Bool {
        character == "." || ("0"..."9").contains(character)
    }

    /// `1m30s`, `2.5s`, `250ms` — short and exact enough for humans.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 {
            let rounded = (seconds * 10).rounded() / 10
            return rounded == rounded.rounded() ? "\(Int(rounded))s" : String(format: "%.1fs", rounded)
        }
        // `Int(_:)` traps beyond `Int.max`; no accepted duration comes near, but a computed one might.
        guard seconds < 1e15 else { return String(format: "%.0fh", seconds / 3600) }
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

    /// Between zero and `limit`: for durations that come from outside (an image's healthcheck, a label).
    public func clamped(to limit: Duration = DurationText.maximum) -> Duration {
        Swift.min(Swift.max(self, .zero), limit)
    }

    /// `self × factor`, saturating at `limit` instead of trapping: backoff doublings and healthcheck retries
    /// come from files and images, and `Duration`'s own `*` traps on overflow.
    public func multiplied(by factor: Int, limit: Duration = DurationText.maximum) -> Duration {
        let base = clamped(to: limit)
        guard factor > 0, base > .zero else { return .zero }
        // Compared as a ratio first, so the multiplication below can never overflow.
        guard Double(factor) < limit / base else { return limit }
        return Swift.min(base * factor, limit)
    }
}
