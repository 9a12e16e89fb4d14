import Synchronization
import Yams

/// A YAML document reduced to what profiles need, with every node remembering its file and line.
///
/// Yams nodes know their line but not their file; after `extends` merges two files, a message must still
/// point into the file that wrote the offending key. So each node carries its own `SourceLocation`.
indirect enum YAMLTree: Sendable {
    case scalar(String, SourceLocation)
    case list([YAMLTree], SourceLocation)
    case map([Entry], SourceLocation)
    case null(SourceLocation)

    struct Entry: Sendable {
        var key: String
        var keyLocation: SourceLocation
        var value: YAMLTree
    }

    var location: SourceLocation {
        switch self {
        case .scalar(_, let location), .list(_, let location), .map(_, let location), .null(let location):
            location
        }
    }

    /// Parses `text`; a syntax error becomes a problem with the file's line and column. A compose file is read by
    /// several questions of one command (its profiles, includes, keys only newer Compose acts on, the service index):
    /// the same text of the same file is parsed once per process.
    static func parse(_ text: String, file: String) throws(ConfigurationError) -> YAMLTree {
        if let hit = parsed.withLock({ $0[file] }), hit.text == text { return hit.tree }
        let tree = try parseUncached(text, file: file)
        parsed.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[file] = (text, tree)
        }
        return tree
    }

    private static let parsed = Mutex<[String: (text: String, tree: YAMLTree)]>([:])

    private static func parseUncached(_ text: String, file: String) throws(ConfigurationError) -> YAMLTree {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError([problem(for: error, file: file)])
        } catch {
            throw ConfigurationError([ConfigProblem(SourceLocation(file: file, line: 0), "\(error)")])
        }
        guard let node else { return .null(SourceLocation(file: file, line: 1)) }
        var budget = maximumNodes
        guard let tree = YAMLTree(node, file: file, budget: &budget) else {
            // Aliases of aliases multiply: a few hundred bytes can stand for billions of values ("billion laughs").
            throw ConfigurationError([
                ConfigProblem(
                    SourceLocation(file: file, line: 1), "\(expansionMessage) \(maximumNodes) values once its aliases are expanded",
                    hint: "write the values out, or use fewer aliases of aliases (*name)")
            ])
        }
        return tree
    }

    /// More values than any profile writes by hand: the limit is only there for alias bombs.
    static let maximumNodes = 1_000_000

    /// Whether `problem` is the one `parse` reports for a document past `maximumNodes`.
    static func isExpansionProblem(_ problem: ConfigProblem) -> Bool {
        problem.message.hasPrefix(expansionMessage)
    }

    private static let expansionMessage = "this document stands for more than"

    /// nil when the document holds more than `budget` nodes with its aliases expanded (counted down as it goes,
    /// so an alias bomb is refused after `budget` steps, not after expanding it).
    private init?(_ node: Node, file: String, budget: inout Int) {
        budget -= 1
        guard budget >= 0 else { return nil }
        let location = SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                self = .null(location)
            } else {
                self = .scalar(scalar.string, location)
            }
        case .sequence(let sequence):
            var items: [YAMLTree] = []
            for item in sequence {
                guard let tree = YAMLTree(item, file: file, budget: &budget) else { return nil }
                items.append(tree)
            }
            self = .list(items, location)
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                guard let tree = YAMLTree(value, file: file, budget: &budget) else { return nil }
                entries.append(
                    Entry(
                        key: key.string ?? "",
                        keyLocation: SourceLocation(file: file, line: key.mark?.line ?? 0, column: key.mark?.column ?? 1),
                        value: tree))
            }
            self = .map(entries, location)
        case .alias(let alias):
            self = .null(SourceLocation(file: file, line: alias.mark?.line ?? 0))
        }
    }

    /// `extends`: this document's keys override the base's; maps merge key by key; lists and scalars replace.
    func merged(over base: YAMLTree) -> YAMLTree {
        guard case .map(let mine, let location) = self, case .map(let theirs, _) = base else { return self }
        var result = theirs
        for entry in mine {
            if let index = result.firstIndex(where: { $0.key == entry.key }) {
                result[index] = Entry(
                    key: entry.key, keyLocation: entry.keyLocation,
                    value: entry.value.merged(over: result[index].value))
            } else {
                result.append(entry)
            }
        }
        return .map(result, location)
    }

    subscript(key: String) -> YAMLTree? {
        guard case .map(let entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    static func problem(for error: YamlError, file: String) -> ConfigProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return ConfigProblem(
                SourceLocation(file: file, line: mark.line, column: mark.column), "malformed YAML: \(detail)",
                hint: "check indentation and quoting on this line and the one before it")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigProblem(
                SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                "duplicate keys: \(duplicates.joined(separator: ", "))", hint: "keep one of each key")
        default:
            return ConfigProblem(SourceLocation(file: file, line: 0), "malformed YAML: \(error)")
        }
    }
}

/// Reads a `YAMLTree` against an expected shape, collecting every problem instead of stopping at the first.
struct TreeReader {
    var problems: [ConfigProblem] = []

    mutating func fail(_ location: SourceLocation, _ message: String, hint: String? = nil) {
        problems.append(ConfigProblem(location, message, hint: hint))
    }

    /// The entries of a mapping; unknown keys are reported with a did-you-mean.
    mutating func map(_ tree: YAMLTree?, _ what: String, allowed: [String]? = nil) -> [YAMLTree.Entry] {
        guard let tree else { return [] }
        if case .null = tree { return [] }
        guard case .map(let entries, _) = tree else {
            fail(tree.location, "\(what) must be a mapping (key: value)")
            return []
        }
        if let allowed {
            for entry in entries where !allowed.contains(entry.key) {
                let suggestion = Text.suggestion(for: entry.key, among: allowed)
                fail(
                    entry.keyLocation, "unknown key `\(entry.key)` in \(what)",
                    hint: suggestion.map { "did you mean `\($0)`?" }
                        ?? "known keys: \(allowed.joined(separator: ", "))")
            }
        }
        return entries.filter { allowed?.contains($0.key) ?? true }
    }

    mutating func string(_ tree: YAMLTree?, _ what: String) -> String? {
        guard let tree else { return nil }
        switch tree {
        case .scalar(let value, _): return value
        case .null: return nil
        default:
            fail(tree.location, "\(what) must be a single value")
            return nil
        }
    }

    mutating func strings(_ tree: YAMLTree?, _ what: String) -> [String]? {
        guard let tree else { return nil }
        switch tree {
        case .null: return []
        case .scalar(let value, _): return [value]
        case .list(let items, _):
            return items.compactMap { string($0, "each entry of \(what)") }
        case .map:
            fail(tree.location, "\(what) must be a list, like [a, b]")
            return nil
        }
    }

    mutating func int(_ tree: YAMLTree?, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(tree, what), let tree else { return nil }
        guard let value = Int(text), range.contains(value) else {
            fail(tree.location, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not `\(text)`")
            return nil
        }
        return value
    }

    mutating func double(_ tree: YAMLTree?, _ what: String, range: ClosedRange<Double>) -> Double? {
        guard let text = string(tree, what), let tree else { return nil }
        // `nan` and `inf` parse as `Double`; `isFinite` keeps them out whatever the range.
        guard let value = Double(text.replacingOccurrences(of: "%", with: "")), value.isFinite, range.contains(value)
        else {
            fail(tree.location, "\(what) must be a number from \(range.lowerBound) to \(range.upperBound), not `\(text)`")
            return nil
        }
        return value
    }

    mutating func bool(_ tree: YAMLTree?, _ what: String) -> Bool? {
        guard let text = string(tree, what), let tree else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(tree.location, "\(what) must be true or false, not `\(text)`")
            return nil
        }
    }

    /// A duration from `0` (or above `0` when `positive`) to `limit`; anything else is a problem at its line.
    mutating func duration(
        _ tree: YAMLTree?, _ what: String, atMost limit: Duration = DurationText.maximum, positive: Bool = false
    ) -> Duration? {
        guard let text = string(tree, what), let tree else { return nil }
        let value: Duration
        do throws(QuantityError) {
            value = try DurationText.checked(text, limit: limit)
        } catch {
            reject(error, what, text, at: tree.location, kind: .duration)
            return nil
        }
        guard !positive || value > .zero else {
            fail(tree.location, "\(what) must be longer than 0, not `\(text)`", hint: QuantityKind.duration.example)
            return nil
        }
        return value
    }

    /// A duration someone else already accepted (Compose, an image): too long is cut to `limit`, because
    /// the engine takes it and refusing would block the stack; malformed or negative is still a problem.
    mutating func clampedDuration(_ tree: YAMLTree?, _ what: String, limit: Duration = DurationText.maximum) -> Duration? {
        guard let text = string(tree, what), let tree else { return nil }
        do throws(QuantityError) {
            return try DurationText.checked(text, limit: limit)
        } catch .tooLarge {
            return limit
        } catch {
            reject(error, what, text, at: tree.location, kind: .duration)
            return nil
        }
    }

    mutating func size(_ tree: YAMLTree?, _ what: String) -> ByteSize? {
        guard let text = string(tree, what), let tree else { return nil }
        do throws(QuantityError) {
            return try ByteSize.parse(text)
        } catch {
            reject(error, what, text, at: tree.location, kind: .size)
            return nil
        }
    }

    enum QuantityKind {
        case duration, size

        var example: String {
            switch self {
            case .duration: "write it like 250ms, 5s, 10m or 1h"
            case .size: "write it like 512MiB, 24GiB or 20GB"
            }
        }
    }

    private mutating func reject(
        _ error: QuantityError, _ what: String, _ text: String, at location: SourceLocation, kind: QuantityKind
    ) {
        switch error {
        case .malformed:
            fail(location, "\(what) is not a \(kind): `\(text)`", hint: kind.example)
        case .negative:
            fail(location, "\(what) cannot be negative: `\(text)`", hint: kind.example)
        case .tooLarge(let limit):
            let adjective = kind == .duration ? "too long" : "too large"
            fail(location, "\(what) is \(adjective): `\(text)` (at most \(limit))", hint: "a typo? \(kind.example)")
        }
    }
}
