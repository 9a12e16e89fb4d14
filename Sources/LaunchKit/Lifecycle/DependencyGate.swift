/// Whether a service may start, from the states of the services it depends on: one rule for a compose launch and
/// a swarm rollout alike, so a stack gets the same verdict on either engine.
///
/// - A dependency that is ready holds whatever its condition.
/// - `service_started` also holds once the dependency has started (a container on one machine, a task with a
///   container on a swarm), before it is ready.
/// - A failed or blocked dependency blocks its dependent only when it is `required` (the default); an optional one
///   (`required: false`) is passed over, as Compose passes over it. A block names the root failure, not the link.
enum DependencyGate {
    enum Status: Sendable, Equatable {
        case waiting
        case satisfied
        /// Blocked by the failure of this service (the root of a chain of blocks).
        case blocked(String)
    }

    /// What the gate needs to know of one dependency.
    struct Dependee: Sendable, Equatable {
        var state: ServiceState
        /// It has started (a running container, a task with a container), ready or not.
        var started: Bool
    }

    /// `lookup` answers for a service of the stack; a dependency it does not know (not part of this run) holds.
    static func status(of dependencies: [Dependency], _ lookup: (String) -> Dependee?) -> Status {
        var waiting = false
        for dependency in dependencies {
            guard let other = lookup(dependency.service) else { continue }
            switch other.state {
            case .failed:
                if dependency.required { return .blocked(dependency.service) }
            case .blocked(let root):
                if dependency.required { return .blocked(root) }
            case .ready: continue
            case .starting where dependency.condition == .started && other.started: continue
            default: waiting = true
            }
        }
        return waiting ? .waiting : .satisfied
    }
}
