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
}
