import Foundation

/// `launch report --compare A [B]`: each service's time to ready in two runs, the biggest slowdowns first.
public struct RunComparison: Sendable, Encodable {
    public struct Row: Sendable, Equatable, Encodable {
        public var service: String
        /// Seconds to ready; nil when it did not become ready in that run (or was not in it).
        public var before: Double?
        public var after: Double?
        /// `after - before`; nil unless both are known.
        public var change: Double? { before.flatMap { b in after.map { $0 - b } } }

        enum CodingKeys: String, CodingKey { case service, before = "before_seconds", after = "after_seconds", change = "change_seconds" }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(service, forKey: .service)
            try container.encode(before, forKey: .before)
            try container.encode(after, forKey: .after)
            try container.encode(change, forKey: .change)
        }
    }

    public var before: String
    public var after: String
    public var rows: [Row]

    public init(before: RecordedRun, after: RecordedRun) {
        self.before = before.id
        self.after = after.id
        var names: [String] = []
        for name in (after.services + before.services).map(\.name) where !names.contains(name) { names.append(name) }
        let rows = names.map { name in
            Row(service: name, before: Self.secondsToReady(before, name), after: Self.secondsToReady(after, name))
        }
        // Slowest changes first; a service that is not comparable (not ready in one run) goes last, in run order.
        self.rows = rows.enumerated().sorted { a, b in
            switch (a.element.change, b.element.change) {
            case (let x?, let y?): x != y ? x > y : a.offset < b.offset
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.offset < b.offset
            }
        }.map(\.element)
    }

    static func secondsToReady(_ run: RecordedRun, _ service: String) -> Double? {
        guard let recorded = run.services.first(where: { $0.name == service }), recorded.state == "ready" else { return nil }
        return recorded.secondsToReady ?? recorded.readyAt.flatMap { ready in recorded.startedAt.map { ready - $0 } }
    }
}
