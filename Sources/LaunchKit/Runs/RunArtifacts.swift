import Foundation

/// What a run leaves besides its report in `.launch/runs/`: the HTML page (`--report-html`), the OTLP/JSON trace
/// (`--trace-file`), and the same trace sent to an OpenTelemetry collector when the standard `OTEL_EXPORTER_OTLP_*`
/// variables name one. All three are made from the run as recorded (`RecordedRun`), so `launch report` makes the
/// same files later from the same data.
public struct RunArtifacts: Sendable {
    public var htmlPath: String?
    public var tracePath: String?

    public init(htmlPath: String? = nil, tracePath: String? = nil) {
        self.htmlPath = htmlPath
        self.tracePath = tracePath
    }

    /// Writes the files asked for and exports the trace where the environment says; returns what to tell the user.
    /// A launch's verdict never depends on its pictures: a file that cannot be written or a collector that does not
    /// answer is a warning.
    public func write(
        _ run: RecordedRun, history: [RecordedRun], context: LaunchContext, redact: Redactor
    ) async -> [String] {
        var lines: [String] = []
        for file in files(run, history: history, redact: redact) {
            do {
                lines.append("wrote \(try Self.write(try file.make(), to: file.path, workingDirectory: context.workingDirectory))")
            } catch let error as FileError {
                lines.append("warning: \(error.summary)")
            } catch {
                lines.append("warning: \(file.path) was not written: \(error)")
            }
        }
        if let export = OTLPExport(environment: context.environment) {
            let target = OTLPExport.shown(export.url.absoluteString)
            lines.append(await export.send(run, redact: redact).map { "warning: \($0)" } ?? "trace sent to \(target)")
        }
        return lines
    }

    /// The files asked for and how to make each: one place for `launch <env> --report-html/--trace-file` (failures are
    /// warnings) and `launch report --html/--trace-file` (failures are errors).
    public func files(_ run: RecordedRun, history: [RecordedRun], redact: Redactor) -> [(path: String, make: () throws -> String)] {
        let made: [(String?, () throws -> String)] = [
            (htmlPath, { RunPage.html(run, history: history, redact: redact) }), (tracePath, { try RunTrace.json(run, redact: redact) }),
        ]
        return made.compactMap { path, make in path.map { ($0, make) } }
    }

    /// Writes `text` to `path` (relative to `workingDirectory`), 0600 like the run report it is made from (it holds
    /// the same log tails); returns the path as given.
    @discardableResult
    public static func write(_ text: String, to path: String, workingDirectory: String) throws(FileError) -> String {
        let full = path.hasPrefix("/") ? path : (workingDirectory as NSString).appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FileError(path: path, operation: "write", reason: "it is a directory", hint: "name a file, e.g. \(path)/run.html")
        }
        do { try AtomicFile.write(text, to: full, mode: 0o600) } catch {
            throw FileError(path: path, operation: "write", underlying: error)
        }
        return path
    }
}

/// OTLP/HTTP JSON export of a run's trace, configured as every OpenTelemetry SDK is: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`), `…_HEADERS` (`key=value,…`, values URL-encoded),
/// `…_TIMEOUT` (milliseconds; default 3 s here, at most 30 s), `OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER`.
public struct OTLPExport: Sendable {
    public var url: URL
    public var headers: [(String, String)]
    public var timeout: Duration
    /// Set when the configuration asks for something launch does not speak (gRPC): said instead of sending.
    public var unsupported: String?

    /// Nil when no collector is configured or tracing is switched off.
    public init?(environment: [String: String]) {
        func value(_ name: String) -> String? {
            let specific = environment["OTEL_EXPORTER_OTLP_TRACES_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
            return specific ?? environment["OTEL_EXPORTER_OTLP_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
        }
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return nil }
        if let exporters = environment["OTEL_TRACES_EXPORTER"], !exporters.isEmpty,
            !exporters.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "otlp" })
        {
            return nil
        }
        let target: String
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            target = traces
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            target = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else {
            return nil
        }
        url = URL(string: target) ?? URL(fileURLWithPath: "/")
        headers = (value("HEADERS") ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let raw = parts[1].trimmingCharacters(in: .whitespaces)
            return key.isEmpty ? nil : (key, raw.removingPercentEncoding ?? raw)
        }
        let milliseconds = value("TIMEOUT").flatMap(Int.init).map { min(max($0, 100), 30_000) } ?? 3_000
        timeout = .milliseconds(milliseconds)
        if value("PROTOCOL") == "grpc" {
            unsupported = "OTEL_EXPORTER_OTLP_PROTOCOL is grpc; launch sends OTLP/HTTP JSON: point it at the collector's HTTP port (4318)"
        } else if URL(string: target)?.scheme.map({ ["http", "https"].contains($0.lowercased()) }) != true {
            unsupported = "the OTLP endpoint `\(Self.shown(target))` is not an http(s) URL"
        }
    }

    /// `scheme://host:port/path`, without any user or password the URL carries.
    static func shown(_ target: String) -> String {
        guard var components = URLComponents(string: target) else { return "(unparsable URL)" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "(unparsable URL)"
    }

    /// POSTs the run's trace; nil when the collector took it, else what went wrong (never a header's value).
    public func send(_ run: RecordedRun, redact: Redactor) async -> String? {
        if let unsupported { return "trace not exported: \(unsupported)" }
        guard let body = try? RunTrace.json(run, redact: redact) else { return "trace not exported: it could not be encoded" }
        let outcome = await HTTPProbe.send(
            url: url, method: "POST", headers: headers + [("Content-Type", "application/json")], timeout: timeout, body: Data(body.utf8))
        let target = Self.shown(url.absoluteString)
        switch outcome {
        case .response(let status, _, _) where (200..<300).contains(status): return nil
        case .response(let status, let answer, _):
            // A collector may echo the request's headers (an API token) in its error: their values are hidden too.
            let hide = redact.adding(headers.map(\.1))
            return "the OTLP collector at \(target) answered \(status): \(Text.printable(hide(answer), limit: 200))"
        case .timedOut:
            return "the OTLP collector at \(target) did not answer within \(DurationText.format(timeout)); the trace was not exported"
        case .failed(let why): return "could not reach the OTLP collector at \(target): \(why); the trace was not exported"
        }
    }
}
