import Foundation

/// Replaces secret values with `***` before anything is printed, logged or written to a report.
public struct Redactor: Sendable, Hashable {
    /// Longest first, so a secret that contains another is replaced whole.
    let secrets: [String]

    /// `values` are always redacted, whatever their length.
    public init(values: some Sequence<String>) {
        secrets = Set(values.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
    }

    /// Keys whose values are secret even when the profile does not declare them.
    static let markers = ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"]

    /// The profile's declared secrets and anything whose key looks secret, from the env file and from the
    /// process environment (Compose prefers the environment's value over the env file's, so both can leak).
    public init(profile: Profile, envFile: EnvFile?, environment: [String: String] = [:]) {
        let declared = Set(profile.secrets.map(\.key))
        func isSecret(_ key: String) -> Bool { declared.contains(key) || Self.markers.contains { key.uppercased().contains($0) } }
        var values: [String] = []
        for (key, value) in envFile?.values ?? [:] where isSecret(key) {
            // Undeclared look-alikes (MODE_KEY=on) need some length to be worth hiding without hiding words.
            if declared.contains(key) || value.count >= 6 { values.append(value) }
        }
        for key in declared { if let value = environment[key] { values.append(value) } }
        for (key, value) in environment where !declared.contains(key) && isSecret(key) && value.count >= 8 {
            values.append(value)
        }
        self.init(values: values)
    }

    public static let none = Redactor(values: [String]())

    /// The same redactor, also hiding `values` (secrets that exist only in memory so far).
    public func adding(_ values: [String]) -> Redactor { Redactor(values: secrets + values) }

    public func callAsFunction(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return text
    }
}
