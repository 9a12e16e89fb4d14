import Foundation

/// The profile's own `preflight:` checks: HTTP (a provider's key before anything starts) and TCP.
enum ProfileChecks {
    /// `preflight.openai-key` for a check named "OpenAI key".
    static func id(_ name: String) -> String {
        let slug = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return "preflight." + String(slug).split(separator: "-").joined(separator: "-")
    }

    /// `values` are the env file and the environment (environment wins, as in Compose).
    static func run(
        _ spec: PreflightCheckSpec, profile: Profile, values: [String: String], redact: Redactor, network: Bool
    ) async -> CheckResult {
        let id = id(spec.name)
        guard network else { return .skip(id, spec.name, "network checks are off (--no-network)") }
        if let variable = spec.when, (values[variable] ?? "").isEmpty {
            return .skip(id, spec.name, "\(variable) is not set")
        }
        switch spec.kind {
        case .http(let http): return await run(http, id: id, name: spec.name, profile: profile, values: values, redact: redact)
        case .tcp(let tcp): return await run(tcp, id: id, name: spec.name, profile: profile)
        }
    }

    private static func run(
        _ check: PreflightCheckSpec.HTTPCheck, id: String, name: String, profile: Profile, values: [String: String],
        redact base: Redactor
    ) async -> CheckResult {
        let lookup: (String) -> String? = { values[$0] }
        let used = Set(
            ([check.url] + check.headers.map(\.value)).flatMap { Interpolation.references(in: $0).map(\.name) })
        // Whatever the request carries from the env file is a credential as far as output is concerned.
        let redact = Redactor(values: base.secrets + used.compactMap { values[$0] })
        let urlText = Interpolation.substitute(check.url, lookup)
        let request = "\(check.method) \(redact(urlText))"
        // What the request could never be sent to is said as such, not as an error code of the URL loader.
        guard let url = URL(string: urlText), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            let host = url.host, !host.isEmpty, (1...65535).contains(url.port ?? 80)
        else {
            return .fail(
                id, name, "\(request): not an http(s) URL with a host and a port from 1 to 65535",
                fix: "fix http.url of `\(name)` in \(profile.sourceFile)")
        }
        let headers = check.headers.map { ($0.key, Interpolation.substitute($0.value, lookup)) }
        let credentials = check.headers.flatMap { Interpolation.references(in: $0.value).map(\.name) }
        let outcome = await HTTPProbe.send(url: url, method: check.method, headers: headers, timeout: check.timeout)
        return verdict(
            outcome, id: id, name: name, request: request, expected: check.expect, timeout: check.timeout,
            credentials: credentials, profile: profile, redact: redact)
    }

    /// What an HTTP answer means for a person: a rejected key is said as such, never as a timeout.
    static func verdict(
        _ outcome: HTTPProbe.Outcome, id: String, name: String, request: String, expected: [Int], timeout: Duration,
        credentials: [String], profile: Profile, redact: Redactor
    ) -> CheckResult {
        let wanted = expected.isEmpty ? "2xx" : expected.map(String.init).joined(separator: "/")
        switch outcome {
        case .timedOut:
            return .fail(
                id, name, "no answer within \(DurationText.format(timeout)) from \(request)",
                fix: "check that this machine reaches the host (proxy settings, firewall); if it is only slow, raise "
                    + "http.timeout of `\(name)` in \(profile.sourceFile)")
        case .failed(let reason):
            return .fail(
                id, name, "\(request) failed: \(redact(reason))",
                fix: "check the URL of `\(name)` in \(profile.sourceFile) and that the host is reachable from here")
        case .response(let status, let body, let milliseconds):
            let accepted = expected.isEmpty ? (200..<300).contains(status) : expected.contains(status)
            if accepted {
                return .ok(id, name, "HTTP \(status) from \(request) in \(milliseconds)ms")
            }
            let excerpt = Self.excerpt(body, redact: redact)
            let said = excerpt.isEmpty ? "" : ": \(excerpt)"
            switch status {
            case 401, 403:
                let keys = credentials.isEmpty ? "the credential" : credentials.joined(separator: ", ")
                return .fail(
                    id, name, "the key is rejected (HTTP \(status)) by \(request)",
                    fix: credentials.isEmpty
                        ? "the request sends no credential: add the header (e.g. Authorization: \"Bearer ${API_KEY}\") in \(profile.sourceFile)"
                        : "check \(keys) in \(profile.envFile): the service does not accept it (mistyped, revoked or for another account)")
            case 429:
                return .warn(
                    id, name, "the key is accepted but rate-limited (HTTP 429) by \(request)",
                    fix: "wait and retry, or raise the quota with the provider")
            case 500...:
                return .fail(
                    id, name, "HTTP \(status) (expected \(wanted)) from \(request)\(said)",
                    fix: "the service has a problem on its side; retry later or check its status page")
            default:
                return .fail(
                    id, name, "HTTP \(status) (expected \(wanted)) from \(request)\(said)",
                    fix: "check http.url, method and expect of `\(name)` in \(profile.sourceFile)")
            }
        }
    }

    /// The first 200 characters on one line, secrets replaced.
    static func excerpt(_ body: String, redact: Redactor) -> String {
        let flat = redact(body).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > 200 ? String(flat.prefix(200)) + "…" : flat
    }

    private static func run(_ check: PreflightCheckSpec.TCPCheck, id: String, name: String, profile: Profile) async
        -> CheckResult
    {
        let target = "\(check.host):\(check.port)"
        let fixTarget = "tcp.host and tcp.port of `\(name)` in \(profile.sourceFile)"
        switch await TCPProbe.connect(host: check.host, port: check.port, timeout: check.timeout) {
        case .connected(let milliseconds):
            return .ok(id, name, "connected to \(target) in \(milliseconds)ms")
        case .refused:
            return .fail(id, name, "connection refused by \(target)", fix: "start what should listen on \(target), or fix \(fixTarget)")
        case .timedOut:
            return .fail(
                id, name, "no answer from \(target) within \(DurationText.format(check.timeout))",
                fix: "check that \(target) is up and that no firewall drops the connection")
        case .unresolvable(let reason):
            return .fail(id, name, "\(check.host) does not resolve (\(reason))", fix: "fix \(fixTarget)")
        case .unreachable(let reason):
            return .fail(
                id, name, "cannot reach \(target): \(reason)", fix: "check the network route to \(check.host), or fix \(fixTarget)")
        }
    }
}
