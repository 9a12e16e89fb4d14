import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One launch per compose project at a time. The lock is a file holding the owner's pid; a lock whose
/// process is gone (killed with SIGKILL, machine rebooted) is stale and is cleared by the next launch.
public final class ProjectLock: Sendable {
    public struct Owner: Codable, Sendable {
        public var pid: Int32
        public var environment: String
        public var startedAt: Date
        public var command: String
    }

    public struct Busy: LaunchFailure {
        public var project: String
        public var owner: Owner
        public var summary: String {
            "another launch of \(project) is running: pid \(owner.pid) (`\(owner.command)`), started \(ISO8601DateFormatter().string(from: owner.startedAt))"
        }
        public var hint: String? { "wait for it to finish, or stop it (Ctrl-C in its terminal, or `kill \(owner.pid)`)" }
        public var exitCode: ExitStatus { .busy }
    }

    let path: String
    /// Set when a stale lock was found and cleared.
    public let clearedStale: Owner?

    public init(layout: ProjectLayout, project: String, environment: String, command: String) throws {
        let directory = (layout.stateDirectory as NSString).appendingPathComponent("locks")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("\(project).lock")
        let me = Owner(pid: getpid(), environment: environment, startedAt: Date(), command: command)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(me)
        var stale: Owner?
        for _ in 0..<2 {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if descriptor >= 0 {
                _ = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                close(descriptor)
                clearedStale = stale
                return
            }
            guard errno == EEXIST else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)), errnoCode: errno) }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let owner = (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap { try? decoder.decode(Owner.self, from: $0) }
            if let owner, Self.isAlive(owner.pid) {
                throw Busy(project: project, owner: owner)
            }
            stale = owner
            unlink(path)
        }
        throw AtomicFile.WriteError(path: path, reason: "could not take the lock", errnoCode: EEXIST)
    }

    /// A pid counts as alive when it exists and is a `launch` process (pids are reused).
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let commandLine = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return true }
        return commandLine.contains("launch")
    }

    public func release() { unlink(path) }
}
