import Foundation

/// UTC timestamps for file names (`20261123T021327Z`, optionally with milliseconds): sortable, no colons.
enum Timestamp {
    static func compact(_ date: Date, milliseconds: Bool = false) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = milliseconds ? "yyyyMMdd'T'HHmmss.SSS'Z'" : "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
