import Foundation

/// The one JSON encoder for `--json` output: sorted keys (stable diffs), ISO-8601 dates. A `JSONDocument` gets its
/// `kind` and `schema` written beside its own fields.
public enum JSONOutput {
    /// `line`: one line (JSON Lines, as `launch watch --json` writes), not pretty-printed.
    public static func encode(_ value: some Encodable, line: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = line ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // RFC 3339 with milliseconds: a run's start is exact enough to line its trace up with others.
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        let data = try (value as? any JSONDocument).map { try encoder.encode(Named(document: $0)) } ?? encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    /// The decoder for what launch wrote: dates with or without fractional seconds (reports of older versions).
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
        }
        return decoder
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
