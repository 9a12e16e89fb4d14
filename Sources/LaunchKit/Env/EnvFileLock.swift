import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Held while an env file is read, completed and written: two launches that share one env file (profiles of different
/// projects, two checkouts through a symlink) would otherwise both generate the missing secrets, and the last writer's
/// would replace values the first one already handed to its containers. Keyed by the file's real path, in the same
/// per-user directory as the project locks, so every spelling of the file shares one lock.
final class EnvFileLock {
    private let descriptor: Int32

    /// Waits up to `patience` for another launch to finish with the file (completing it takes milliseconds).
    init(envFile path: String, environment: [String: String], display: String, patience: Duration = .seconds(10)) throws(FileError) {
        let directory = ProjectLock.directory(environment: environment)
        try ProjectLock.ensurePrivateDirectory(directory)
        let lockPath = (directory as NSString).appendingPathComponent("env-\(ProjectLock.engineKey(Self.realPath(path))).lock")
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw FileError(path: lockPath, operation: "lock the env file", underlying: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
        }
        let deadline = ContinuousClock.now + patience
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                close(descriptor)
                throw FileError(
                    path: display, operation: "complete the env file",
                    reason: "another launch kept it locked for \(DurationText.format(patience))",
                    hint: "wait for the other `launch env` or `launch <env>` sharing this env file, then run again")
            }
            usleep(20_000)
        }
        self.descriptor = descriptor
    }

    /// Once, from the `defer` that follows taking it.
    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// The file's path with every symlink on the way resolved (the file's own too, when it exists yet).
    static func realPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }
}
