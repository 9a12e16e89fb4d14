/// Compose's variable syntax: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
/// `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, and `$$` for a literal dollar.
public enum Interpolation {
    public struct Reference: Sendable, Hashable {
        public var name: String
        /// `true` when the text gives a fallback, so an unset variable is not an error.
        public var hasDefault: Bool
        /// `${VAR:?message}` / `${VAR?message}`: Compose refuses the stack when it is unset.
        public var isRequired: Bool = false
    }

    /// Every variable `text` refers to, in order of appearance.
    public static func references(in text: String) -> [Reference] {
        var found: [Reference] = []
        _ = walk(text) { name, operation, _ in
            // `${É}`, `${}`: no name Compose accepts (it refuses the text itself).
            guard !name.isEmpty else { return "" }
            found.append(
                Reference(
                    name: name,
                    hasDefault: operation.hasPrefix(":-") || operation.hasPrefix("-")
                        || operation.hasPrefix(":+") || operation.hasPrefix("+"),
                    isRequired: operation.hasPrefix(":?") || operation.hasPrefix("?")))
            return ""
        }
        return found
    }

    /// How deep defaults may nest (`${A:-${B:-…}}`) before the rest is kept as written: a hostile file must not
    /// recurse this process's stack away.
    static let deepestNesting = 32

    /// Substitutes variables using `lookup`; unset variables without a default become empty, as Compose does.
    public static func substitute(_ text: String, _ lookup: (String) -> String?) -> String {
        substitute(text, lookup, depth: 0)
    }

    private static func substitute(_ text: String, _ lookup: (String) -> String?, depth: Int) -> String {
        guard depth <= deepestNesting else { return text }
        func nested(_ argument: String) -> String { substitute(argument, lookup, depth: depth + 1) }
        return walk(text) { name, operation, argument in
            let value = lookup(name)
            switch operation {
            case ":-": return (value?.isEmpty ?? true) ? nested(argument) : (value ?? "")
            case "-": return value ?? nested(argument)
            case ":+": return (value?.isEmpty ?? true) ? "" : nested(argument)
            case "+": return value == nil ? "" : nested(argument)
            default: return value ?? ""
            }
        }
    }

    /// Scans `text`, calling `replace(name, operation, argument)` for each reference.
    private static func walk(_ text: String, _ replace: (String, String, String) -> String) -> String {
        var output = ""
        var index = text.startIndex
        // Names by `isNameCharacter` (`${É}` is not a variable to Compose, so not to launch either).
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                output.append(character)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            guard next < text.endIndex else {
                output.append("$")
                break
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
            } else if text[next] == "{" {
                guard let close = matchingBrace(in: text, from: next) else {
                    output.append(contentsOf: text[index...])
                    break
                }
                let body = text[text.index(after: next)..<close]
                let name = String(body.prefix { isNameCharacter($0) })
                var rest = body.dropFirst(name.count)
                var operation = ""
                for candidate in [":-", ":?", ":+", "-", "?", "+"] where rest.hasPrefix(candidate) {
                    operation = candidate
                    rest = rest.dropFirst(candidate.count)
                    break
                }
                output += replace(name, operation, String(rest))
                index = text.index(after: close)
            } else if isNameCharacter(text[next]) && !text[next].isNumber {
                let name = String(text[next...].prefix { isNameCharacter($0) })
                output += replace(name, "", "")
                index = text.index(next, offsetBy: name.count)
            } else {
                output.append("$")
                index = next
            }
        }
        return output
    }

    /// Compose's names: ASCII letters, digits and `_`.
    static func isNameCharacter(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) || c == "_" }

    /// Where the `}` that closes the `{` at `open` is (braces nest), nil when none does.
    static func matchingBrace(in text: String, from open: String.Index) -> String.Index? {
        var depth = 0
        var index = open
        while index < text.endIndex {
            if text[index] == "{" { depth += 1 }
            if text[index] == "}" {
                depth -= 1
                if depth == 0 { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }
}
