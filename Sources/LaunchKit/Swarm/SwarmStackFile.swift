import Foundation
import Yams

/// Turns the model `docker compose config` resolved (interpolated, env files read, overlay merged) into a file
/// `docker stack deploy` accepts, with every service held back: long-running services at 0 replicas, one-shot
/// jobs as `replicated-job` with 0 completions. Docker still does the conversion to services, networks,
/// configs and secrets; launch only changes how many of each run, and when.
public enum SwarmStackFile {
    /// Where a launch writes the stack file it deploys (it holds the interpolated secrets: private, like the env file).
    public static func directory(_ layout: ProjectLayout) -> String { layout.stateDirectory + "/swarm" }
    public static func path(_ layout: ProjectLayout, stack: String) -> String { directory(layout) + "/\(stack).yml" }

    public struct Problem: LaunchFailure {
        public var summary: String
        public var evidence: [String] = []
        public var hint: String? { "check `docker compose config` for the environment; `launch plan` shows the model" }
        public var exitCode: ExitStatus { .invalidConfiguration }
    }

    /// The profile's `health.retries` and `health.backoff` as the swarm's restart policy, wherever the compose file
    /// does not set one: a replaced task waits `delay` (as a retry on one machine waits its backoff); a job is run
    /// again at most `attempts` times after it failed. A long-running service gets no `max_attempts`: that limit
    /// would outlive the launch and one day stop the swarm from healing it; the launch counts its attempts itself.
    public struct Retry: Sendable, Equatable {
        public var attempts: Int
        public var delay: Duration
        public init(attempts: Int, delay: Duration) {
            self.attempts = attempts
            self.delay = delay
        }
        public static let none = Retry(attempts: 0, delay: .seconds(5))
    }

    /// What the swarm will really do for each service when its task fails, read from the stack file launch deploys
    /// (its `deploy.restart_policy`: the compose file's own, completed by launch) with the profile's `retry` as the
    /// launch's own limit: how many replacements a launch may wait for, and how long the swarm waits before each.
    /// `condition: none` is no retry, `max_attempts` caps it (0 is the swarm's "no limit"), `delay` is the delay.
    /// Derived from the file, so what the rollout waits for is what the file tells the swarm to do.
    public static func retries(stackFile: String, retry: Retry) throws -> [String: Retry] {
        guard let root = try Yams.load(yaml: stackFile) as? [String: Any], let services = root["services"] as? [String: Any] else {
            return [:]
        }
        var plans: [String: Retry] = [:]
        for (name, value) in services {
            let policy = ((value as? [String: Any])?["deploy"] as? [String: Any])?["restart_policy"] as? [String: Any] ?? [:]
            var plan = retry
            if policy["condition"] as? String == "none" { plan.attempts = 0 }
            if let most = (policy["max_attempts"] as? Int) ?? (policy["max_attempts"] as? String).flatMap(Int.init), most > 0 {
                plan.attempts = min(plan.attempts, most)
            }
            if let delay = (policy["delay"] as? String).flatMap(DurationText.parse) { plan.delay = delay }
            plans[name] = plan
        }
        return plans
    }

    /// `jobs`: services that run once (awaited with `service_completed_successfully`, or `launch.job`).
    /// `gpus`: GPUs per service (`SwarmGPU.demand`), reserved as the `NVIDIA-GPU` generic resource instead of the
    /// compose device request stack files refuse.
    public static func held(resolvedYAML: String, jobs: Set<String>, gpus: [String: Int] = [:], retry: Retry = .none) throws -> String {
        try Yams.dump(object: heldTree(resolvedYAML: resolvedYAML, jobs: jobs, gpus: gpus, retry: retry), sortKeys: true)
    }

    /// The file for a stack that already runs: replicas as the compose file says (nothing held back), and a
    /// rolling update with automatic rollback wherever the compose file does not say otherwise — the new task
    /// starts before the old one stops (`order: start-first`), a task that fails within `monitors[service]` of
    /// its update makes the swarm roll the service back (`failure_action: rollback`), and the rollback also
    /// starts first. Jobs have no rolling update: a deploy runs them again.
    /// `leaving`: services left out of the file, so a deploy of it leaves them running as they are (`docker stack
    /// deploy` removes nothing without `--prune`): an update's first deploy, before its jobs completed.
    public static func updating(
        resolvedYAML: String, jobs: Set<String>, monitors: [String: Duration], gpus: [String: Int] = [:], retry: Retry = .none,
        leaving: Set<String> = []
    ) throws -> String {
        var tree = try updatingTree(resolvedYAML: resolvedYAML, jobs: jobs, monitors: monitors, gpus: gpus, retry: retry)
        if !leaving.isEmpty, var services = tree["services"] as? [String: Any] {
            for name in leaving { services.removeValue(forKey: name) }
            tree["services"] = services
        }
        return try Yams.dump(object: tree, sortKeys: true)
    }

    /// Where an update with jobs writes its two deploys: the first without the services held for its jobs, the second
    /// without the jobs (`docker stack deploy` runs a job again whenever it is in the file).
    public static func jobsFirstPath(_ layout: ProjectLayout, stack: String) -> String { directory(layout) + "/\(stack).jobs-first.yml" }
    public static func afterJobsPath(_ layout: ProjectLayout, stack: String) -> String { directory(layout) + "/\(stack).after-jobs.yml" }

    static func updatingTree(
        resolvedYAML: String, jobs: Set<String>, monitors: [String: Duration], gpus: [String: Int] = [:], retry: Retry = .none
    ) throws -> [String: Any] {
        var root = try heldTree(resolvedYAML: resolvedYAML, jobs: jobs, hold: false, gpus: gpus, retry: retry)
        guard var services = root["services"] as? [String: Any] else { return root }
        for (name, value) in services where !jobs.contains(name) {
            guard var service = value as? [String: Any] else { continue }
            var deploy = service["deploy"] as? [String: Any] ?? [:]
            // A service holding GPUs (or a host port) cannot start its replacement beside itself: the new task would
            // wait for what the old one holds. It is stopped first.
            let exclusive = (gpus[name] ?? 0) > 0 || Self.publishesHostPorts(service)
            var update = deploy["update_config"] as? [String: Any] ?? [:]
            update["order"] = update["order"] ?? (exclusive ? "stop-first" : "start-first")
            update["failure_action"] = update["failure_action"] ?? "rollback"
            if update["monitor"] == nil, let monitor = monitors[name] {
                update["monitor"] = "\(max(Int(monitor.seconds * 1000), 1000))ms"
            }
            deploy["update_config"] = update
            var rollback = deploy["rollback_config"] as? [String: Any] ?? [:]
            rollback["order"] = rollback["order"] ?? (exclusive ? "stop-first" : "start-first")
            deploy["rollback_config"] = rollback
            service["deploy"] = deploy
            services[name] = service
        }
        root["services"] = services
        return root
    }

    static func heldTree(
        resolvedYAML: String, jobs: Set<String>, hold: Bool = true, gpus: [String: Int] = [:], retry: Retry = .none
    ) throws -> [String: Any] {
        guard var root = try Yams.load(yaml: resolvedYAML) as? [String: Any],
            var services = root["services"] as? [String: Any]
        else { throw Problem(summary: "the resolved compose model has no services") }
        // Compose's own project name: the stack name replaces it.
        root.removeValue(forKey: "name")
        for (name, value) in services {
            guard var service = value as? [String: Any] else { continue }
            // Stack files take `depends_on` only as a list (and ignore it): order is launch's job.
            if let dependsOn = service["depends_on"] as? [String: Any] {
                service["depends_on"] = dependsOn.keys.sorted()
            }
            var deploy = service["deploy"] as? [String: Any] ?? [:]
            var restart = deploy["restart_policy"] as? [String: Any] ?? [:]
            if jobs.contains(name) {
                deploy["mode"] = "replicated-job"
                // A job that fails is run again `retry.attempts` times at most, not restarted forever by the swarm.
                if restart["condition"] == nil && restart["max_attempts"] == nil {
                    restart["condition"] = retry.attempts > 0 ? "on-failure" : "none"
                    if retry.attempts > 0 { restart["max_attempts"] = retry.attempts }
                }
            }
            if restart["delay"] == nil { restart["delay"] = "\(max(Int(retry.delay.seconds * 1000), 0))ms" }
            deploy["restart_policy"] = restart
            if hold { deploy["replicas"] = 0 }
            let count = gpus[name] ?? 0
            var resources = deploy["resources"] as? [String: Any] ?? [:]
            var reservations = resources["reservations"] as? [String: Any] ?? [:]
            if reservations["devices"] != nil || count > 0 {
                // Stack files refuse device reservations; GPUs become the generic resource (other devices cannot be
                // scheduled by a swarm: SwarmChecks refuses such a stack before this file is written).
                reservations.removeValue(forKey: "devices")
                if count > 0 {
                    var generic = reservations["generic_resources"] as? [Any] ?? []
                    generic.append(["discrete_resource_spec": ["kind": SwarmChecks.gpuResource, "value": count]])
                    reservations["generic_resources"] = generic
                }
                resources["reservations"] = reservations
                deploy["resources"] = resources
            }
            // CDI GPUs named under the service's `devices:` are part of that count now, not devices of the node.
            if count > 0, let devices = service["devices"] as? [Any] {
                let rest = devices.filter { entry in
                    let text = (entry as? String) ?? ((entry as? [String: Any])?["source"] as? String) ?? ""
                    return !text.hasPrefix(CDIName.nvidiaGPU + "=")
                }
                if rest.isEmpty { service.removeValue(forKey: "devices") } else { service["devices"] = rest }
            }
            service["deploy"] = deploy
            services[name] = service
        }
        root["services"] = services
        // Compose names the default network `<project>_default`; the stack prefixes its own name.
        if var networks = root["networks"] as? [String: Any] {
            for (name, value) in networks {
                guard var network = value as? [String: Any], network["external"] as? Bool != true else { continue }
                network.removeValue(forKey: "name")
                networks[name] = network
            }
            root["networks"] = networks
        }
        return root
    }

    /// `ports:` entries published in host mode (long syntax `mode: host`).
    static func publishesHostPorts(_ service: [String: Any]) -> Bool {
        (service["ports"] as? [Any] ?? []).contains { ($0 as? [String: Any])?["mode"] as? String == "host" }
    }
}
