import Foundation

/// Human-readable forms of plans and profile lists. JSON forms come from `Encodable` directly.
public enum PlanRenderer {
    public static func render(_ plan: LaunchPlan) -> [String] {
        var lines: [String] = []
        let aliases = plan.aliases.isEmpty ? "" : " (aliases: \(plan.aliases.joined(separator: ", ")))"
        lines.append("Plan for \(plan.environment)\(aliases) from \(plan.profileFile)")
        // A profile's own words: an escape sequence in them must not retitle or clear the user's terminal.
        if !plan.summary.isEmpty { lines.append("  \(Text.printable(plan.summary, limit: 200))") }
        lines.append("")
        var facts: [[String]] = [["project", plan.project]]
        facts.append(["compose", plan.compose ?? "not found (stack read from the files directly)"])
        for (offset, file) in plan.composeFiles.enumerated() {
            let isOverlay = plan.overlay.file != nil && offset == plan.composeFiles.count - 1
            facts.append([offset == 0 ? "files" : "", file + (isOverlay ? "  (GPU overlay)" : "")])
        }
        if !plan.composeProfiles.active.isEmpty {
            let activated = plan.composeProfiles.activations.map { "`\($0.profile)` activated: the environment names \($0.service)" }
            facts.append(["profiles", ([plan.composeProfiles.active.joined(separator: ", ")] + activated).joined(separator: "; ")])
        }
        facts.append(["overlay", "\(plan.overlay.choice.rawValue): \(plan.overlay.reason)"])
        facts.append(["env file", envLine(plan.envFile)])
        facts.append(["model", plan.modelSource])
        if let swarm = plan.swarm { facts.append(["swarm", swarm.description]) }
        lines += Text.table(facts).map { "  " + $0 }

        lines.append("")
        lines.append("Services (\(plan.services.count); each starts as soon as its own dependencies are ready)")
        let showChange = plan.services.contains { $0.change != nil }
        var rows = [
            ["LEVEL", "SERVICE", "CLASS", "READY WHEN", "DEADLINE", "HISTORY", "DEPENDS ON", "PORTS"] + (showChange ? ["CHANGE"] : [])
        ]
        let byName = Dictionary(plan.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (level, names) in plan.levels.enumerated() {
            for name in names {
                guard let service = byName[name] else { continue }
                var label = service.name
                if service.replicas != 1 { label += " ×\(service.replicas)" }
                if let gpus = service.gpus {
                    let devices = service.gpuDevices.isEmpty ? "" : ": " + service.gpuDevices.joined(separator: ",")
                    label += gpus < 0 ? " [all GPUs]" : " [\(GPUWords.count(gpus))\(devices)]"
                }
                rows.append(
                    [
                        String(level), label, service.serviceClass.rawValue, service.readiness,
                        DurationText.format(.seconds(service.deadlineSeconds)) + (service.deadlineLearned ? " (learned)" : ""),
                        service.history?.description ?? "-",
                        service.dependsOn.isEmpty ? "-" : service.dependsOn.map(shortDependency).joined(separator: " "),
                        service.ports.isEmpty ? "-" : service.ports.joined(separator: " "),
                    ] + (showChange ? [service.change?.rawValue ?? "-"] : []))
            }
        }
        lines += Text.table(rows).map { "  " + $0 }

        lines.append("")
        lines.append("Commands")
        lines += plan.commands.map { "  " + $0 }
        if !plan.urls.isEmpty {
            lines.append("")
            lines.append("URLs")
            lines += Text.table(plan.urls.map { [$0.name, $0.url] }).map { "  " + $0 }
        }
        let builds = plan.services.compactMap { service in service.build.map { [service.name, $0] } }
        if !builds.isEmpty {
            lines.append("")
            lines.append("Builds")
            lines += Text.table(builds).map { "  " + $0 }
        }
        if !plan.warnings.isEmpty {
            lines.append("")
            lines += plan.warnings.map { "warning: " + $0 }
        }
        if let failure = plan.overlay.failure {
            lines.append("")
            lines.append("blocked: " + failure)
        }
        return lines
    }

    /// `litellm (service_healthy)` → `litellm:healthy`, to keep the table narrow.
    static func shortDependency(_ text: String) -> String {
        text.replacingOccurrences(of: ", optional)", with: ")(optional)")
            .replacingOccurrences(of: " (service_healthy)", with: ":healthy")
            .replacingOccurrences(of: " (service_started)", with: ":started")
            .replacingOccurrences(of: " (service_completed_successfully)", with: ":exit0")
    }

    static func envLine(_ state: LaunchPlan.EnvFileState) -> String {
        guard state.exists else {
            let secrets = state.missingSecrets.count, variables = state.missingVariables.count
            return "\(state.path): missing; will be created (\(secrets) secrets, \(variables) variables, mode 0600)"
        }
        var text = "\(state.path): present"
        if let mode = state.mode { text += ", mode \(mode)" + (mode == "600" ? "" : " (will be tightened to 600)") }
        let missing = state.missingSecrets + state.missingVariables
        text += missing.isEmpty ? ", complete" : "; will add \(missing.joined(separator: ", "))"
        return text
    }

    /// `launch list`: one row per profile; broken profiles say so instead of vanishing.
    public static func list(_ catalog: ProfileCatalog) -> [String] {
        var rows = [["NAME", "ALIASES", "GPU", "PROJECT", "SUMMARY"]]
        for entry in catalog.entries {
            if let profile = entry.profile {
                rows.append([
                    profile.name, profile.aliases.isEmpty ? "-" : profile.aliases.joined(separator: ","),
                    profile.gpu.mode.rawValue, profile.compose.project, Text.printable(profile.summary, limit: 200),
                ])
            } else {
                rows.append([entry.name, "-", "-", "-", "INVALID: run `launch plan \(entry.name)` for details"])
            }
        }
        return Text.table(rows)
    }

    public struct ListedProfile: Encodable, Sendable {
        public var name: String
        public var aliases: [String]
        public var summary: String
        public var gpu: String
        public var project: String
        public var file: String
        public var valid: Bool
        public var problems: [String]
    }

    public static func listJSON(_ catalog: ProfileCatalog) -> [ListedProfile] {
        catalog.entries.map { entry in
            let problems: [String] = if case .failure(let error) = entry.result { error.problems.map(\.description) } else { [] }
            return ListedProfile(
                name: entry.name, aliases: entry.profile?.aliases ?? [], summary: entry.profile?.summary ?? "",
                gpu: entry.profile?.gpu.mode.rawValue ?? "", project: entry.profile?.compose.project ?? "",
                file: entry.file, valid: entry.profile != nil, problems: problems)
        }
    }
}
