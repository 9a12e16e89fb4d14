import Foundation

/// A MIG slice of a GPU, from `nvidia-smi -L`. It is not a whole GPU: a `count` request never gets it.
public struct MIGDevice: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The parent GPU's index.
    public var gpu: Int
    /// Its index within the parent (`0:1` in `device_ids`).
    public var index: Int
    /// `1g.10gb`, `3g.40gb`.
    public var profile: String
    public var uuid: String

    public var description: String { "MIG \(profile) (GPU\(gpu) device \(index), \(uuid))" }

    /// The `  MIG 1g.10gb     Device  0: (UUID: MIG-…)` lines under each `GPU n:` line of `nvidia-smi -L`.
    public static func parseList(_ text: String) -> [MIGDevice] {
        var parent: Int?
        var devices: [MIGDevice] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("GPU "), let index = Int(line.dropFirst(4).prefix { $0.isNumber }) {
                parent = index
                continue
            }
            guard line.hasPrefix("MIG "), let parent else { continue }
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count >= 4, let deviceWord = words.firstIndex(of: "Device"), deviceWord + 1 < words.count,
                let index = Int(words[deviceWord + 1].trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            else { continue }
            let uuid = line.range(of: "UUID: ").map { String(line[$0.upperBound...].prefix { $0 != ")" }) } ?? ""
            devices.append(MIGDevice(gpu: parent, index: index, profile: String(words[1]), uuid: uuid))
        }
        return devices
    }
}

/// A process holding GPU memory, from `nvidia-smi --query-compute-apps`.
public struct GPUProcess: Sendable, Hashable, Codable, CustomStringConvertible {
    public var gpuUUID: String
    public var pid: Int
    public var name: String
    public var usedMiB: Int

    public var description: String {
        "\(name) (pid \(pid), \(ByteSize(count: UInt64(max(usedMiB, 0)), unit: 1_048_576)))"
    }

    /// `--query-compute-apps=<NvidiaSMI.computeAppFields> --format=csv,noheader,nounits`.
    public static func parse(_ text: String) -> [GPUProcess] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 4, let pid = Int(fields[1]) else { return nil }
            // `[N/A]` memory (some vGPU and MIG setups) counts as unknown, shown as 0.
            let used = Int(fields[3].replacingOccurrences(of: " MiB", with: "")) ?? 0
            return GPUProcess(gpuUUID: fields[0], pid: pid, name: (fields[2] as NSString).lastPathComponent, usedMiB: used)
        }
    }
}

/// Peer-to-peer status between GPU pairs, from `nvidia-smi topo -p2p n` (over NVLink) or `r`/`w`.
public struct P2PMatrix: Sendable, Hashable, Codable {
    /// `OK`, `NS` (not supported), `CNS`, `GNS`, `TNS`, `U`, keyed "i-j".
    public var cells: [String: String]

    public func status(_ a: Int, _ b: Int) -> String? { cells["\(a)-\(b)"] }

    /// What a status code means, in words.
    public static func meaning(_ code: String) -> String {
        switch code {
        case "OK": "supported"
        case "NS": "not supported"
        case "CNS": "chipset not supported"
        case "GNS": "GPU not supported"
        case "TNS": "topology not supported"
        case "DS": "disabled by the driver"
        default: "unknown"
        }
    }

    public static func parse(_ text: String) -> P2PMatrix? {
        let clean = text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        let rows = clean.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
        // The header is the line of column names only: `GPU0 GPU1 …`.
        guard let header = rows.first(where: { !$0.isEmpty && $0.allSatisfy { $0.hasPrefix("GPU") } }) else { return nil }
        let columns = header.compactMap { Int($0.dropFirst(3)) }
        var cells: [String: String] = [:]
        for words in rows where words.count == columns.count + 1 && words[0].hasPrefix("GPU") {
            guard let row = Int(words[0].dropFirst(3)) else { continue }
            for (offset, column) in columns.enumerated() where column != row {
                cells["\(row)-\(column)"] = words[offset + 1]
            }
        }
        return cells.isEmpty ? nil : P2PMatrix(cells: cells)
    }
}

/// `CUDA_VISIBLE_DEVICES` / `NVIDIA_VISIBLE_DEVICES` in launch's environment: the GPUs a person chose to use.
public struct GPUVisibility: Sendable, Hashable, Codable, CustomStringConvertible {
    public var variable: String
    public var value: String
    /// nil: every GPU; otherwise indices or UUID prefixes.
    public var ids: [String]?

    public var description: String { "\(variable)=\(value)" }

    /// nil when neither variable restricts anything.
    public static func from(_ environment: [String: String]) -> GPUVisibility? {
        for variable in ["CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"] {
            guard let value = environment[variable] else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if trimmed == "all" { return nil }
            if ["", "none", "void", "-1"].contains(trimmed) { return GPUVisibility(variable: variable, value: value, ids: []) }
            return GPUVisibility(variable: variable, value: value, ids: GPURequest.splitIDs([trimmed]))
        }
        return nil
    }

    public func allows(_ gpu: GPU) -> Bool {
        guard let ids else { return true }
        return ids.contains { $0 == String(gpu.index) || (!$0.isEmpty && gpu.uuid.hasPrefix($0)) }
    }
}
