import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file launch needs could not be read or written: the path, what launch was doing, why (in words, never a
/// Foundation error dump) and one next step. Exit 2: nothing was started because of it.
public struct FileError: LaunchFailure, Equatable {
    public var path: String
    /// `read the env file`, `write the run report`, `create the lock directory`.
    public var operation: String
    public var reason: String
    public var hint: String?
    public var exitCode: ExitStatus { .preflightFailed }
    public var summary: String { "cannot \(operation) \(path): \(reason)" }

    public init(path: String, operation: String, reason: String, hint: String?) {
        self.path = path
        self.operation = operation
        self.reason = reason
        self.hint = hint
    }

    /// From whatever Foundation or the system threw, reduced to the errno it stands for.
    public init(path: String, operation: String, underlying error: any Error) {
        let (reason, code) = Self.describe(error)
        let directory = (path as NSString).deletingLastPathComponent
        let hint: String
        switch code {
        case EACCES, EPERM:
            hint =
                "you lack permission there; check the owner and mode (`ls -ld \(directory.isEmpty ? "." : directory)`), no sudo needed if you own it"
        case ENOENT: hint = "check the path; a missing parent directory is not created for this"
        case ENOSPC, EDQUOT: hint = "free some disk space (`df -h \(directory.isEmpty ? "." : directory)`)"
        case EROFS: hint = "the file system is read-only; use a project directory you can write"
        case EISDIR: hint = "a directory stands where launch expects a file: move it away"
        case ELOOP: hint = "a symbolic link points back to itself: fix the link"
        default: hint = "check the path, its permissions and free space"
        }
        self.init(path: path, operation: operation, reason: reason, hint: hint)
    }

    /// Foundation wraps the errno in Cocoa errors; the person needs the errno's words.
    static func describe(_ error: any Error) -> (String, Int32) {
        if let failure = error as? AtomicFile.WriteError { return (failure.reason, failure.errnoCode) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return (String(cString: strerror(Int32(ns.code))), Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return (String(cString: strerror(Int32(underlying.code))), Int32(underlying.code))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return (String(cString: strerror(ENOENT)), ENOENT)
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return (String(cString: strerror(EACCES)), EACCES)
            case NSFileWriteOutOfSpaceError: return (String(cString: strerror(ENOSPC)), ENOSPC)
            case NSFileWriteVolumeReadOnlyError: return (String(cString: strerror(EROFS)), EROFS)
            case NSFileReadInapplicableStringEncodingError, NSFileReadCorruptFileError: return ("its content cannot be decoded", 0)
            default: break
            }
        }
        return ("I/O error", 0)
    }

    /// What stands at `path` when it is not what launch expects there (nil: nothing, or the expected kind), in the
    /// words a person needs ("is a directory, not a file"), never Foundation's "I/O error". Only looks (lstat of the
    /// target through links).
    public static func standing(at path: String, expecting: ExpectedKind) -> (reason: String, hint: String)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let kind = info.st_mode & S_IFMT
        switch (expecting, kind) {
        case (.file, S_IFREG), (.directory, S_IFDIR): return nil
        case (.file, S_IFDIR): return ("is a directory, not a file", "move the directory away or name the file it holds")
        case (.directory, S_IFREG): return ("is a file, not a directory", "move the file away: launch keeps a directory there")
        default: return ("is not a regular file or directory (a FIFO, socket or device)", "move it away")
        }
    }

    public enum ExpectedKind: Sendable { case file, directory }
}
