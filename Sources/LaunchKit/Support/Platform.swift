#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few places where Linux and macOS spell the same system call differently. Everything that touches
/// sockets or descriptors goes through here, so the library builds for both by construction; what only Linux
/// can tell (/proc) sits behind `ProcFS`, which reports "unknown" elsewhere.
enum Platform {
    static var streamSocket: Int32 {
        #if canImport(Glibc)
            Int32(SOCK_STREAM.rawValue)
        #else
            SOCK_STREAM
        #endif
    }

    static var datagramSocket: Int32 {
        #if canImport(Glibc)
            Int32(SOCK_DGRAM.rawValue)
        #else
            SOCK_DGRAM
        #endif
    }

    /// Close-on-exec at creation where the kernel offers it (Linux); `socket` callers on macOS set it after.
    static var socketCloseOnExec: Int32 {
        #if canImport(Glibc)
            Int32(SOCK_CLOEXEC.rawValue)
        #else
            0
        #endif
    }

    /// A peer that went away must surface as EPIPE, never as SIGPIPE (macOS: `ignoreBrokenPipes` covers it).
    static var sendNoSignal: Int32 {
        #if canImport(Glibc)
            Int32(MSG_NOSIGNAL)
        #else
            0
        #endif
    }

    /// This process's own resource usage (`RUSAGE_SELF`), spelled per platform.
    static func ownUsage() -> rusage? {
        var usage = rusage()
        #if canImport(Glibc)
            let rc = getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        #else
            let rc = getrusage(RUSAGE_SELF, &usage)
        #endif
        return rc == 0 ? usage : nil
    }

    /// A new socket of `type` with close-on-exec set on every platform.
    static func socket(_ domain: Int32, _ type: Int32, _ proto: Int32 = 0) -> Int32 {
        #if canImport(Glibc)
            let fd = Glibc.socket(domain, type | socketCloseOnExec, proto)
        #else
            let fd = Darwin.socket(domain, type, proto)
        #endif
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    static func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
            Glibc.bind(fd, address, length)
        #else
            Darwin.bind(fd, address, length)
        #endif
    }

    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
            Glibc.connect(fd, address, length)
        #else
            Darwin.connect(fd, address, length)
        #endif
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.write(fd, buffer, count)
        #else
            Darwin.write(fd, buffer, count)
        #endif
    }

    static func close(_ fd: Int32) {
        #if canImport(Glibc)
            _ = Glibc.close(fd)
        #else
            _ = Darwin.close(fd)
        #endif
    }

    static func shutdown(_ fd: Int32) {
        #if canImport(Glibc)
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
        #else
            _ = Darwin.shutdown(fd, SHUT_RDWR)
        #endif
    }

    /// The width of the terminal on `fd`, when it is one.
    static func terminalColumns(_ fd: Int32) -> Int? {
        var size = winsize()
        #if canImport(Glibc)
            let rc = ioctl(fd, UInt(TIOCGWINSZ), &size)
        #else
            let rc = ioctl(fd, TIOCGWINSZ, &size)
        #endif
        return rc == 0 && size.ws_col > 0 ? Int(size.ws_col) : nil
    }

    /// `lstat(2)`: size, modification time in nanoseconds, inode, mode and whether it is a link.
    static func fileStatus(_ path: String) -> FileStatus? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        #if canImport(Glibc)
            let modified = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
            let changed = Int64(info.st_ctim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_ctim.tv_nsec)
        #else
            let modified = Int64(info.st_mtimespec.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtimespec.tv_nsec)
            let changed = Int64(info.st_ctimespec.tv_sec) &* 1_000_000_000 &+ Int64(info.st_ctimespec.tv_nsec)
        #endif
        let kind = info.st_mode & S_IFMT
        return FileStatus(
            size: UInt64(max(0, info.st_size)), modifiedNanoseconds: modified, changedNanoseconds: changed, inode: UInt64(info.st_ino),
            device: UInt64(info.st_dev), mode: UInt32(info.st_mode), isLink: kind == S_IFLNK, isRegular: kind == S_IFREG)
    }
}
