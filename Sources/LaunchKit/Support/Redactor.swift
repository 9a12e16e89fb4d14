import Foundation

/// Replaces secret values with `***` before anything is printed, logged or written to a report.
public struct Redactor: Sendable, Hashable {
    /// Longest first, so a secret that contains another is replaced whole.
    let secrets: [String]

    public init(values: some Sequence<String>) {
        // Very short values would redact ordinary words; generated secrets are 8+ characters.
        secrets = Set(values.filter { $0.count >= 6 }).sorted { $0.count > $1.count }
    }

    /// Secrets of `profile` plus anything in the env file whose key looks secret.
    public init(profile: Profile, envFile: EnvFile?) {
        let values = envFile?.values ?? [:]
        let secretKeys = Set(profile.secrets.map(\.key))
        let markers = ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"]
        let picked = values.filter { key, _ in
            secretKeys.contains(key) || markers.contains { key.uppercased().contains($0) }
        }
        self.init(values: picked.values)
    }

    public static let none = Redactor(values: [])

    public func callAsFunction(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return text
    }
}
