import Foundation

/// Whether the services a failed update put back run their previous version again, decided from polls and
/// nothing else: pure, so every rule below is unit-tested without a swarm; `SwarmLauncher.restore` asks the swarm
/// and feeds what it found.
///
/// A service is back when its spec is the previous one again — for one whose tasks were replaced, once the swarm
/// has also completed its rollback of them (`respawning`) — and every previous replica is running (healthy, where
/// it has a healthcheck: a swarm task reports `running` only then). A rollback the swarm paused is a failure now;
/// anything still not back when the driver's time is up is a failure that says what the last poll found.
struct SwarmRestoreWatch: Sendable {
    /// What one poll of a service found: its current state on the swarm (nil: it did not answer) and how many of
    /// its tasks run.
    struct Poll: Sendable {
        var current: SwarmService?
        var running: Int
    }

    /// The services still to come back, and those of them whose tasks go back too.
    private(set) var waiting: [SwarmService]
    let respawning: Set<String>
    private(set) var restored: [String] = []
    private(set) var failed: [String] = []
    /// What the last look at each service still waiting found: the evidence if it never settles.
    private(set) var lastSeen: [String: String] = [:]

    init(restoring: [SwarmService], respawning: Set<String>) {
        self.waiting = restoring
        self.respawning = respawning
    }

    var finished: Bool { waiting.isEmpty }

    /// One round of polls, one per service still waiting (by id; a service missing from `polls` did not answer).
    mutating func observe(_ polls: [String: Poll]) {
        var still: [SwarmService] = []
        for old in waiting {
            let poll = polls[old.id] ?? Poll(current: nil, running: 0)
            let current = poll.current
            if current?.update?.state == "rollback_paused" {
                failed.append(
                    "service \(old.name): the swarm paused its rollback (\(current?.update?.message ?? "no message")); `docker service ps --no-trunc \(old.name)` shows why"
                )
                continue
            }
            let settled =
                current.map { current in
                    respawning.contains(old.id)
                        ? SwarmService.sameTasks(current.spec, old.spec) && current.update?.state == "rollback_completed"
                        : SwarmService.sameSpec(current.spec, old.spec)
                } ?? false
            if settled && poll.running >= old.replicas {
                restored.append(old.name)
            } else {
                still.append(old)
                lastSeen[old.name] = "update \(current?.update?.state ?? "unknown"), \(poll.running) of \(old.replicas) replicas running"
            }
        }
        waiting = still
    }

    /// The report's errors once the driver stops waiting after `limit`: the paused rollbacks, then each service
    /// not back yet with what the last poll found.
    func errors(after limit: Duration) -> [String] {
        failed
            + waiting.map {
                "service \($0.name): not back on its previous version after \(DurationText.format(limit)) (\(lastSeen[$0.name] ?? "no answer from the swarm")); `docker service ps --no-trunc \($0.name)` shows its tasks"
            }
    }
}
