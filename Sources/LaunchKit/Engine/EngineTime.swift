import Foundation

/// The engine's timestamps (RFC 3339 with nanoseconds, `2026-11-23T02:10:00.123456789Z`).
public enum EngineTime {
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // ISO8601DateFormatter takes at most milliseconds.
        let trimmed = text.replacingOccurrences(of: "(\\.\\d{3})\\d+", with: "$1", options: .regularExpression)
        return formatter.date(from: trimmed) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Unix nanoseconds, every digit kept (a `Date` keeps about a microsecond): for comparing with the engine's
    /// own log and event times. Nil for the engine's zero time (`0001-01-01T00:00:00Z`) and anything unreadable.
    public static func nanoseconds(_ text: String) -> Int64? {
        guard let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" })
        else { return parse(text).flatMap(nanoseconds(of:)) }
        let digits = text[text.index(after: dot)..<zone]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = parse(String(text[..<dot]) + String(text[zone...])), let seconds = nanoseconds(of: whole),
            let fraction = Int64(digits.padding(toLength: 9, withPad: "0", startingAt: 0))
        else { return nil }
        return seconds + fraction
    }

    /// Whole seconds of `date` in nanoseconds; nil before 1970 or past what an Int64 holds.
    static func nanoseconds(of date: Date) -> Int64? {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds > 0, seconds < 9_000_000_000 else { return nil }
        return Int64(seconds) * 1_000_000_000
    }
}
