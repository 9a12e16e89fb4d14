/// Reads the `preflight:` list of a profile: HTTP and TCP checks of the outside world.
enum PreflightSpecReader {
    static func read(_ tree: YAMLTree?, reader: inout TreeReader) -> [PreflightCheckSpec] {
        guard let tree else { return [] }
        if case .null = tree { return [] }
        guard case .list(let items, _) = tree else {
            reader.fail(tree.location, "preflight must be a list of checks", hint: "start each check with `- name: …`")
            return []
        }
        return items.compactMap { item in check(item, reader: &reader) }
    }

    private static func check(_ item: YAMLTree, reader: inout TreeReader) -> PreflightCheckSpec? {
        _ = reader.map(item, "a preflight check", allowed: ["name", "when", "http", "tcp"])
        guard case .map = item else { return nil }
        let name = reader.string(item["name"], "preflight name") ?? "check at line \(item.location.line)"
        let when = reader.string(item["when"], "preflight when")
        switch (item["http"], item["tcp"]) {
        case (let http?, nil):
            _ = reader.map(http, "preflight http", allowed: ["url", "method", "headers", "expect", "timeout"])
            guard let url = reader.string(http["url"], "http.url") else {
                reader.fail(http.location, "an http check needs a `url`")
                return nil
            }
            if !(url.hasPrefix("http://") || url.hasPrefix("https://")), let location = http["url"]?.location {
                reader.fail(location, "http.url must start with http:// or https://")
            }
            let headers = reader.map(http["headers"], "http.headers").compactMap { entry in
                reader.string(entry.value, "header \(entry.key)").map { Profile.Variable(key: entry.key, value: $0) }
            }
            let expect = (reader.strings(http["expect"], "http.expect") ?? []).compactMap { text -> Int? in
                guard let code = Int(text), (100...599).contains(code) else {
                    reader.fail(http["expect"]?.location ?? http.location, "`\(text)` is not an HTTP status")
                    return nil
                }
                return code
            }
            return PreflightCheckSpec(
                name: name, when: when,
                kind: .http(
                    .init(
                        url: url, method: (reader.string(http["method"], "http.method") ?? "GET").uppercased(),
                        headers: headers, expect: expect,
                        timeout: timeout(http, "http.timeout", reader: &reader) ?? .seconds(3))))
        case (nil, let tcp?):
            _ = reader.map(tcp, "preflight tcp", allowed: ["host", "port", "timeout"])
            guard let port = reader.int(tcp["port"], "tcp.port", range: 1...65535) else {
                if tcp["port"] == nil { reader.fail(tcp.location, "a tcp check needs a `port`") }
                return nil
            }
            return PreflightCheckSpec(
                name: name, when: when,
                kind: .tcp(
                    .init(
                        host: reader.string(tcp["host"], "tcp.host") ?? "localhost", port: port,
                        timeout: timeout(tcp, "tcp.timeout", reader: &reader) ?? .seconds(1))))
        default:
            reader.fail(item.location, "preflight check `\(name)` needs exactly one of `http:` or `tcp:`")
            return nil
        }
    }

    /// A probe's wait: above zero (a zero timeout fails before connecting) and at most ten minutes.
    private static func timeout(_ check: YAMLTree, _ what: String, reader: inout TreeReader) -> Duration? {
        reader.duration(check["timeout"], what, atMost: PreflightCheckSpec.longestTimeout, positive: true)
    }
}
