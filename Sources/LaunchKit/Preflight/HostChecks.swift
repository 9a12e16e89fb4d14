import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Memory, disk and files the profile says it needs.
enum HostChecks {
    /// This machine's available memory for a local engine; for another machine's engine, what that engine says its
    /// machine has in total (what is free there is not visible through the engine).
    static func memory(_ facts: EngineFacts, proc: ProcFS, required: ByteSize?, profile: Profile?) -> CheckResult {
        guard !facts.isLocal else { return memory(available: proc.memAvailable(), required: required, profile: profile) }
        let id = "memory", title = "Memory"
        guard let total = facts.info?.memTotal, total > 0 else {
            return .skip(id, title, "the engine at \(facts.endpoint) is remote and did not say how much memory its machine has")
        }
        let size = ByteSize(bytes: UInt64(total))
        let place = "on the engine's machine (\(facts.endpoint)), in total; what is free there is not visible from here"
        guard let required, let profile else { return .ok(id, title, "\(size) \(place)") }
        if size >= required { return .ok(id, title, "\(size) \(place); \(required) required") }
        return .fail(
            id, title, "the engine's machine (\(facts.endpoint)) has only \(size) in total, \(profile.name) requires \(required)",
            fix: "use an engine on a machine with more memory, or lower requires.memory in \(profile.sourceFile)")
    }

    static func memory(available: ByteSize?, required: ByteSize?, profile: Profile?) -> CheckResult {
        let id = "memory", title = "Memory"
        guard let available else {
            return .skip(id, title, "/proc/meminfo is not readable here (not Linux?)")
        }
        guard let required, let profile else {
            return .ok(id, title, "\(available) available (MemAvailable)")
        }
        if available >= required {
            return .ok(id, title, "\(available) available, \(required) required")
        }
        return .fail(
            id, title, "only \(available) available (MemAvailable), \(profile.name) requires \(required)",
            fix: "free memory (stop what you do not need: `docker ps`, `docker stop …`), or lower requires.memory in \(profile.sourceFile)")
    }

    /// Free space where the engine keeps images and volumes; `/` when that directory is not visible from here.
    static func disk(_ facts: EngineFacts, required: ByteSize?, profile: Profile?) -> CheckResult {
        let id = "disk", title = "Disk"
        guard facts.isLocal || !facts.reachable else {
            return .skip(id, title, "the engine at \(facts.endpoint) is remote: its disk is not visible from here")
        }
        let rootDirectory = facts.info?.dockerRootDir ?? "/var/lib/docker"
        let visible = !rootDirectory.isEmpty && FileManager.default.fileExists(atPath: rootDirectory)
        let measured = visible ? rootDirectory : "/"
        guard let free = freeSpace(at: measured) else {
            return .skip(id, title, "could not measure free space under \(measured)")
        }
        let place = visible ? "under \(measured)" : "under / (Docker's root dir \(rootDirectory) is not visible here)"
        guard let required, let profile else {
            return .ok(id, title, "\(free) free \(place)")
        }
        if free >= required {
            return .ok(id, title, "\(free) free \(place), \(required) required")
        }
        return .fail(
            id, title, "only \(free) free \(place), \(profile.name) requires \(required)",
            fix:
                "`launch clean` prunes stopped containers, dangling images and build cache; or free space on that disk, or lower requires.disk in \(profile.sourceFile)"
        )
    }

    /// Space an unprivileged user may still allocate (`f_bavail`), as `df` reports it.
    static func freeSpace(at path: String) -> ByteSize? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return ByteSize(count: UInt64(stats.f_bavail), unit: UInt64(stats.f_frsize))
    }

    /// `requires.paths`, relative to the project root; a trailing `/` means the path must be a directory.
    static func paths(_ profile: Profile, layout: ProjectLayout) -> CheckResult? {
        guard !profile.requires.paths.isEmpty else { return nil }
        let id = "paths", title = "Required paths"
        var problems: [String] = []
        for path in profile.requires.paths {
            var isDirectory: ObjCBool = false
            let wantsDirectory = path.hasSuffix("/")
            let bare = wantsDirectory ? String(path.dropLast()) : path
            if !FileManager.default.fileExists(atPath: layout.path(bare), isDirectory: &isDirectory) {
                problems.append("\(path) is missing")
            } else if wantsDirectory && !isDirectory.boolValue {
                problems.append("\(path) is a file, not a directory")
            }
        }
        let count = profile.requires.paths.count
        if problems.isEmpty {
            return .ok(id, title, count == 1 ? "\(profile.requires.paths[0]) exists" : "all \(count) exist")
        }
        return .fail(
            id, title, problems.joined(separator: "; "),
            fix: "create \(problems.count == 1 ? "it" : "them") under \(layout.root) (or fix requires.paths in \(profile.sourceFile))")
    }
}
