import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One command that changes a compose project at a time, per engine.
///
/// The lock is `flock(2)` on `<lock directory>/<project>@<engine key>.lock`, a file that is never deleted: the
/// kernel drops the lock when its process exits in any way (SIGKILL included), so two launches can never both
/// hold it and a dead owner never blocks anyone. It is keyed by the engine endpoint and the compose project, not
/// by the checkout: two checkouts of the same project on the same engine exclude each other. The directory is
/// the user's own (`$XDG_RUNTIME_DIR/launch`, else `$XDG_STATE_HOME/launch` or `~/.local/state/launch`), mode
/// 0700, and is refused when someone else can write it; the file is opened without following symlinks. The
/// file's content names the owner, for messages; finding a previous owner's name in it while the lock is free
/// means that command was killed, and is reported as such.
public final class ProjectLock: Sendable {
    public struct Owner: Codable, Sendable {
        public var pid: Int32
        public var environment: String
        public var startedAt: Date
        public var command: String
        /// The checkout it runs in (absent in records of older versions).
        public var root: String?
    }

    public struct Busy: LaunchFailure {
        public var project: String
        public var owner: Owner?
        public var summary: String {
            guard let owner else { return "another launch of \(project) is running" }
            let place = owner.root.map { " in \($0)" } ?? ""
            return
                "another launch of \(project) is running: pid \(owner.pid) (`\(owner.command)`\(place)), started \(ISO8601DateFormatter().string(from: owner.startedAt))"
        }
        public var hint: String? {
            owner.map { "wait for it to finish, or stop it (Ctrl-C in its terminal, or `kill \($0.pid)`)" } ?? "wait for it to finish"
        }
        public var exitCode: ExitStatus { .busy }
    }

    private let descriptor: Int32
    /// The owner recorded by a command that ended without releasing (killed), if any.
    public let clearedStale: Owner?
    public let path: String

    public convenience init(context: LaunchContext, root: String, project: String, environment: String, command: String) throws {
        try self.init(
            path: Self.path(engineHost: context.engine.host, project: project, environment: context.environment),
            project: project, environment: environment, command: command, root: root)
    }

    init(path: String, project: String, environment: String, command: String, root: String?) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try Self.ensurePrivateDirectory(directory)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            throw FileError(
                path: path, operation: "open the lock file", reason: String(cString: strerror(code)),
                hint: code == ELOOP
                    ? "it is a symbolic link, which launch never follows there: remove it (`rm \(path)`)"
                    : "check that you own \(directory) (`ls -ld \(directory)`)")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid() else {
            close(descriptor)
            throw FileError(
                path: path, operation: "use the lock file", reason: "it is not a regular file you own",
                hint: "remove it (`rm \(path)`); launch creates it again")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readOwner(descriptor)
            close(descriptor)
            throw Busy(project: project, owner: holder)
        }
        // Read only once we hold it: a holder that released between a read and our flock truncated its record.
        let previous = Self.readOwner(descriptor)
        self.descriptor = descriptor
        self.path = path
        // A free lock with an owner still written in it: that command never got to release it.
        clearedStale = previous
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let me = Owner(pid: getpid(), environment: environment, startedAt: Date(), command: command, root: root)
        if let data = try? encoder.encode(me) {
            ftruncate(descriptor, 0)
            _ = data.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
    }

    /// Where the lock of `project` on the engine at `engineHost` lives.
    public static func path(engineHost: String, project: String, environment: [String: String]) -> String {
        let safeProject = String(project.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return (directory(environment: environment) as NSString).appendingPathComponent("\(safeProject)@\(engineKey(engineHost)).lock")
    }

    /// `$XDG_RUNTIME_DIR/launch/locks` (per user, made by the login manager), else the per-user state directory.
    public static func directory(environment: [String: String]) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/"), isPrivateDirectory(runtime) {
            return runtime + "/launch/locks"
        }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/launch/locks" }
        let home = environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
        return home + "/.local/state/launch/locks"
    }

    /// A stable short key for an endpoint (FNV-1a, 64 bits, hex): file names stay short and free of `/` and `:`.
    static func engineKey(_ host: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in host.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// A directory that exists, is not a symlink, belongs to this user and nobody else can write.
    static func isPrivateDirectory(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == getuid() && (info.st_mode & 0o022) == 0
    }

    /// Creates `directory` (and missing parents) with mode 0700, then refuses it unless it is private.
    static func ensurePrivateDirectory(_ directory: String) throws(FileError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileError(path: directory, operation: "create the lock directory", underlying: error)
        }
        guard isPrivateDirectory(directory) else {
            throw FileError(
                path: directory, operation: "use the lock directory",
                reason: "it is not a directory owned by you that only you can write",
                hint: "fix it (`chmod 700 \(directory)` if you own it) or set XDG_RUNTIME_DIR to a directory of your own")
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
