import Foundation

/// The one JSON encoder for `--json` output: sorted keys (stable diffs), ISO-8601 dates. A `JSONDocument` gets its
/// `kind` and `schema` written beside its own fields.
public enum JSONOutput {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try (value as? any JSONDocument).map { try encoder.encode(Named(document: $0)) } ?? encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    /// A document's own fields, and `kind` and `schema` in the same object.
    struct Named: Encodable {
        var document: any JSONDocument
        enum CodingKeys: String, CodingKey { case kind, schema }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type(of: document).kind, forKey: .kind)
            try container.encode(type(of: document).schemaVersion, forKey: .schema)
            try document.encode(to: encoder)
        }
    }
}
