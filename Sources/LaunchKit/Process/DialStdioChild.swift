import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `docker <endpoint flags> system dial-stdio`: the one child launch starts without `SubprocessRunner`, because
/// its stdin and stdout must be one end of a socket pair that the engine client speaks HTTP over for as long as the
/// connection lives. Like every other child it runs in a process group of its own, registered in
/// `ChildProcesses`, so a Ctrl-C or a deadline stops it and whatever it started (an `ssh` hop) with launch.
enum DialStdioChild {
    struct Spawned: Sendable {
        let pid: pid_t
        /// Its stderr, in a private temporary file, so a failure can quote it.
        let errorPath: String
    }

    /// Starts the CLI with `socket` as its stdin and stdout; the caller keeps (and later closes) its own copy.
    static func spawn(docker: String, arguments: [String], environment: [String: String], socket: Int32) throws(EngineError) -> Spawned {
        let errorPath = NSTemporaryDirectory() + "launch-dial-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
        let errorFD = open(errorPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { if errorFD >= 0 { Platform.close(errorFD) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, socket, 0)
        posix_spawn_file_actions_adddup2(&actions, socket, 1)
        if errorFD >= 0 { posix_spawn_file_actions_adddup2(&actions, errorFD, 2) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own (pgid = its pid): stopping the group stops the ssh it runs too. The signals launch
        // itself ignores (its dispatch source handles them) are the default again in the child, and none is blocked,
        // so a SIGTERM to the group ends it at once.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid: pid_t = 0
        let rc = withCStrings([docker] + arguments) { argv in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in posix_spawn(&pid, docker, &actions, &attributes, argv, envp)
            }
        }
        guard rc == 0 else {
            unlink(errorPath)
            throw .dialFailed("could not start `\(docker) system dial-stdio`: \(String(cString: strerror(rc)))")
        }
        // Launch is on its way out: the child must not outlive it.
        if !ChildProcesses.add(pid) { kill(-pid, SIGKILL) }
        return Spawned(pid: pid, errorPath: errorPath)
    }

    /// EOF on its stdin (the caller closed its end) ends dial-stdio; SIGTERM to its group covers an SSH hop that
    /// lingers. Reaped on a thread of its own, so closing a connection never waits for a remote host.
    static func stop(pid: pid_t, errorPath: String) {
        kill(-pid, SIGTERM)
        Thread.detachNewThread {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            ChildProcesses.remove(pid)
            unlink(errorPath)
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { buffer in
            // posix_spawn takes `char *const argv[]`; the strings are ours and live until `defer`.
            body(buffer.baseAddress.unsafelyUnwrapped)
        }
    }
}
