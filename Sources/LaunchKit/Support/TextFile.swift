import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A configuration file read as text, or the reason it cannot be, in words a person can act on: what stands at
/// the path (a directory, a FIFO, a device, a link loop), the errno's words, or where its bytes stop being UTF-8.
/// Never blocks on a FIFO or reads a device without end.
enum TextFile {
    /// Far beyond any profile or compose file written by hand.
    static let maximumBytes = 16 * 1024 * 1024

    static func read(_ path: String, display: String) -> Result<String, ConfigurationError> {
        let location = SourceLocation(file: display, line: 0)
        if let problem = standingProblem(path, location: location) { return .failure(problem) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure(unreadable(display, location, error))
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let offset = firstInvalidUTF8(Array(data))
            return .failure(problem(location, "is not UTF-8 text (byte \(offset) is not)", hint: "save it as UTF-8"))
        }
        return .success(text)
    }

    /// What stands at `path` if it is not a file launch (or Compose) can read as configuration: a directory, a
    /// FIFO or device (which would block, or never end), a link loop, a file of many MiB. Only looks (stat).
    static func standingProblem(_ path: String, location: SourceLocation) -> ConfigurationError? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return unreadable(location.file, location, NSError(domain: NSPOSIXErrorDomain, code: Int(errno)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR:
            return problem(location, "is a directory, not a file", hint: "move the directory away or name the file it holds")
        default:
            return problem(location, "is not a regular file (a FIFO, socket or device)", hint: "point it at a YAML file")
        }
        guard info.st_size <= maximumBytes else {
            return problem(
                location, "is \(info.st_size / 1024 / 1024) MiB; a configuration file is a few KiB",
                hint: "check that this is the file you meant")
        }
        return nil
    }

    private static func problem(_ location: SourceLocation, _ message: String, hint: String) -> ConfigurationError {
        ConfigurationError([ConfigProblem(location, message, hint: hint)])
    }

    /// The system's words and hint for a file that is there and cannot be read, as `FileError` gives them anywhere.
    private static func unreadable(_ display: String, _ location: SourceLocation, _ error: any Error) -> ConfigurationError {
        let failure = FileError(path: display, operation: "read", underlying: error)
        return problem(location, "cannot read: \(failure.reason)", hint: failure.hint ?? "check the path and its permissions")
    }

    /// The offset of the first byte that does not continue valid UTF-8.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            offset += Unicode.UTF8.width(scalar)
        }
        return offset
    }
}
