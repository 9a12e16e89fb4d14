import Foundation

/// What a `build:` service's image was built from, as one content hash: every file Docker would send (the context
/// minus `.dockerignore`), its relative path, executable bit and bytes, plus the Dockerfile. `launch` keeps it on the
/// image as the label `launch.context-hash`; a different hash means the image is stale and is rebuilt.
public struct BuildContext: Sendable, Hashable, Encodable {
    public static let label = "launch.context-hash"

    /// Absolute directory.
    public var directory: String
    /// Absolute path of the Dockerfile (it may live outside the context).
    public var dockerfile: String
    /// The build's other keys (`args`, `target`, …) as `key=value` lines: a changed build arg is a different image.
    /// Hashed, never printed (a build arg may carry a secret).
    public var settings: [String]

    public init(directory: String, dockerfile: String, settings: [String] = []) {
        self.directory = directory
        self.dockerfile = dockerfile
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey { case directory, dockerfile }

    /// SHA-256 in hex over every file's relative path, executable bit and content digest (a link: its target), the
    /// Dockerfile and the build's other keys; nil when the context cannot be read (then the build decides, not
    /// launch). Files are read in pieces, never whole. `cache` (per-file digests kept like git's index) lets a file
    /// whose size, modification time and inode are unchanged go unread: a second plan of a large context costs a
    /// `stat` per file.
    /// `now`: the clock the two-second rule reads (tests move it).
    public func hash(cache: BuildContextCache? = nil, excluding excluded: String? = nil, now: Date = Date()) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        let ignore = DockerIgnore(text: (try? String(contentsOfFile: directory + "/.dockerignore", encoding: .utf8)) ?? "")
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return nil }
        var files: [String] = []
        // launch's own state (`.launch/`, where this cache lives) when the context holds the project root.
        let skipped = excluded.flatMap { $0.hasPrefix(directory + "/") ? String($0.dropFirst(directory.count + 1)) : nil }
        while let relative = enumerator.nextObject() as? String {
            let attributes = enumerator.fileAttributes
            if let skipped, relative == skipped || relative.hasPrefix(skipped + "/") {
                if attributes?[.type] as? FileAttributeType == .typeDirectory { enumerator.skipDescendants() }
                continue
            }
            if attributes?[.type] as? FileAttributeType == .typeDirectory {
                continue
            }
            if !ignore.excludes(relative) { files.append(relative) }
        }
        let known = cache?.load() ?? [:]
        var seen: [String: BuildContextCache.Entry] = [:]
        var hasher = SHA256()
        for relative in files.sorted() {
            let path = directory + "/" + relative
            guard let status = FileStatus(path) else { continue }
            hasher.update(Array("\(relative)\u{0}\(status.mode & 0o111 != 0 ? "x" : "-")\u{0}".utf8))
            if status.isLink {
                hasher.update(Array(((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "").utf8))
                continue
            }
            // A FIFO, socket or device is not content (and opening a FIFO would wait forever).
            guard status.isRegular else { continue }
            let digest: String
            if let entry = known[relative], entry.matches(status) {
                digest = entry.digest
            } else if let fresh = Self.digest(of: path) {
                digest = fresh
            } else {
                continue
            }
            hasher.update(Array("\(status.size)\u{0}\(digest)".utf8))
            // A file changed within the last two seconds may change again within the same timestamp: not cached.
            if status.isSettled(at: now) { seen[relative] = BuildContextCache.Entry(status, digest: digest) }
        }
        if seen != known { cache?.save(seen) }
        if !dockerfile.hasPrefix(directory + "/"), let digest = Self.digest(of: dockerfile) {
            hasher.update(Array("dockerfile\u{0}\(digest)".utf8))
        }
        // The Dockerfile's name inside the context, and the build's other keys: a different target, build arg or
        // Dockerfile of the same context is a different image.
        if !settings.isEmpty || dockerfile != directory + "/Dockerfile" {
            hasher.update(Array("build\u{0}\(dockerfile)\u{0}\(settings.joined(separator: "\u{0}"))".utf8))
        }
        return SHA256.hex(hasher.finalize())
    }

    /// One file's SHA-256, read a megabyte at a time.
    static func digest(of path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                return nil
            }
            // nil or empty: the end of the file.
            guard let chunk, !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return SHA256.hex(hasher.finalize())
    }
}

/// What `lstat` says of a file, as far as the context hash and its cache need it.
struct FileStatus: Sendable, Equatable {
    var size: UInt64
    var modifiedNanoseconds: Int64
    /// The inode's change time: a content rewrite with the old modification time put back still moves it.
    var changedNanoseconds: Int64
    var inode: UInt64
    var device: UInt64
    var mode: UInt32
    var isLink: Bool
    var isRegular: Bool

    /// Neither modified nor changed within the two seconds before `now`.
    func isSettled(at now: Date) -> Bool {
        Int64(now.timeIntervalSince1970 * 1e9) - max(modifiedNanoseconds, changedNanoseconds) > 2_000_000_000
    }
}

extension FileStatus {
    /// In an extension, so the memberwise initializer (what `Platform.fileStatus` builds) stays synthesized.
    init?(_ path: String) {
        guard let status = Platform.fileStatus(path) else { return nil }
        self = status
    }
}

/// Per-file digests of one build context, kept in `.launch/cache/` (0600, in the private state directory) between
/// runs: like git's index, a file whose size, modification time and inode match its entry is not read again. A
/// missing, unreadable or foreign cache is simply empty; it is rewritten after every hash.
public struct BuildContextCache: Sendable {
    struct Entry: Codable, Equatable {
        var size: UInt64
        var modified: Int64
        var changed: Int64
        var inode: UInt64
        var device: UInt64
        var digest: String

        init(_ status: FileStatus, digest: String) {
            size = status.size
            modified = status.modifiedNanoseconds
            changed = status.changedNanoseconds
            inode = status.inode
            device = status.device
            self.digest = digest
        }

        /// As git's index: size, modification and change times, inode and device all as they were.
        func matches(_ status: FileStatus) -> Bool {
            size == status.size && modified == status.modifiedNanoseconds && changed == status.changedNanoseconds
                && inode == status.inode && device == status.device
        }
    }

    /// The cache file.
    public let path: String

    /// The cache of the context at `directory`, under `stateDirectory` (`.launch/cache`); nil when that cannot be made.
    public static func `for`(context directory: String, layout: ProjectLayout) -> BuildContextCache? {
        guard let folder = try? layout.privateStateDirectory("cache") else { return nil }
        var hasher = SHA256()
        hasher.update(Array(directory.utf8))
        return BuildContextCache(path: folder + "/build-context-" + SHA256.hex(hasher.finalize()).prefix(16) + ".json")
    }

    func load() -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: path),
            let entries = try? JSONDecoder().decode([String: Entry].self, from: data)
        else { return [:] }
        return entries
    }

    func save(_ entries: [String: Entry]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let data = try? encoder.encode(entries) else { return }
        try? AtomicFile.write(bytes: [UInt8](data), to: path)
    }
}

/// `.dockerignore` as the builder reads it: one pattern a line, `#` comments, `!` re-includes, the last match
/// wins, `*` and `?` stay within one path component, `**` spans any number, and a pattern that matches a directory
/// excludes everything under it.
public struct DockerIgnore: Sendable {
    struct Rule {
        var regex: NSRegularExpression
        var include: Bool
    }
    var rules: [Rule] = []

    public init(text: String) {
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let include = line.hasPrefix("!")
            if include { line.removeFirst() }
            line = (line as NSString).standardizingPath
            while line.hasPrefix("/") { line.removeFirst() }
            if line.hasPrefix("./") { line.removeFirst(2) }
            guard !line.isEmpty, let regex = try? NSRegularExpression(pattern: "^" + Self.regex(line) + "(/.*)?$") else { continue }
            rules.append(Rule(regex: regex, include: include))
        }
    }

    static func regex(_ pattern: String) -> String {
        var result = ""
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*" where characters.first == "*":
                characters.removeFirst()
                if characters.first == "/" {
                    characters.removeFirst()
                    result += "(.*/)?"
                } else {
                    result += ".*"
                }
            case "*": result += "[^/]*"
            case "?": result += "[^/]"
            default: result += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        return result
    }

    public func excludes(_ relative: String) -> Bool {
        var excluded = false
        let range = NSRange(relative.startIndex..., in: relative)
        for rule in rules where rule.regex.firstMatch(in: relative, range: range) != nil {
            excluded = !rule.include
        }
        return excluded
    }
}

/// SHA-256 (FIPS 180-4), enough for content hashes without a crypto dependency.
struct SHA256 {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    )
    /// Bytes of an incomplete block, waiting for the rest.
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Whole blocks are compressed straight from `bytes`; only a tail shorter than a block is copied.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            offset = take
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { compress($0, at: 0) }
            pending.removeAll(keepingCapacity: true)
        }
        while bytes.count - offset >= 64 {
            compress(bytes, at: offset)
            offset += 64
        }
        if offset < bytes.count { pending += bytes[offset...] }
    }

    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        tail += (0..<8).reversed().map { UInt8(truncatingIfNeeded: bits >> (UInt64($0) * 8)) }
        tail.withUnsafeBytes { block in
            var offset = 0
            while offset < block.count {
                compress(block, at: offset)
                offset += 64
            }
        }
        pending = []
        let words = [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7]
        return words.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> (UInt32($0) * 8)) } }
    }

    private mutating func compress(_ bytes: UnsafeRawBufferPointer, at start: Int) {
        @inline(__always) func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                let base = start + i * 4
                w[i] = UInt32(bytes[base]) << 24 | UInt32(bytes[base + 1]) << 16 | UInt32(bytes[base + 2]) << 8 | UInt32(bytes[base + 3])
            }
            for i in 16..<64 {
                let s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = state
            Self.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let s1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)
                    let choice = (e & f) ^ (~e & g)
                    let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
                    let s0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ majority
                    (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                }
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
        }
    }
}
