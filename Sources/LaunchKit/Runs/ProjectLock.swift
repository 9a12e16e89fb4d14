import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One launch per compose project at a time.
///
/// The lock is `flock(2)` on `.launch/locks/<project>.lock`, a file that is never deleted: the kernel drops
/// the lock when its process exits in any way (SIGKILL included), so two launches can never both hold it and a
/// dead owner never blocks anyone. The file's content names the owner, for messages; finding a previous
/// owner's name in it while the lock is free means that launch was killed, and is reported as such.
public final class ProjectLock: Sendable {
    public struct Owner: Codable, Sendable {
        public var pid: Int32
        public var environment: String
        public var startedAt: Date
        public var command: String
    }

    public struct Busy: LaunchFailure {
        public var project: String
        public var owner: Owner?
        public var summary: String {
            guard let owner else { return "another launch of \(project) is running" }
            return "another launch of \(project) is running: pid \(owner.pid) (`\(owner.command)`), started \(ISO8601DateFormatter().string(from: owner.startedAt))"
        }
        public var hint: String? {
            owner.map { "wait for it to finish, or stop it (Ctrl-C in its terminal, or `kill \($0.pid)`)" } ?? "wait for it to finish"
        }
        public var exitCode: ExitStatus { .busy }
    }

    private let descriptor: Int32
    /// The owner recorded by a launch that ended without releasing (killed), if any.
    public let clearedStale: Owner?

    public init(layout: ProjectLayout, project: String, environment: String, command: String) throws {
        let directory = (layout.stateDirectory as NSString).appendingPathComponent("locks")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("\(project).lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)), errnoCode: errno)
        }
        let previous = Self.readOwner(descriptor)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw Busy(project: project, owner: previous)
        }
        self.descriptor = descriptor
        // A free lock with an owner still written in it: that launch never got to release it.
        clearedStale = previous
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let me = Owner(pid: getpid(), environment: environment, startedAt: Date(), command: command)
        if let data = try? encoder.encode(me) {
            ftruncate(descriptor, 0)
            _ = data.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
    }

    private static func readOwner(_ descriptor: Int32) -> Owner? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(Owner.self, from: Data(buffer[0..<count]))
    }

    /// Empties the owner record, then drops the lock (closing the descriptor releases it).
    public func release() {
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
