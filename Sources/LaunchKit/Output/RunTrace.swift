import Foundation

/// A recorded run as an OpenTelemetry trace in OTLP/JSON (an `ExportTraceServiceRequest`): one trace per run, a
/// span for the run, one per phase, and under the start phase one per service with child spans for waiting,
/// the engine starting it and its readiness check. Failures carry error status and their class.
///
/// Ids are derived from the run (its id and start) and each span's place in it, so exporting the same run again gives
/// the same ids. Strings pass the redactor and the printable filter.
public enum RunTrace {
    public static func request(_ run: RecordedRun, redact: Redactor = .none) -> ExportRequest {
        let timeline = RunTimeline(run)
        var builder = Builder(run: run, redact: redact)
        let origin = run.startedAt.timeIntervalSince1970
        let root = builder.span(
            "launch \(run.environment)", path: "run", parent: nil, from: origin, seconds: run.seconds,
            attributes: [
                .string("launch.environment", run.environment), .string("launch.project", run.project),
                .string("launch.outcome", run.outcome), .int("launch.exit_code", Int(run.exitCode)),
                .string("launch.run_id", run.id),
            ]
                + [
                    run.endpoint.map { .string("launch.engine.endpoint", $0) }, run.overlay.map { .string("launch.overlay", $0) },
                    run.composeFiles.map { .string("launch.compose_files", $0.joined(separator: ",")) },
                ].compactMap { $0 },
            error: run.failed || run.outcome == "interrupted"
                ? (run.error?.split(separator: "\n").first.map(String.init) ?? run.outcome) : nil)
        var startSpan: String?
        for (index, phase) in timeline.phases.enumerated() {
            let id = builder.span(
                phase.name, path: "phase/\(index)", parent: root, from: origin + phase.begin, seconds: phase.seconds,
                attributes: [.string("launch.phase.status", phase.status)], error: phase.status == "failed" ? "\(phase.name) failed" : nil)
            if phase.name == "start" { startSpan = id }
        }
        let startOrigin = origin + timeline.startOffset
        for (index, lane) in timeline.lanes.enumerated() {
            guard let service = run.services.first(where: { $0.name == lane.name }) else { continue }
            builder.service(
                service, lane: lane, path: "service/\(index)", parent: startSpan ?? root, origin: startOrigin, axisEnd: timeline.axisEnd)
        }
        return ExportRequest(resourceSpans: [
            .init(
                resource: .init(
                    attributes: [
                        .string("service.name", "launch"), .string("service.version", run.version ?? Version.current),
                        .string("launch.environment", run.environment),
                    ].map { builder.redacted($0) }),
                scopeSpans: [.init(scope: .init(name: "launch", version: Version.current), spans: builder.spans)])
        ])
    }

    /// The request as OTLP/JSON text.
    public static func json(_ run: RecordedRun, redact: Redactor = .none) throws -> String {
        try JSONOutput.encode(request(run, redact: redact))
    }

    struct Builder {
        var run: RecordedRun
        var redact: Redactor
        var spans: [Span] = []
        let seed: String
        let traceId: String

        init(run: RecordedRun, redact: Redactor) {
            self.run = run
            self.redact = redact
            seed = "\(run.id)@\(run.startedAt.timeIntervalSince1970)"
            traceId = Self.hex(seed, bytes: 16)
        }

        /// The first `bytes` of SHA-256 of `text`, in lower-case hex (OTLP/JSON writes ids in hex).
        static func hex(_ text: String, bytes: Int) -> String {
            var hasher = SHA256()
            hasher.update(Array(text.utf8))
            return hasher.finalize().prefix(bytes).map { String(format: "%02x", $0) }.joined()
        }

        func redacted(_ attribute: Attribute) -> Attribute {
            guard let text = attribute.value.stringValue else { return attribute }
            return .string(attribute.key, Text.printable(redact(text), limit: 4096))
        }

        @discardableResult
        mutating func span(
            _ name: String, path: String, parent: String?, from: Double, seconds: Double, attributes: [Attribute] = [], error: String? = nil
        ) -> String {
            let id = Self.hex("\(seed)/\(path)", bytes: 8)
            spans.append(
                Span(
                    traceId: traceId, spanId: id, parentSpanId: parent, name: Text.printable(redact(name), limit: 256),
                    startTimeUnixNano: Self.nanos(from), endTimeUnixNano: Self.nanos(from + max(seconds, 0)),
                    attributes: attributes.map(redacted),
                    status: error.map { Span.Status(code: 2, message: Text.printable(redact($0), limit: 1024)) }))
            return id
        }

        /// A service's span (from the start phase's beginning to its end) and its waiting, starting and readiness.
        mutating func service(
            _ service: RecordedRun.Service, lane: RunTimeline.Lane, path: String, parent: String, origin: Double, axisEnd: Double
        ) {
            var attributes: [Attribute] = [
                .string("launch.service", service.name), .string("launch.service.class", service.serviceClass),
                .string("launch.service.state", service.state), .int("launch.service.retries", service.retries),
            ]
            if let readiness = service.readiness { attributes.append(.string("launch.readiness", readiness)) }
            if let seconds = service.secondsToReady { attributes.append(.double("launch.seconds_to_ready", seconds)) }
            if let blocked = service.blockedBy { attributes.append(.string("launch.blocked_by", blocked)) }
            if let failure = service.failure {
                attributes += [.string("launch.failure", failure.failure), .string("launch.failure.class", failure.classification)]
                if let code = failure.exitCode { attributes.append(.int("launch.service.exit_code", code)) }
                if let next = failure.nextStep { attributes.append(.string("launch.next_step", next)) }
            }
            let end = lane.ended ?? (lane.started == nil ? 0 : axisEnd)
            let error =
                service.failure.map { "\($0.failure): \($0.reason)" } ?? service.blockedBy.map { "blocked by \($0)" }
                ?? (service.state == "failed" ? "failed" : nil)
            let id = span(service.name, path: path, parent: parent, from: origin, seconds: end, attributes: attributes, error: error)
            guard let started = lane.started else { return }
            if started > 0 { span("waiting for dependencies", path: path + "/waiting", parent: id, from: origin, seconds: started) }
            let running = min(lane.running ?? started, end)
            if running > started {
                span("starting", path: path + "/starting", parent: id, from: origin + started, seconds: running - started)
            }
            span(
                "readiness", path: path + "/readiness", parent: id, from: origin + running, seconds: end - running,
                attributes: service.readiness.map { [.string("launch.readiness", $0)] } ?? [],
                error: service.failure.map { "\($0.failure): \($0.reason)" })
        }

        /// Unix time in nanoseconds as OTLP/JSON writes 64-bit integers: a decimal string. Within 0…year 2500 whatever
        /// an edited report says (a Double past UInt64 would trap).
        static func nanos(_ seconds: Double) -> String {
            guard seconds.isFinite, seconds > 0 else { return "0" }
            return String(UInt64(min(seconds, 16_725_225_600) * 1e9))
        }
    }
}

extension RunTrace {
    /// `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`, with OTLP/JSON's field names.
    public struct ExportRequest: Encodable, Sendable {
        public var resourceSpans: [ResourceSpans]
    }

    public struct ResourceSpans: Encodable, Sendable {
        public var resource: Resource
        public var scopeSpans: [ScopeSpans]
    }

    public struct Resource: Encodable, Sendable { public var attributes: [Attribute] }

    public struct ScopeSpans: Encodable, Sendable {
        public var scope: Scope
        public var spans: [Span]
    }

    public struct Scope: Encodable, Sendable {
        public var name: String
        public var version: String
    }

    public struct Span: Encodable, Sendable {
        public var traceId: String
        public var spanId: String
        public var parentSpanId: String?
        public var name: String
        /// SPAN_KIND_INTERNAL.
        public var kind = 1
        public var startTimeUnixNano: String
        public var endTimeUnixNano: String
        public var attributes: [Attribute]
        public var status: Status?

        public struct Status: Encodable, Sendable {
            /// STATUS_CODE_ERROR is 2.
            public var code: Int
            public var message: String
        }

        init(
            traceId: String, spanId: String, parentSpanId: String?, name: String, startTimeUnixNano: String, endTimeUnixNano: String,
            attributes: [Attribute], status: Status?
        ) {
            self.traceId = traceId
            self.spanId = spanId
            self.parentSpanId = parentSpanId
            self.name = name
            self.startTimeUnixNano = startTimeUnixNano
            self.endTimeUnixNano = endTimeUnixNano
            self.attributes = attributes
            self.status = status
        }
    }

    public struct Attribute: Encodable, Sendable {
        public var key: String
        public var value: AnyValue

        public struct AnyValue: Encodable, Sendable {
            public var stringValue: String?
            /// int64 as a decimal string, as OTLP/JSON writes it.
            public var intValue: String?
            public var doubleValue: Double?
        }

        static func string(_ key: String, _ value: String) -> Attribute { .init(key: key, value: .init(stringValue: value)) }
        static func int(_ key: String, _ value: Int) -> Attribute { .init(key: key, value: .init(intValue: String(value))) }
        static func double(_ key: String, _ value: Double) -> Attribute { .init(key: key, value: .init(doubleValue: value)) }
    }
}
