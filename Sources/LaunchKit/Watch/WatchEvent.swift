import Foundation

/// One thing watching saw or did: a service's first state, a change of state, a restart it made, the budget
/// running out. Rendered as a line, a JSON object (`launch.watch.event`), a notification and a metric.
public struct WatchEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Encodable {
        /// Where a service stood when watching began.
        case initial
        /// Its condition changed.
        case change
        /// Watching restarted it (the profile's `watch.restart`).
        case restart
        /// Watching's restart did not bring it back: the engine refused it, or it was not ready within its deadline.
        case restartFailed = "restart-failed"
        /// Past `watch.max` restarts within `watch.window`: watching stopped trying.
        case gaveUp = "gave-up"
    }

    public var kind: Kind
    public var time: Date
    public var service: String
    public var serviceClass: ServiceClass
    public var from: ServiceCondition?
    public var to: ServiceCondition
    /// For a loss of readiness (or a failure found at the start): what the diagnosis explains.
    public var failure: FailureKind?
    /// For a recovery: how long it was not ready.
    public var downSeconds: Double?
    /// The engine's restarts of it seen while watching, and watching's own within the current window.
    public var engineRestarts: Int
    public var watchRestarts: Int
    /// `watch.max` when watching may restart it.
    public var budget: Int?
    public var containers: [String]
    /// Swarm: the nodes its tasks run on, and (when it is not ready) the node its newest failed task was on.
    public var nodes: [String] = []
    public var failedOn: String?

    public var isLoss: Bool { from?.isReady == true && !to.isReady }
    public var isRecovery: Bool { from.map { !$0.isReady } == true && to.isReady }
}
