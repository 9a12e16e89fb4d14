import Foundation

/// One reading of the host's load, memory and pressure stall information, from /proc.
struct HostReading: Sendable, Equatable {
    var load1: Double?
    var memAvailable: Int64?
    var memTotal: Int64?
    /// PSI `some avg10` (percent of the last 10 s in which some task waited), where /proc/pressure exists.
    var cpuPressure: Double?
    var memoryPressure: Double?
}

/// How busy the host itself was while services started, so a slow start is not blamed on the service alone.
/// Read only when the engine is local (a unix socket): a remote engine's host is not this one.
public struct HostPressure: Sendable, Equatable, Encodable {
    public var cpus: Int
    public var peakLoad: Double?
    public var lowestMemAvailable: Int64?
    public var memTotal: Int64?
    public var peakCPUPressure: Double?
    public var peakMemoryPressure: Double?
    public var samples = 0

    enum CodingKeys: String, CodingKey {
        case cpus, peakLoad = "peak_load", lowestMemAvailable = "lowest_mem_available_bytes", memTotal = "mem_total_bytes",
            peakCPUPressure = "peak_cpu_pressure", peakMemoryPressure = "peak_memory_pressure", samples
    }

    public init(cpus: Int) { self.cpus = max(cpus, 1) }

    mutating func record(_ reading: HostReading) {
        samples += 1
        func peak(_ a: Double?, _ b: Double?) -> Double? { [a, b].compactMap { $0 }.max() }
        peakLoad = peak(peakLoad, reading.load1)
        peakCPUPressure = peak(peakCPUPressure, reading.cpuPressure)
        peakMemoryPressure = peak(peakMemoryPressure, reading.memoryPressure)
        lowestMemAvailable = [lowestMemAvailable, reading.memAvailable].compactMap { $0 }.min()
        memTotal = reading.memTotal ?? memTotal
    }

    /// Load per CPU, stalled share and free memory beyond which the host, not the service, is the likelier culprit.
    static let loadPerCPU = 1.5
    static let cpuPressureLimit = 40.0
    static let memoryPressureLimit = 10.0
    static let memAvailableShare = 0.10

    /// What was saturated, in words; empty when the host had room.
    public var saturation: [String] {
        var reasons: [String] = []
        if let load = peakLoad, load >= Double(cpus) * Self.loadPerCPU {
            reasons.append(String(format: "load %.1f on %d CPU%@", load, cpus, cpus == 1 ? "" : "s"))
        }
        if let cpu = peakCPUPressure, cpu >= Self.cpuPressureLimit {
            reasons.append(String(format: "tasks waited for CPU %.0f %% of the time (PSI)", cpu))
        }
        if let memory = peakMemoryPressure, memory >= Self.memoryPressureLimit {
            reasons.append(String(format: "tasks waited for memory %.0f %% of the time (PSI)", memory))
        }
        if let available = lowestMemAvailable, let total = memTotal, total > 0, Double(available) / Double(total) < Self.memAvailableShare {
            reasons.append("only \(ResourceUsage.mib(available)) of \(ResourceUsage.mib(total)) memory available")
        }
        return reasons
    }

    /// `the host was saturated during startup (load 7.9 on 2 CPUs; …): slow starts may not be the services' fault`.
    public var note: String? {
        let reasons = saturation
        guard !reasons.isEmpty else { return nil }
        return "the host was saturated during startup (\(reasons.joined(separator: "; "))): slow starts may not be the services' fault"
    }

    /// Reads the host every `interval` until cancelled; returns what it saw.
    static func sample(procFS: ProcFS = ProcFS(), interval: Duration = .seconds(1)) async -> HostPressure {
        var pressure = HostPressure(cpus: ProcessInfo.processInfo.activeProcessorCount)
        while !Task.isCancelled {
            if let reading = procFS.hostReading() { pressure.record(reading) }
            do { try await Task.sleep(for: interval) } catch { break }
        }
        return pressure
    }
}

extension ProcFS {
    /// nil when /proc/loadavg is not there (not Linux).
    func hostReading() -> HostReading? {
        guard let loadavg = try? String(contentsOfFile: root + "/loadavg", encoding: .utf8) else { return nil }
        let meminfo = (try? String(contentsOfFile: root + "/meminfo", encoding: .utf8)) ?? ""
        return HostReading(
            load1: loadavg.split(separator: " ").first.flatMap { Double($0) },
            memAvailable: Self.meminfoBytes(meminfo, "MemAvailable:"), memTotal: Self.meminfoBytes(meminfo, "MemTotal:"),
            cpuPressure: (try? String(contentsOfFile: root + "/pressure/cpu", encoding: .utf8)).flatMap(Self.someAvg10),
            memoryPressure: (try? String(contentsOfFile: root + "/pressure/memory", encoding: .utf8)).flatMap(Self.someAvg10))
    }

    static func meminfoBytes(_ text: String, _ key: String) -> Int64? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(key) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let number = Int64(fields[1]) else { return nil }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: fields.count >= 3 && fields[2].lowercased() == "kb" ? 1024 : 1)
            return overflow ? nil : bytes
        }
        return nil
    }

    /// `some avg10=70.17 avg60=…` → 70.17.
    static func someAvg10(_ text: String) -> Double? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("some ") {
            for field in line.split(separator: " ") where field.hasPrefix("avg10=") {
                return Double(field.dropFirst(6)).flatMap { $0.isFinite ? $0 : nil }
            }
        }
        return nil
    }
}
