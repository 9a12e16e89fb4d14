import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One command that changes a compose project at a time, per engine.
///
/// The lock is `flock(2)` on `<lock directory>/<project>@<engine key>.lock`: the kernel drops the lock when its
/// process exits in any way (SIGKILL included), so two launches can never both hold it and a dead owner never
/// blocks anyone. A holder that releases removes the file (a killed one leaves it, with its record); whoever gets
/// the lock then checks that the path still names the file it locked, and starts over if not, so removing never
/// lets two holders in. It is keyed by the engine's identity and the compose project, not by the checkout or by
/// how the engine was spelled: two checkouts of the same project on the same engine exclude each other, and so do
/// `unix:///var/run/docker.sock`, `unix:///var/run//docker.sock` and a symlink to that socket. The directory is
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
    /// Set by the first `release`: a second one must not close a descriptor number the process may have reused.
    private let released = Mutex(false)
    /// The owner recorded by a command that ended without releasing (killed), if any.
    public let clearedStale: Owner?
    public let path: String

    public convenience init(context: LaunchContext, root: String, project: String, environment: String, command: String) throws {
        try self.init(
            path: Self.path(engine: context.engine, project: project, environment: context.environment),
            project: project, environment: environment, command: command, root: root)
    }

    init(path: String, project: String, environment: String, command: String, root: String?) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try Self.ensurePrivateDirectory(directory)
        var descriptor = try Self.lockFile(path, directory: directory, project: project)
        var attempt = 1
        // A holder that released may have removed the file after we opened it: what we hold is then nobody's lock.
        // Held and still the file the path names, it is ours.
        while !Self.stillNamed(path, by: descriptor) {
            close(descriptor)
            guard attempt < 8 else { throw Busy(project: project, owner: nil) }
            attempt += 1
            descriptor = try Self.lockFile(path, directory: directory, project: project)
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

    /// Opens (or makes) the lock file, never through a symlink, checks it is the user's own regular file, and takes
    /// the lock without waiting: held by someone else is `Busy`, naming them.
    private static func lockFile(_ path: String, directory: String, project: String) throws -> Int32 {
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
        return descriptor
    }

    /// Whether `path` still names the file open at `descriptor` (same device and inode).
    private static func stillNamed(_ path: String, by descriptor: Int32) -> Bool {
        var open = stat(), named = stat()
        guard fstat(descriptor, &open) == 0, lstat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    /// Where the lock of `project` on the engine behind `engine` lives.
    public static func path(engine: EngineEndpoint, project: String, environment: [String: String]) -> String {
        let safeProject = String(project.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return (directory(environment: environment) as NSString)
            .appendingPathComponent("\(safeProject)@\(engineKey(engineIdentity(engine))).lock")
    }

    /// What names the engine behind an endpoint, however it was spelled: a unix socket by the device and inode it
    /// resolves to (`//`, `.`, `..` and symlinks all reach the same one), a TCP endpoint by its host (lowercased)
    /// and port, an SSH or TLS endpoint by its host as written. A socket that is not there yet is named by its
    /// path with the spelling taken out.
    static func engineIdentity(_ engine: EngineEndpoint) -> String {
        switch engine.transport {
        case .unix(let path):
            var info = stat()
            if stat(path, &info) == 0 { return "unix-socket:\(info.st_dev):\(info.st_ino)" }
            return "unix://" + (path as NSString).standardizingPath
        case .tcp(let host, let port): return "tcp://\(host.lowercased()):\(port)"
        case .dialer: return engine.host
        }
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

    /// Empties the owner record and removes the file while still holding it, then drops the lock (closing the
    /// descriptor releases it). A launch that opened the file meanwhile finds the path no longer names it and
    /// starts over; the lock directory does not grow with every project and engine ever launched.
    public func release() {
        guard
            released.withLock({ done in
                defer { done = true }
                return !done
            })
        else { return }
        ftruncate(descriptor, 0)
        if Self.stillNamed(path, by: descriptor) { unlink(path) }
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
