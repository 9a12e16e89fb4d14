/// Small text helpers shared by error messages and renderers.
public enum Text {
    /// `line` made safe to print on a terminal: ANSI escape sequences dropped, other control characters blanked,
    /// invisible format characters (bidi controls) removed, and cut to `limit` characters. For what a container
    /// printed (log lines, probe output), which could otherwise retitle, clear or recolour the user's terminal.
    /// `trimming: false` keeps the line's own indentation (a log's stack trace).
    public static func printable(_ line: String, limit: Int, trimming: Bool = true) -> String {
        var scalars = String.UnicodeScalarView()
        var escape = false  // inside an ANSI escape sequence (ESC [ parameters final-byte)
        for scalar in line.unicodeScalars {
            if escape {
                // Parameters and intermediates are 0x20–0x3F; a final byte (0x40–0x7E) ends the sequence.
                if scalar != "[", (0x40...0x7E).contains(scalar.value) { escape = false }
                continue
            }
            switch scalar.properties.generalCategory {
            case .control where scalar == "\u{1B}": escape = true
            case .control: scalars.append(" ")
            case .format: continue
            default: scalars.append(scalar)
            }
        }
        let flat = trimming ? String(scalars).trimmingCharacters(in: .whitespaces) : String(scalars)
        return flat.count > limit ? String(flat.prefix(limit - 3)) + "..." : flat
    }

    /// Levenshtein distance, for "did you mean" suggestions.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The closest candidate within a distance proportional to the word, if any.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let limit = max(2, word.count / 3)
        let ranked = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= limit }
        if let prefixMatch = candidates.first(where: { $0.hasPrefix(word) && word.count >= 3 }) {
            return prefixMatch
        }
        return ranked.min { $0.1 < $1.1 }?.0
    }

    /// Pads or leaves a column cell so that tables line up.
    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Renders rows as an aligned table with two spaces between columns.
    public static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : pad(cell, widths[i]) }
                .joined(separator: "  ")
        }
    }
}
