import Foundation
import Synchronization

/// What `--metrics` serves, in Prometheus's text exposition format (version 0.0.4): one family per figure, each
/// series labelled by environment, service and class, rendered from a snapshot of the watch at scrape time.
public struct WatchMetrics: Sendable {
    /// What the sampler read of one service's running containers (summed over replicas).
    public struct Sample: Sendable, Equatable {
        public var memoryBytes: Int64 = 0
        public var memoryLimitBytes: Int64?
        /// Fraction of CFS periods throttled since the previous sample; nil without a CPU limit or a previous sample.
        public var cpuThrottledRatio: Double?
        /// The last healthcheck probe's duration, from the engine's health log.
        public var probeSeconds: Double?
        public init() {}
    }

    public var environment: String
    public var project: String
    public var engine: String
    public var version: String
    public var services: [String: WatchMachine.Watched]
    public var samples: [String: Sample]
    public var events: Int
    public var startedAt: Date
    /// A service's time to ready in the launch that watching follows.
    public var timeToReady: [String: Double]

    public init(environment: String, project: String, engine: String, version: String, startedAt: Date) {
        self.environment = environment
        self.project = project
        self.engine = engine
        self.version = version
        self.startedAt = startedAt
        services = [:]
        samples = [:]
        events = 0
        timeToReady = [:]
    }

    /// `\`, `"` and newlines escaped, as the format asks of label values.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    public func render(now: Date) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ values: [(String, Double)]) {
            guard !values.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in values { out += "\(name){\(labels)} \(Self.number(value))\n" }
        }
        let base = "environment=\"\(Self.escape(environment))\",project=\"\(Self.escape(project))\""
        let names = services.keys.sorted()
        func labels(_ name: String) -> String {
            let serviceClass = services[name]?.serviceClass.rawValue ?? "core"
            return "\(base),service=\"\(Self.escape(name))\",class=\"\(serviceClass)\""
        }
        func each(_ value: (String, WatchMachine.Watched) -> Double?) -> [(String, Double)] {
            names.compactMap { name in services[name].flatMap { value(name, $0) }.map { (labels(name), $0) } }
        }
        family(
            "launch_info", "gauge", "The launch that watches: version and engine.",
            [("\(base),version=\"\(Self.escape(version))\",engine=\"\(Self.escape(engine))\"", 1)])
        family(
            "launch_service_up", "gauge", "1 when a process of the service runs (ready or not).",
            each { $1.condition?.isUp == true ? 1 : 0 })
        family(
            "launch_service_ready", "gauge", "1 when the service passes its own readiness check.",
            each { $1.condition?.isReady == true ? 1 : 0 })
        family(
            "launch_service_restarts_total", "counter", "Restarts seen while watching: the engine's and watch's own.",
            each { Double($1.engineRestartsTotal &+ $1.watchRestartsTotal) })
        family(
            "launch_service_watch_restarts_total", "counter", "Restarts watch made within its budget (watch.restart).",
            each { Double($1.watchRestartsTotal) })
        family(
            "launch_service_time_to_ready_seconds", "gauge",
            "How long the service took to become ready in the launch that watching follows.",
            each { name, _ in timeToReady[name] })
        family(
            "launch_service_last_downtime_seconds", "gauge", "How long the service was not ready, the last time it recovered.",
            each { $1.lastDownSeconds })
        family(
            "launch_service_seconds_since_ready", "gauge", "Seconds the service has been ready; absent while it is not.",
            each { _, service in service.condition?.isReady == true ? service.readySince.map { max(0, now.timeIntervalSince($0)) } : nil })
        family(
            "launch_service_probe_duration_seconds", "gauge", "Duration of the service's last healthcheck probe.",
            each { name, _ in samples[name]?.probeSeconds })
        family(
            "launch_service_cpu_throttled_ratio", "gauge", "Fraction of CPU periods throttled since the previous sample.",
            each { name, _ in samples[name]?.cpuThrottledRatio })
        family(
            "launch_service_memory_bytes", "gauge", "Memory used by the service's running containers.",
            each { name, service in service.condition?.isUp == true ? samples[name].map { Double($0.memoryBytes) } : nil })
        family(
            "launch_service_memory_limit_bytes", "gauge", "The service's memory limit (summed over replicas).",
            each { name, _ in samples[name]?.memoryLimitBytes.map(Double.init) })
        family("launch_watch_events_total", "counter", "Events watch reported.", [(base, Double(events))])
        family("launch_watch_start_time_seconds", "gauge", "When watching began (Unix time).", [(base, startedAt.timeIntervalSince1970)])
        return out
    }
}

/// The watch's figures, shared between the loop that updates them, the sampler and the server that renders them.
final class SharedMetrics: Sendable {
    private let state: Mutex<WatchMetrics>
    init(_ metrics: WatchMetrics) { state = Mutex(metrics) }
    func update(_ change: (inout WatchMetrics) -> Void) { state.withLock { change(&$0) } }
    func render(now: Date) -> String { state.withLock { $0.render(now: now) } }
}
