import Foundation

/// What Linux tells through /proc: available memory, listening sockets and the processes holding them.
/// `root` is a parameter so tests can point it at fixture files.
struct ProcFS: Sendable {
    var root: String = "/proc"

    // MARK: Memory

    /// `MemAvailable` from /proc/meminfo: what can be allocated without swapping (caches included).
    func memAvailable() -> ByteSize? {
        guard let text = try? String(contentsOfFile: root + "/meminfo", encoding: .utf8) else { return nil }
        return Self.memAvailable(meminfo: text)
    }

    static func memAvailable(meminfo text: String) -> ByteSize? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let number = UInt64(fields[1]) else { return nil }
            let unit = fields.count >= 3 ? fields[2].lowercased() : "b"
            return ByteSize(count: number, unit: unit == "kb" ? 1024 : 1)
        }
        return nil
    }

    // MARK: Sockets

    /// A listening TCP socket from /proc/net/tcp or tcp6.
    struct ListeningSocket: Sendable, Hashable {
        var address: String
        var port: Int
        var inode: UInt64
    }

    func listeningSockets() -> [ListeningSocket] {
        ["net/tcp", "net/tcp6"].flatMap { name in
            ((try? String(contentsOfFile: root + "/" + name, encoding: .utf8)).map(Self.listeningSockets) ?? [])
        }
    }

    /// Parses /proc/net/tcp{,6}: `sl local_address rem_address st … uid timeout inode`; `0A` is LISTEN.
    static func listeningSockets(_ text: String) -> [ListeningSocket] {
        text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10, fields[3] == "0A" else { return nil }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16), let inode = UInt64(fields[9]) else {
                return nil
            }
            return ListeningSocket(address: address(hex: String(local[0])), port: port, inode: inode)
        }
    }

    /// The kernel prints addresses as 32-bit words in host (little-endian) order.
    static func address(hex: String) -> String {
        let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { offset -> UInt8? in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
        var ordered: [UInt8] = []
        for word in stride(from: 0, to: bytes.count, by: 4) where word + 4 <= bytes.count {
            ordered += bytes[word..<(word + 4)].reversed()
        }
        if ordered.count == 4 { return ordered.map(String.init).joined(separator: ".") }
        if ordered.allSatisfy({ $0 == 0 }) { return "::" }
        if ordered.count == 16, ordered[0..<10].allSatisfy({ $0 == 0 }), ordered[10] == 0xFF, ordered[11] == 0xFF {
            return "::ffff:" + ordered[12...].map(String.init).joined(separator: ".")
        }
        return stride(from: 0, to: ordered.count, by: 2).map {
            String(UInt16(ordered[$0]) << 8 | UInt16(ordered[$0 + 1]), radix: 16)
        }.joined(separator: ":")
    }

    /// A process that holds a socket.
    struct Holder: Sendable, Hashable, CustomStringConvertible {
        var pid: Int
        var command: String
        var description: String { "\(command) (pid \(pid))" }
    }

    /// Processes with a descriptor on one of `inodes`. Other users' processes are invisible without root, so an
    /// empty answer means "not visible", not "nobody".
    func holders(ofSocketInodes inodes: Set<UInt64>) -> [Holder] {
        guard !inodes.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        let targets = Set(inodes.map { "socket:[\($0)]" })
        var found: [Holder] = []
        for entry in entries {
            guard let pid = Int(entry) else { continue }
            let fdDirectory = "\(root)/\(entry)/fd"
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: fdDirectory) else { continue }
            let holds = descriptors.contains { descriptor in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + descriptor))
                    .map(targets.contains) ?? false
            }
            if holds {
                let command =
                    (try? String(contentsOfFile: "\(root)/\(entry)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                found.append(Holder(pid: pid, command: command))
            }
        }
        return found.sorted { $0.pid < $1.pid }
    }
}
