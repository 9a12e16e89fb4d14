/// Whether the engine can satisfy the stack's GPU requests: the NVIDIA runtime or hook for `driver: nvidia`,
/// CDI (spec directories and devices the engine reports, or `nvidia-ctk cdi list`) for `driver: cdi`, and
/// whether the NVIDIA CDI spec still matches the driver.
enum GPUToolkitChecks {
    /// What is known about CDI on the engine's host.
    struct CDIFacts: Sendable {
        /// Specs read from the engine's spec directories (local engines only).
        var specs: [CDISpec] = []
        /// Devices `nvidia-ctk cdi list` found; nil when it is not installed.
        var toolkitDevices: [String]?
    }

    static func check(
        _ facts: EngineFacts, stack: ComposeStack, cdi: CDIFacts, driverVersion: String?, environment: [String: String]
    ) -> [CheckResult] {
        let requests = stack.services.flatMap(\.gpuRequests)
        var results: [CheckResult] = []
        if requests.contains(where: { $0.driver == .nvidia }) {
            results.append(DockerChecks.nvidiaRuntime(facts, environment: environment))
        }
        let names = Array(Set(requests.filter { $0.driver == .cdi }.flatMap(\.deviceIDs))).sorted()
        if !names.isEmpty || facts.info?.discoveredDevices?.isEmpty == false {
            results.append(cdiDevices(facts, requested: names, cdi: cdi))
        }
        if let stale = staleSpec(cdi.specs, driverVersion: driverVersion, usedByStack: !names.isEmpty) {
            results.append(stale)
        }
        return results
    }

    /// `driver: cdi` requests against the devices the engine (or the toolkit) knows.
    static func cdiDevices(_ facts: EngineFacts, requested: [String], cdi: CDIFacts) -> CheckResult {
        let id = "gpu.cdi", title = "CDI devices"
        guard let info = facts.info else { return .skip(id, title, "the Docker daemon is not reachable") }
        let enable =
            "Docker 28.2+ enables CDI by default; on 25–28.1 add `\"features\": {\"cdi\": true}` to "
            + "/etc/docker/daemon.json and restart Docker"
        guard let directories = info.cdiSpecDirs, !directories.isEmpty else {
            return .fail(
                id, title,
                "the engine at \(facts.endpoint) (Docker \(info.serverVersion)) reports no CDI spec directories: "
                    + "\(requested.joined(separator: ", ")) cannot be injected",
                fix: enable)
        }
        let discovered = info.discoveredDevices?.filter { $0.source == "cdi" }.map(\.id)
        let available = discovered ?? cdi.toolkitDevices ?? cdi.specs.flatMap(\.devices)
        let source =
            discovered != nil ? "the engine discovered" : cdi.toolkitDevices != nil ? "`nvidia-ctk cdi list` finds" : "the specs define"
        let missing = requested.filter { !CDISpec.satisfies($0, available: available) }
        let dirs = directories.joined(separator: ", ")
        guard missing.isEmpty else {
            return .fail(
                id, title,
                "unresolvable CDI \(missing.count == 1 ? "device" : "devices") \(missing.joined(separator: ", ")): "
                    + "\(source) \(available.isEmpty ? "none" : available.joined(separator: ", ")) (spec dirs \(dirs))",
                fix: "generate the NVIDIA spec (`\(NvidiaCTK.regenerate)`), then check `nvidia-ctk cdi list`")
        }
        let shown = requested.isEmpty ? available : requested
        return .ok(id, title, "\(source) \(shown.joined(separator: ", ")) (spec dirs \(dirs))")
    }

    /// An NVIDIA CDI spec generated for another driver version mounts libraries that no longer exist.
    static func staleSpec(_ specs: [CDISpec], driverVersion: String?, usedByStack: Bool) -> CheckResult? {
        guard let driverVersion,
            let stale = specs.first(where: { $0.kind == CDIName.nvidiaGPU && $0.driverVersion.map { $0 != driverVersion } ?? false })
        else { return nil }
        let evidence =
            "stale CDI spec: \(stale.path) was generated for driver \(stale.driverVersion ?? "?"), "
            + "the running driver is \(driverVersion)"
        let fix = "regenerate it: `\(NvidiaCTK.regenerate)` (NVIDIA's nvidia-cdi-refresh service does this after driver upgrades)"
        return usedByStack ? .fail("gpu.cdi-spec", "CDI spec", evidence, fix: fix) : .warn("gpu.cdi-spec", "CDI spec", evidence, fix: fix)
    }
}
