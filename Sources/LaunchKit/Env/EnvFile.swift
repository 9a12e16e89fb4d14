import Foundation

/// A `.env` file as lines, so that completing it keeps every existing line, comment and order untouched.
public struct EnvFile: Sendable, Hashable {
    public enum Line: Sendable, Hashable {
        case entry(key: String, value: String, raw: String)
        /// Comments, blank lines: kept verbatim.
        case other(String)
        /// A line that is neither; reported by doctor, kept verbatim.
        case malformed(String)
    }

    public var lines: [Line]
    /// Whether the original text ended with a newline, so writing back is byte-identical.
    var endsWithNewline: Bool
    /// Lines that are not valid UTF-8, by index: their original bytes, written back exactly. Their parsed form
    /// (with U+FFFD for the bad bytes) still counts for redaction, which sees text decoded the same way.
    var undecodable: [Int: [UInt8]] = [:]
    /// The file began with a UTF-8 byte order mark (some Windows editors write one). Compose reads past it, and so does
    /// launch: the first key is the key, not `\u{FEFF}KEY`. Written back as it was.
    var byteOrderMark = false
    /// The 0-based file line each parsed line begins on (a multi-line quoted value spans several).
    private var firstLines: [Int] = []
    static let byteOrderMarkBytes: [UInt8] = [0xEF, 0xBB, 0xBF]

    public init(parsing text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// Byte-safe: a line that is not UTF-8 is kept as it is and listed in `undecodableLines`; it never makes the
    /// file unreadable.
    public init(bytes: [UInt8]) {
        var bytes = bytes
        if bytes.starts(with: Self.byteOrderMarkBytes) {
            byteOrderMark = true
            bytes.removeFirst(Self.byteOrderMarkBytes.count)
        }
        // Split on the byte, not the Character: in Swift "\r\n" is one Character, so a file written on Windows
        // would otherwise read as a single line. Each raw line keeps its "\r" and is written back unchanged.
        var rawLines = bytes.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        endsWithNewline = bytes.last == 10 || bytes.isEmpty
        if bytes.last == 10 || bytes.isEmpty { rawLines.removeLast() }
        var parsed: [Line] = []
        var index = 0
        while index < rawLines.count {
            // A quoted value that does not close on its line goes on to the line that closes it (a PEM key), as
            // Compose reads it; one that never closes stays one line (and malformed lines after it stay malformed).
            var raw = rawLines[index]
            var end = index
            if let quote = Self.openQuote(String(decoding: raw, as: UTF8.self)),
                let closing = rawLines[(index + 1)...].firstIndex(where: { Self.closes(String(decoding: $0, as: UTF8.self), quote) })
            {
                end = closing
                raw = Array(rawLines[index...closing].joined(separator: [10]))
            }
            if String(validating: raw, as: UTF8.self) == nil { undecodable[parsed.count] = raw }
            firstLines.append(index)
            parsed.append(Self.parseLine(String(decoding: raw, as: UTF8.self)))
            index = end + 1
        }
        lines = parsed
    }

    /// The 1-based line in the file where parsed line `index` begins.
    func lineNumber(_ index: Int) -> Int { index < firstLines.count ? firstLines[index] + 1 : index + 1 }

    /// The quote a `KEY="…` line opens and does not close, if any.
    static func openQuote(_ raw: String) -> Character? {
        guard case .entry = parseLine(raw), let equals = separator(in: raw) else { return nil }
        let value = raw[raw.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        guard let quote = value.first, quote == "\"" || quote == "'" else { return nil }
        return closes(String(value.dropFirst()), quote) ? nil : quote
    }

    /// Whether `text` holds the closing `quote` (a `"` not escaped by a backslash).
    static func closes(_ text: String, _ quote: Character) -> Bool {
        var escaped = false
        for character in text {
            if character == quote && !(quote == "\"" && escaped) { return true }
            escaped = character == "\\" && !escaped
        }
        return false
    }

    /// 1-based numbers of lines that are not valid UTF-8 (kept as they are; doctor warns about them).
    public var undecodableLines: [Int] { undecodable.keys.sorted().map(lineNumber) }

    public var entries: [(key: String, value: String)] {
        lines.compactMap { if case .entry(let key, let value, _) = $0 { (key, value) } else { nil } }
    }

    /// Last assignment wins, as in Compose.
    public var values: [String: String] {
        Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// 1-based line numbers of lines that are not `KEY=VALUE`, comments or blank.
    public var malformedLines: [(line: Int, text: String)] {
        lines.enumerated().compactMap { index, line in
            if case .malformed(let text) = line { (lineNumber(index), text) } else { nil }
        }
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The file as bytes: undecodable lines exactly as they were read.
    public var bytes: [UInt8] {
        var out: [UInt8] = byteOrderMark ? Self.byteOrderMarkBytes : []
        for (index, line) in lines.enumerated() {
            if index > 0 { out.append(10) }
            if let original = undecodable[index] {
                out += original
                continue
            }
            switch line {
            case .entry(_, _, let raw), .other(let raw), .malformed(let raw): out += Array(raw.utf8)
            }
        }
        if !lines.isEmpty && endsWithNewline { out.append(10) }
        return out
    }

    /// Values as Compose hands them to a container (dotenv rules, checked against Compose 2.26: single quotes
    /// literal; double quotes with `\\`, `\"`, `\$`, `\n` escapes and `$$` for `$`; unquoted up to an inline
    /// comment, `$$` for `$`). Last wins.
    /// Variables inside unquoted and double-quoted values are interpolated as Compose's dotenv does: from this
    /// process's environment, then from the file's earlier keys; unset ones are empty (`abc$def$$ghi` is `abc$ghi`,
    /// which is what the container sees and prints, so what redaction must find).
    public var resolvedValues: [String: String] { resolved(environment: ProcessInfo.processInfo.environment) }

    public func resolved(environment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for line in lines {
            guard case .entry(let key, _, let raw) = line, let equals = Self.separator(in: raw) else { continue }
            result[key] = Self.composeValue(String(raw[raw.index(after: equals)...])) { name in environment[name] ?? result[name] }
        }
        return result
    }

    /// One value as Compose's dotenv parser reads it; `lookup` answers the variables inside (nil: left as written).
    static func composeValue(_ text: String, lookup: ((String) -> String?)? = nil) -> String {
        let value = text.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
        if value.hasPrefix("'"), let close = value.dropFirst().firstIndex(of: "'") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        if value.hasPrefix("\"") {
            var out = ""
            var index = value.index(after: value.startIndex)
            while index < value.endIndex {
                let character = value[index]
                if character == "\\", value.index(after: index) < value.endIndex {
                    let next = value[value.index(after: index)]
                    switch next {
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    default: out.append(next)
                    }
                    index = value.index(index, offsetBy: 2)
                    continue
                }
                if character == "\"" { return out }
                if character == "$", value.index(after: index) < value.endIndex, value[value.index(after: index)] == "$" {
                    out.append("$")
                    index = value.index(index, offsetBy: 2)
                    continue
                }
                if character == "$", let lookup, let end = Self.referenceEnd(in: value, at: index) {
                    out += Interpolation.substitute(String(value[index..<end]), lookup)
                    index = end
                    continue
                }
                out.append(character)
                index = value.index(after: index)
            }
            return out
        }
        var plain = value
        if let hash = plain.range(of: " #") { plain = String(plain[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
        guard let lookup else { return plain.replacingOccurrences(of: "$$", with: "$") }
        return Interpolation.substitute(plain, lookup)
    }

    /// Where a variable reference that starts at `start` (a `$`) ends: after `${…}` or `$NAME`; nil when none starts there.
    static func referenceEnd(in text: String, at start: String.Index) -> String.Index? {
        let next = text.index(after: start)
        guard next < text.endIndex else { return nil }
        if text[next] == "{" { return Interpolation.matchingBrace(in: text, from: next).map { text.index(after: $0) } }
        guard Interpolation.isNameCharacter(text[next]), !text[next].isNumber else { return nil }
        return text[next...].firstIndex { !Interpolation.isNameCharacter($0) } ?? text.endIndex
    }

    /// Appends `KEY=value` for every key not yet present; returns the keys added, in order.
    public mutating func add(_ additions: [(key: String, value: String)], heading: String? = nil) -> [String] {
        let existing = Set(entries.map(\.key))
        let missing = additions.filter { !existing.contains($0.key) }
        guard !missing.isEmpty else { return [] }
        endsWithNewline = true
        if let heading {
            if !lines.isEmpty, lines.last != .other("") { lines.append(.other("")) }
            lines.append(.other("# \(heading)"))
        }
        for (key, value) in missing {
            let raw = "\(key)=\(Self.quoted(value))"
            lines.append(.entry(key: key, value: value, raw: raw))
        }
        return missing.map(\.key)
    }

    static func parseLine(_ raw: String) -> Line {
        let trimmed = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return .other(raw) }
        var body = Substring(trimmed)
        if body.hasPrefix("export ") { body = body.dropFirst(7).drop { $0 == " " } }
        guard let equals = separator(in: body) else { return .malformed(raw) }
        let key = body[..<equals].trimmingCharacters(in: .whitespaces)
        guard key.range(of: "^[A-Za-z_][A-Za-z0-9_.]*$", options: .regularExpression) != nil else {
            return .malformed(raw)
        }
        return .entry(key: key, value: unquoted(String(body[body.index(after: equals)...])), raw: raw)
    }

    /// Where the key ends: at the first `=`, or at a `:` before any `=` (`KEY: value`, which Compose's dotenv
    /// reads too; a key never holds either).
    static func separator<Text: StringProtocol>(in line: Text) -> Text.Index? {
        line.firstIndex { $0 == "=" || $0 == ":" }
    }

    static func unquoted(_ value: String) -> String {
        let value = value.trimmingCharacters(in: .whitespaces)
        for quote in ["\"", "'"] where value.count >= 2 && value.hasPrefix(quote) {
            if let close = value.dropFirst().firstIndex(of: Character(quote)) {
                let inner = String(value[value.index(after: value.startIndex)..<close])
                return quote == "\"" ? inner.replacingOccurrences(of: "\\\"", with: "\"") : inner
            }
        }
        // Unquoted values end at an inline comment.
        if let hash = value.range(of: " #") { return String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
        return value
    }

    /// Values that Compose would misread unquoted get single quotes, or double quotes (escaped) when they
    /// contain a single quote themselves.
    static func quoted(_ value: String) -> String {
        let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@,+".contains($0) }
        if plain { return value }
        if !value.contains("'") { return "'" + value + "'" }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "$", with: "\\$")
        return "\"" + escaped + "\""
    }
}
