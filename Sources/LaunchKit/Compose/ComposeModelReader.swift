import Foundation

/// Turns Compose's resolved model (`config --format json`, or v1's YAML) — or, where Compose is missing,
/// the raw compose files merged and interpolated here — into a `ComposeStack`.
public enum ComposeModelReader {
    /// Parses the output of `docker compose config` (JSON and YAML both parse as YAML).
    public static func read(config text: String, source: String = "docker compose config")
        throws(ConfigurationError) -> ComposeStack
    {
        try stack(from: YAMLTree.parse(text, file: source))
    }

    /// Reads compose files without Compose: merges them in order and interpolates `${VAR}` with `lookup`.
    /// Good enough for `plan`; `docker compose config` stays the authority when it is installed.
    public static func read(files: [String], displayNames: [String]? = nil, lookup: (String) -> String?)
        throws(ConfigurationError) -> ComposeStack
    {
        var merged: YAMLTree?
        var problems: [ConfigProblem] = []
        for (offset, path) in files.enumerated() {
            let display = displayNames?[offset] ?? path
            let text: String
            switch TextFile.read(path, display: display) {
            case .success(let read): text = read
            case .failure(let error):
                problems += error.problems
                continue
            }
            do {
                let tree = try YAMLTree.parse(text, file: display).interpolated(lookup)
                merged = merged.map { tree.composeMerged(over: $0) } ?? tree
            } catch {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        guard let merged else { return ComposeStack(services: []) }
        return try stack(from: merged)
    }

    static func stack(from tree: YAMLTree) throws(ConfigurationError) -> ComposeStack {
        var reader = TreeReader()
        let services = reader.map(tree["services"], "services").map { entry in
            service(entry.key, entry.value, reader: &reader)
        }
        let volumes = reader.map(tree["volumes"], "volumes").map(\.key)
        let networks = reader.map(tree["networks"], "networks").map(\.key)
        // YAML keys that differ only by tag (`1:` and `"1":`) name one service twice: Compose would refuse it too.
        var seen: Set<String> = []
        for service in services where !seen.insert(service.name).inserted {
            reader.fail(
                tree["services"]?.location ?? tree.location, "service `\(service.name)` is defined twice",
                hint: "keep one definition of `\(service.name)`")
        }
        let known = Set(services.map(\.name))
        for service in services {
            for dependency in service.dependsOn where dependency.required && !known.contains(dependency.service) {
                reader.fail(
                    tree["services"]?[service.name]?.location ?? tree.location,
                    "service `\(service.name)` depends on `\(dependency.service)`, which is not defined",
                    hint: "define `\(dependency.service)` or remove it from depends_on")
            }
        }
        guard reader.problems.isEmpty else { throw ConfigurationError(reader.problems) }
        return ComposeStack(services: services, volumes: volumes, networks: networks)
    }

    static func service(_ name: String, _ tree: YAMLTree, reader: inout TreeReader) -> ComposeService {
        let deployTree = tree["deploy"]
        // A count of containers: a negative or overflowing one is a mistake to point at, not a number to plan.
        let replicas =
            reader.int(deployTree?["replicas"], "services.\(name).deploy.replicas", range: 0...10_000)
            ?? reader.int(tree["scale"], "services.\(name).scale", range: 0...10_000) ?? 1
        var described = ComposeService(
            name: name,
            image: reader.string(tree["image"], "image"),
            builds: tree["build"] != nil,
            dependsOn: dependencies(tree["depends_on"], reader: &reader),
            healthcheck: healthcheck(tree["healthcheck"], reader: &reader),
            ports: ports(tree["ports"], reader: &reader),
            gpuRequests: gpus(deployTree?["resources"]?["reservations"]?["devices"], reader: &reader)
                + cdiDevices(tree["devices"], reader: &reader),
            replicas: replicas,
            volumes: namedVolumes(tree["volumes"], reader: &reader),
            restartPolicy: reader.string(tree["restart"], "restart"),
            labels: labels(tree["labels"], reader: &reader),
            command: command(tree["command"], reader: &reader),
            ipc: reader.string(tree["ipc"], "ipc"),
            shmSize: shmSize(tree["shm_size"], reader: &reader))
        described.healthcheckDisabled = healthcheckDisabled(tree["healthcheck"])
        described.containerName = reader.string(tree["container_name"], "container_name")
        described.pullPolicy = reader.string(tree["pull_policy"], "pull_policy")
        described.buildContext = buildContext(tree["build"], reader: &reader)
        described.placementConstraints = reader.strings(deployTree?["placement"]?["constraints"], "deploy.placement.constraints") ?? []
        described.unknownDeviceDrivers = unknownDrivers(deployTree?["resources"]?["reservations"]?["devices"])
        checkLaunchLabels(name, tree["labels"], reader: &reader)
        return described
    }

    /// `build: ./dir` or `build: {context: …, dockerfile: …}`; only a local, absolute context can be hashed.
    static func buildContext(_ tree: YAMLTree?, reader: inout TreeReader) -> BuildContext? {
        guard let tree else { return nil }
        let context: String?
        var dockerfile = "Dockerfile"
        var settings: [String] = []
        if case .scalar(let text, _) = tree {
            context = text
        } else {
            context = reader.string(tree["context"], "build.context") ?? "."
            dockerfile = reader.string(tree["dockerfile"], "build.dockerfile") ?? dockerfile
            // Every other key Compose passes to the builder (args, target, dockerfile_inline, ssh, secrets, …) changes
            // what is built: part of the hash, in a form that does not depend on the order they were written in.
            if case .map(let entries, _) = tree {
                settings = entries.filter { !["context", "dockerfile"].contains($0.key) }.map { "\($0.key)=\(canonical($0.value))" }
                    .sorted()
            }
        }
        guard let context, context.hasPrefix("/") else { return nil }
        let directory = (context as NSString).standardizingPath
        return BuildContext(
            directory: directory, dockerfile: dockerfile.hasPrefix("/") ? dockerfile : directory + "/" + dockerfile, settings: settings)
    }

    /// A YAML value as one string: maps by sorted key, lists in order, so equal settings give equal text.
    static func canonical(_ tree: YAMLTree) -> String {
        switch tree {
        case .scalar(let text, _): text.debugDescription
        case .null: "null"
        case .list(let items, _): "[" + items.map(canonical).joined(separator: ",") + "]"
        case .map(let entries, _):
            "{" + entries.map { "\($0.key.debugDescription):\(canonical($0.value))" }.sorted().joined(separator: ",") + "}"
        }
    }

    /// One label with the line that wrote it, so a bad `launch.*` value can be pointed at.
    struct Label {
        var key: String
        var value: String
        var location: SourceLocation
    }

    /// `labels:` as a map, or as a list of `key=value`.
    static func labels(_ tree: YAMLTree?, reader: inout TreeReader) -> [String: String] {
        Dictionary(labelList(tree, reader: &reader).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    static func labelList(_ tree: YAMLTree?, reader: inout TreeReader) -> [Label] {
        guard let tree else { return [] }
        guard case .list(let items, _) = tree else {
            return reader.map(tree, "labels").map { entry in
                Label(key: entry.key, value: reader.string(entry.value, "label") ?? "", location: entry.value.location)
            }
        }
        return items.compactMap { item in
            // Split by hand: `"".split` has no first part, and `"=x"` must not turn into a label named `x`.
            guard let text = reader.string(item, "each entry of labels"), !text.isEmpty else { return nil }
            guard let equals = text.firstIndex(of: "=") else { return Label(key: text, value: "", location: item.location) }
            return Label(
                key: String(text[..<equals]), value: String(text[text.index(after: equals)...]), location: item.location)
        }
    }

    /// `launch.*` labels are settings of this tool: a typo there must stop the plan with its line, not be
    /// ignored (a job that is never recognised) or trap (`launch.timeout: 9999999999999999999h`).
    static func checkLaunchLabels(_ service: String, _ tree: YAMLTree?, reader: inout TreeReader) {
        var scratch = TreeReader()  // labelList's own shape problems are reported once, by `labels`.
        let list = labelList(tree, reader: &scratch)
        let values = Dictionary(list.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        if let first = list.first(where: { $0.key == ReadySignal.logLabel || $0.key == ReadySignal.httpLabel }) {
            for problem in ReadySignal.problems(service: service, labels: values) {
                reader.fail(first.location, problem, hint: "see README: Readiness labels")
            }
        }
        for label in list {
            let value = YAMLTree.scalar(label.value, label.location)
            switch label.key {
            case "launch.timeout":
                _ = reader.duration(value, "label launch.timeout of `\(service)`", positive: true)
            case "launch.job" where !ComposeService.jobLabelValues.keys.contains(label.value.lowercased()):
                reader.fail(label.location, "label launch.job of `\(service)` must be true or false, not `\(label.value)`")
            default:
                break
            }
        }
    }

    static func dependencies(_ tree: YAMLTree?, reader: inout TreeReader) -> [Dependency] {
        guard let tree else { return [] }
        if case .list = tree {
            return (reader.strings(tree, "depends_on") ?? []).map { Dependency(service: $0) }
        }
        return reader.map(tree, "depends_on").map { entry in
            let condition = reader.string(entry.value["condition"], "condition").flatMap(Dependency.Condition.init)
            let required = reader.bool(entry.value["required"], "required") ?? true
            let restart = reader.bool(entry.value["restart"], "restart") ?? false
            return Dependency(service: entry.key, condition: condition ?? .started, required: required, restart: restart)
        }
    }

    /// `disable: true` or `test: ["NONE"]`: the image's HEALTHCHECK is switched off, and the engine runs none.
    static func healthcheckDisabled(_ tree: YAMLTree?) -> Bool {
        if case .scalar(let value, _)? = tree?["disable"], ["true", "yes", "on"].contains(value.lowercased()) { return true }
        if case .list(let items, _)? = tree?["test"], case .scalar("NONE", _)? = items.first { return true }
        return false
    }

    static func healthcheck(_ tree: YAMLTree?, reader: inout TreeReader) -> Healthcheck? {
        guard let tree else { return nil }
        if reader.bool(tree["disable"], "healthcheck.disable") == true { return nil }
        let test: [String]
        switch tree["test"] {
        case .scalar(let command, _)?: test = ["CMD-SHELL", command]
        case let list?: test = reader.strings(list, "healthcheck.test") ?? []
        case nil: return nil
        }
        if test.first == "NONE" || test.isEmpty { return nil }
        var check = Healthcheck(test: test)
        // Compose and the engine accept any length here, so a week-long interval is cut, not refused.
        if let value = reader.clampedDuration(tree["interval"], "healthcheck.interval"), value > .zero { check.interval = value }
        if let value = reader.clampedDuration(tree["timeout"], "healthcheck.timeout"), value > .zero { check.timeout = value }
        if let value = reader.clampedDuration(tree["start_period"], "healthcheck.start_period") { check.startPeriod = value }
        if let value = reader.int(tree["retries"], "healthcheck.retries", range: 0...10_000), value > 0 { check.retries = value }
        return check
    }

    static func ports(_ tree: YAMLTree?, reader: inout TreeReader) -> [PublishedPort] {
        guard case .list(let items, _)? = tree else { return [] }
        return items.flatMap { item -> [PublishedPort] in
            if case .scalar(let text, _) = item { return shortPorts(text) }
            guard case .map = item,
                let target = reader.int(item["target"], "ports.target", range: 1...Self.highestPort)
            else { return [] }
            let published = reader.string(item["published"], "ports.published") ?? ""
            let proto = reader.string(item["protocol"], "ports.protocol") ?? "tcp"
            let hostIP = reader.string(item["host_ip"], "ports.host_ip") ?? ""
            return expand(published).enumerated().map { offset, port in
                PublishedPort(hostIP: hostIP, published: port, target: target + offset, proto: proto)
            }
        }
    }

    /// `"8080:80"`, `"127.0.0.1:8080:80/udp"`, `"8000-8001:8000-8001"`; a bare `"80"` publishes nothing fixed.
    static func shortPorts(_ text: String) -> [PublishedPort] {
        var spec = Substring(text)
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...])
            spec = spec[..<slash]
        }
        var parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let containerPart = parts.popLast(), let hostPart = parts.popLast() else { return [] }
        let hostIP = parts.joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let targets = expand(containerPart)
        return expand(hostPart).enumerated().map { offset, port in
            PublishedPort(hostIP: hostIP, published: port, target: targets[safe: offset] ?? targets.first ?? port, proto: proto)
        }
    }

    static let highestPort = 65535

    /// A port or a range of them; a bound outside 0...65535 publishes nothing (Compose itself refuses it),
    /// which also keeps `target + offset` far from overflow.
    private static func expand(_ range: String) -> [Int] {
        let parts = range.split(separator: "-")
        let bounds = parts.compactMap { Int($0) }.filter { (0...highestPort).contains($0) }
        guard bounds.count == parts.count else { return [] }
        switch bounds.count {
        case 1: return [bounds[0]]
        case 2 where bounds[0] <= bounds[1] && bounds[1] - bounds[0] < 1000: return Array(bounds[0]...bounds[1])
        default: return []
        }
    }

    /// More GPUs than any host holds; beyond it a count is a typo.
    static let mostGPUs = 1024

    /// The drivers of `deploy.resources.reservations.devices` that are neither `nvidia` nor `cdi` (Docker's own).
    static func unknownDrivers(_ tree: YAMLTree?) -> [String] {
        guard case .list(let devices, _)? = tree else { return [] }
        return devices.compactMap { device -> String? in
            guard case .scalar(let driver, _)? = device["driver"], driver != "nvidia", driver != "cdi" else { return nil }
            return driver
        }
    }

    /// Every GPU request of `deploy.resources.reservations.devices`. A count is a number, `all` (Compose's
    /// resolved model writes -1) or a variable already interpolated; `device_ids: ['0,1']` names two GPUs.
    static func gpus(_ tree: YAMLTree?, reader: inout TreeReader) -> [GPURequest] {
        guard case .list(let devices, _)? = tree else { return [] }
        return devices.compactMap { device -> GPURequest? in
            let capabilities = reader.strings(device["capabilities"], "capabilities") ?? []
            let driverName = reader.string(device["driver"], "driver")
            let driver: GPURequest.Driver
            switch driverName {
            case "cdi"?: driver = .cdi
            case "nvidia"?: driver = .nvidia
            case nil where capabilities.contains("gpu"): driver = .nvidia
            default: return nil
            }
            let ids = GPURequest.splitIDs(reader.strings(device["device_ids"], "device_ids") ?? [])
            var count: GPURequest.Count?
            if let text = reader.string(device["count"], "count") {
                // Bounded so that a sum of counts cannot overflow.
                if text == "all" || text == "-1" {
                    count = .all
                } else if let n = reader.int(device["count"], "devices.count", range: 0...Self.mostGPUs) {
                    count = .exactly(n)
                }
            }
            return GPURequest(driver: driver, count: count, deviceIDs: ids, capabilities: capabilities)
        }
    }

    /// `devices: [nvidia.com/gpu=all]`: CDI names among a service's devices (Docker 25+); paths are not GPUs.
    static func cdiDevices(_ tree: YAMLTree?, reader: inout TreeReader) -> [GPURequest] {
        guard case .list(let items, _)? = tree else { return [] }
        let names = items.compactMap { item -> String? in
            switch item {
            case .scalar(let text, _): text
            case .map: reader.string(item["source"], "devices.source")
            default: nil
            }
        }.filter { $0.range(of: "^[A-Za-z0-9.-]+/[A-Za-z0-9._-]+=[^/:]+$", options: .regularExpression) != nil }
        return names.isEmpty ? [] : [GPURequest(driver: .cdi, deviceIDs: names, capabilities: [])]
    }

    /// A list as given, or a string split on whitespace (enough to find `--tensor-parallel-size 2`).
    static func command(_ tree: YAMLTree?, reader: inout TreeReader) -> [String] {
        switch tree {
        case .scalar(let text, _)?: text.split(whereSeparator: \.isWhitespace).map(String.init)
        case .list?: reader.strings(tree, "command") ?? []
        default: []
        }
    }

    /// Compose's resolved model writes `shm_size` in bytes; the files themselves may say `16gb`.
    static func shmSize(_ tree: YAMLTree?, reader: inout TreeReader) -> ByteSize? {
        guard let text = reader.string(tree, "shm_size") else { return nil }
        return ByteSize(parsing: text)
    }

    static func namedVolumes(_ tree: YAMLTree?, reader: inout TreeReader) -> [String] {
        guard case .list(let items, _)? = tree else { return [] }
        return items.compactMap { item in
            switch item {
            case .scalar(let text, _):
                let source = text.split(separator: ":").first.map(String.init) ?? ""
                let isPath = source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~")
                return text.contains(":") && !isPath ? source : nil
            case .map:
                guard reader.string(item["type"], "type") ?? "volume" == "volume" else { return nil }
                return reader.string(item["source"], "source")
            default: return nil
            }
        }
    }
}

extension YAMLTree {
    /// Compose interpolates values, never keys.
    func interpolated(_ lookup: (String) -> String?) -> YAMLTree {
        switch self {
        case .scalar(let text, let location): .scalar(Interpolation.substitute(text, lookup), location)
        case .list(let items, let location): .list(items.map { $0.interpolated(lookup) }, location)
        case .map(let entries, let location):
            .map(entries.map { Entry(key: $0.key, keyLocation: $0.keyLocation, value: $0.value.interpolated(lookup)) }, location)
        case .null: self
        }
    }

    /// Compose's multi-file merge, close enough for planning: maps merge, `ports`/`volumes`/`expose`
    /// append, other lists and scalars replace.
    func composeMerged(over base: YAMLTree, key: String = "") -> YAMLTree {
        switch (self, base) {
        case (.map(let mine, let location), .map(let theirs, _)):
            var result = theirs
            for entry in mine {
                if let index = result.firstIndex(where: { $0.key == entry.key }) {
                    result[index].value = entry.value.composeMerged(over: result[index].value, key: entry.key)
                } else {
                    result.append(entry)
                }
            }
            return .map(result, location)
        case (.list(let mine, let location), .list(let theirs, _)) where ["ports", "volumes", "expose"].contains(key):
            return .list(theirs + mine, location)
        default:
            return self
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
