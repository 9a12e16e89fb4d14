import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files so that a reader sees the old content or the new, never half of either, with a chosen mode
/// from the first byte (a secret is never world-readable, not even for a moment).
public enum AtomicFile {
    public struct WriteError: LaunchFailure, Equatable {
        public var path: String
        public var reason: String
        public var errnoCode: Int32
        public var summary: String { "cannot write \(path): \(reason)" }
        public var hint: String? {
            errnoCode == EACCES || errnoCode == EPERM
                ? "you have no write permission there; check the directory's owner (`ls -ld`), no sudo needed if you own it"
                : "check free space and that the directory exists"
        }
        public var exitCode: ExitStatus { .preflightFailed }
    }

    /// Temp file in the same directory (same file system, so `rename` is atomic), fsync, rename, fsync dir.
    public static func write(_ text: String, to requested: String, mode: mode_t = 0o600) throws(WriteError) {
        try write(bytes: Array(text.utf8), to: requested, mode: mode)
    }

    /// The same, for content that is not necessarily UTF-8 (an env file keeps its undecodable lines).
    public static func write(bytes: [UInt8], to requested: String, mode: mode_t = 0o600) throws(WriteError) {
        // Write through a symlink to its target: renaming over the link would replace it with a plain file.
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: requested)).map { target in
                target.hasPrefix("/")
                    ? target : ((requested as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
            } ?? requested
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        var template = Array("\(directory.isEmpty ? "." : directory)/.\(name).launch-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return Int32(-1) }
            return mkstemp(base)
        }
        guard descriptor >= 0 else { throw failure(path, "cannot create a temporary file") }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        guard fchmod(descriptor, mode) == 0 else {
            close(descriptor)
            throw failure(path, "cannot set mode")
        }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { Platform.write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                close(descriptor)
                throw failure(path, "write failed")
            }
            written += result
        }
        guard fsync(descriptor) == 0, close(descriptor) == 0 else { throw failure(path, "fsync failed") }
        guard rename(temporary, path) == 0 else { throw failure(path, "rename failed") }
        committed = true
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func failure(_ path: String, _ what: String) -> WriteError {
        let code = errno
        return WriteError(path: path, reason: "\(what): \(String(cString: strerror(code)))", errnoCode: code)
    }

    /// The permission bits of `path`, or nil when it does not exist.
    public static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }
}
