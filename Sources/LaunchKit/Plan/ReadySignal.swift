import Foundation

/// A readiness signal a service declares with a label, for images that ship no healthcheck (a model server that
/// is "up" long before it has loaded its weights, a database that prints when it accepts connections):
///
/// - `launch.ready_log: "<regex>"`: ready when a line the container printed since this start matches;
/// - `launch.ready_http: "<port>/<path>"`: ready when `GET http://127.0.0.1:<port>/<path>` from inside the
///   container answers 2xx (run with the image's own curl, wget or python3).
///
/// Either is the service's own evidence, like its healthcheck: it decides readiness instead of the stability
/// window (and instead of a healthcheck's `healthy`, where both exist); the engine's verdicts (exit, OOM,
/// `unhealthy`) still fail it at once.
public enum ReadySignal: Sendable, Hashable, CustomStringConvertible {
    case log(pattern: String)
    case http(port: Int, path: String)

    public static let logLabel = "launch.ready_log"
    public static let httpLabel = "launch.ready_http"

    /// The signal a service's labels declare; nil when none does or a value does not parse (the model reader has
    /// already refused such a value with its line, see `problems`).
    /// `docker compose config` keeps a label's `$$` escaped (the engine gets `$`), so `$$` is read as `$`: a pattern
    /// means the same however the model was read.
    public init?(labels: [String: String]) {
        let unescaped = { (value: String) in value.replacingOccurrences(of: "$$", with: "$") }
        if let pattern = labels[Self.logLabel].map(unescaped), Self.patternProblem(pattern) == nil {
            self = .log(pattern: pattern)
        } else if let text = labels[Self.httpLabel].map(unescaped), let target = Self.httpTarget(text) {
            self = .http(port: target.port, path: target.path)
        } else {
            return nil
        }
    }

    /// What is wrong with the labels that declare a signal, one message per problem (empty: nothing).
    static func problems(service: String, labels: [String: String]) -> [String] {
        var found: [String] = []
        if labels[logLabel] != nil && labels[httpLabel] != nil {
            found.append("`\(service)` sets both \(logLabel) and \(httpLabel): set one")
        }
        if let pattern = labels[logLabel], let problem = patternProblem(pattern) {
            found.append("label \(logLabel) of `\(service)` \(problem)")
        }
        if let text = labels[httpLabel], httpTarget(text) == nil {
            found.append("label \(httpLabel) of `\(service)` must be <port>/<path> (e.g. 8000/health), not `\(text)`")
        }
        return found
    }

    /// Nil when `pattern` is a regular expression a log line can be matched against.
    static func patternProblem(_ pattern: String) -> String? {
        guard !pattern.isEmpty else { return "is empty: give the regular expression a ready line matches" }
        guard pattern.utf8.count <= 1024 else { return "is longer than 1024 bytes" }
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "is not a regular expression (\(error))"
        }
    }

    /// `8000/health`, `8000` (path `/`), `:8000/v1/models`; the path is kept as written (a query too). No spaces,
    /// quotes or control characters: it becomes one argument of the check, never shell text.
    static func httpTarget(_ text: String) -> (port: Int, path: String)? {
        var rest = Substring(text)
        if rest.hasPrefix(":") { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 5, let port = Int(digits), (1...65535).contains(port) else { return nil }
        let path = rest.dropFirst(digits.count)
        guard path.isEmpty || path.hasPrefix("/"), path.utf8.count <= 2048,
            !path.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "'" || $0 == "\\" })
        else { return nil }
        return (port, path.isEmpty ? "/" : String(path))
    }

    public var description: String {
        switch self {
        case .log(let pattern): "log /\(pattern)/"
        case .http(let port, let path): "http :\(port)\(path)"
        }
    }

    /// The label that declares it.
    public var label: String {
        switch self {
        case .log: Self.logLabel
        case .http: Self.httpLabel
        }
    }

    /// The evidence a run report keeps when this signal made a service ready.
    var evidence: String {
        switch self {
        case .log: "log"
        case .http: "http"
        }
    }

    /// How long one HTTP check may take inside the container.
    static let httpTimeout: Duration = .seconds(5)

    /// The argv of the HTTP check: the image's curl (status exactly 2xx), else wget, else python3 (those two follow
    /// redirects); exit 127 when it has none of them (the machine then fails the service: it can never be checked).
    /// The URL is the script's first argument, never part of its text. Proxy variables are dropped (the check is for
    /// 127.0.0.1). wget and python3 are bounded by a sleeper that kills them (not wget's `-T`: BusyBox 1.35's wget
    /// crashes with it; not `timeout`: old BusyBox spells it `timeout -t`); every child is waited for, so nothing is
    /// left for a container's PID 1 to reap (many never do).
    static func httpCommand(port: Int, path: String) -> [String] {
        let seconds = Int(httpTimeout.seconds) - 1
        let script = """
            unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
            bounded() {
              "$@" >/dev/null 2>&1 & w=$!
              ( trap 'kill $s 2>/dev/null; wait $s; exit 0' TERM; sleep \(seconds) & s=$!; wait $s && kill $w ) >/dev/null 2>&1 & k=$!
              wait $w; status=$?; kill $k 2>/dev/null; wait $k 2>/dev/null; return $status
            }
            if command -v curl >/dev/null 2>&1; then
              code=$(curl -s -o /dev/null -m \(seconds) -w '%{http_code}' "$1"); case "$code" in 2??) exit 0;; *) exit 1;; esac
            elif command -v wget >/dev/null 2>&1; then
              bounded wget -q -O /dev/null "$1" || exit 1
            elif command -v python3 >/dev/null 2>&1; then
              bounded python3 -c 'import sys, urllib.request
            try: status = urllib.request.urlopen(sys.argv[1], timeout=\(seconds)).status
            except Exception: sys.exit(1)
            sys.exit(0 if 200 <= status < 300 else 1)' "$1" || exit 1
            else
              exit 127
            fi
            """
        return ["/bin/sh", "-c", script, "launch-ready-http", "http://127.0.0.1:\(port)\(path)"]
    }
}
