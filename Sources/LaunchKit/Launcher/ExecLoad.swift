/// How busy the engine is right now, read from how long it takes to spawn launch's probes.
///
/// A probe is an exec: the engine forks a runtime process into the container, tens of milliseconds of CPU each
/// (measured here: about 60 ms on Docker 20.10, 2 cores) and 0.05–0.1 s of wall time when the engine is idle. In a
/// start storm the same spawn takes one to three seconds (forty services with 1 s checks keep two cores busy on the
/// engine's own execs alone). The spawn time is taken from exec create to exec started, without the command's own
/// run time, so a slow check does not read as a busy engine.
struct ExecLoad: Sendable, Equatable {
    /// Spawns up to this long are an idle engine's; stats reads are cut in proportion beyond it.
    static let idleSeconds = 0.25
    /// Weight of the newest spawn in the moving average: a storm shows within two or three answers.
    static let weight = 0.3

    /// What a spawn takes now (a moving average of the recent ones; zero before the first answer).
    private(set) var spawnSeconds = 0.0
    private var answers = 0

    mutating func record(spawnSeconds spawn: Double) {
        guard spawn.isFinite, spawn >= 0 else { return }
        spawnSeconds = answers == 0 ? spawn : spawnSeconds * (1 - Self.weight) + spawn * Self.weight
        answers += 1
    }

    /// The share of launch's usual stats reads the engine can take now: all of them while it spawns within
    /// `idleSeconds`, a quarter at a second.
    var readShare: Double {
        spawnSeconds <= Self.idleSeconds ? 1 : Self.idleSeconds / spawnSeconds
    }
}
