import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `.launch/` holds run reports and last-good records, which can carry resolved configuration: it is 0700 and
/// every file in it 0600, so nothing there is readable by other users.
extension ProjectLayout {
    /// `.launch/<name>`, created (or tightened) to 0700 together with `.launch/` itself.
    public func privateStateDirectory(_ name: String) throws(FileError) -> String {
        let directory = (stateDirectory as NSString).appendingPathComponent(name)
        for path in [stateDirectory, directory] {
            if let standing = FileError.standing(at: path, expecting: .directory) {
                throw FileError(path: display(path), operation: "use the state directory", reason: standing.reason, hint: standing.hint)
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw FileError(path: display(path), operation: "create the state directory", underlying: error)
            }
            if let mode = AtomicFile.mode(of: path), mode & 0o077 != 0, chmod(path, 0o700) != 0 {
                throw FileError(
                    path: display(path), operation: "restrict the state directory to you (mode 700)",
                    underlying: POSIXError(.init(rawValue: errno) ?? .EPERM))
            }
        }
        return directory
    }
}
