import Foundation

/// Replaces secret values with `***` before anything is printed, logged or written to a report.
public struct Redactor: Sendable, Hashable {
    /// Longest first, so a secret that contains another is replaced whole.
    let secrets: [String]

    /// `values` are always redacted, whatever their length, in every form they are printed in: as they are,
    /// with `$` doubled (how `docker compose config` escapes it) and JSON-escaped (Compose's `--format json`).
    public init(values: some Sequence<String>) {
        secrets = Set(values.filter { !$0.isEmpty }.flatMap(Self.forms)).sorted { $0.utf8.count > $1.utf8.count }
    }

    static func forms(_ value: String) -> [String] {
        let dollars = value.replacingOccurrences(of: "$", with: "$$")
        func json(_ text: String) -> String {
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out
        }
        // A multi-line value (a PEM key) is printed a line at a time (logs, diagnoses): each line is a secret too.
        // Trimmed, and not the armour lines every PEM shares (`-----END PRIVATE KEY-----` is not a secret).
        let lines = value.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.count >= 6 && $0 != value && !$0.hasPrefix("-----") }
        return [value, dollars, json(value), json(dollars)] + lines
    }

    /// Keys whose values are secret even when the profile does not declare them.
    static let markers = ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"]

    /// Whether a variable's name says its value is a secret.
    static func looksSecret(_ key: String) -> Bool { markers.contains { key.uppercased().contains($0) } }

    /// The password of every `scheme://user:password@host` in `text` as `***` (a database URL in an environment
    /// value, a registry mirror with credentials); the rest of the URL stays readable.
    static func urlCredentials(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        return text.replacing(/([A-Za-z][A-Za-z0-9+.\-]*:\/\/[^:\/@\s]*:)([^@\s\/]+)@/) { match in "\(match.output.1)***@" }
    }

    /// The profile's declared secrets and anything whose key looks secret, from the env file and from the
    /// process environment (Compose prefers the environment's value over the env file's, so both can leak).
    public init(profile: Profile, envFile: EnvFile?, environment: [String: String] = [:]) {
        let declared = Set(profile.secrets.map(\.key))
        func isSecret(_ key: String) -> Bool { declared.contains(key) || Self.looksSecret(key) }
        var values: [String] = []
        // The text as written and the value as Compose resolves it (what the container sees and prints).
        let resolved = envFile?.resolved(environment: environment) ?? [:]
        for (key, value) in (envFile?.values ?? [:]) where isSecret(key) {
            // Undeclared look-alikes (MODE_KEY=on) need some length to be worth hiding without hiding words.
            if declared.contains(key) || value.count >= 6 { values.append(value) }
            if let seen = resolved[key], declared.contains(key) || seen.count >= 6 { values.append(seen) }
        }
        for key in declared { if let value = environment[key] { values.append(value) } }
        for (key, value) in environment where !declared.contains(key) && isSecret(key) && value.count >= 8 {
            values.append(value)
        }
        self.init(values: values)
    }

    public static let none = Redactor(values: [String]())

    /// The values under secret-looking keys of an env file the stack itself reads (`compose/.env`, a service's
    /// `env_file:`), as written and as Compose resolves them.
    static func secretValues(in file: EnvFile) -> [String] {
        let resolved = file.resolvedValues
        return file.values.filter { looksSecret($0.key) }.flatMap { key, value in [value, resolved[key] ?? value] }
            .filter(isWorthHiding)
    }

    /// Whether a value found under a secret-looking key of the stack's own configuration is hidden everywhere: one
    /// rule for `launch config` and for every output. Defaults such stacks ship (`POSTGRES_PASSWORD=postgres`,
    /// `minioadmin`) are words that also name services, images and volumes, and a short value (`MODE_KEY=on`) is a
    /// setting; a reference (`${NGC_API_KEY}`) is not a value yet.
    static func isWorthHiding(_ value: String) -> Bool {
        value.count >= 6 && !value.contains("${") && !value.allSatisfy { $0.isLetter && $0.isLowercase }
    }

    /// The same redactor, also hiding `values` (secrets that exist only in memory so far).
    public func adding(_ values: [String]) -> Redactor { Redactor(values: secrets + values) }

    /// Byte for byte, not Character by Character: a secret next to a combining mark or an invalid byte is still
    /// found (Swift's grapheme-aware `contains` would miss it).
    public func callAsFunction(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var bytes = Array(text.utf8)
        var changed = false
        for secret in secrets {
            let needle = Array(secret.utf8)
            guard !needle.isEmpty, needle.count <= bytes.count else { continue }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var index = 0
            var found = false
            while index < bytes.count {
                if index + needle.count <= bytes.count, bytes[index] == needle[0],
                    bytes[index..<(index + needle.count)].elementsEqual(needle)
                {
                    out += Array("***".utf8)
                    index += needle.count
                    found = true
                } else {
                    out.append(bytes[index])
                    index += 1
                }
            }
            if found {
                bytes = out
                changed = true
            }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }
}
