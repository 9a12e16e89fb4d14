import Foundation

/// What an image says about its own health: not here yet (decided after a pull), none, or a HEALTHCHECK.
public enum ImageHealthcheck: Sendable, Equatable {
    case absent
    case none
    case check(ContainerDetails.Healthcheck)

    /// `docker image inspect --format '{{json .Config.Healthcheck}}'`: `null`, or the engine's object.
    static func parse(_ text: String) -> ImageHealthcheck {
        ImageHealthcheck(stored: try? JSONDecoder().decode(ContainerDetails.Healthcheck.self, from: Data(text.utf8)))
    }

    /// What an image or a created container stores: no test, an empty one or `NONE` (switched off) is none.
    init(stored check: ContainerDetails.Healthcheck?) {
        guard let check, let test = check.test, !test.isEmpty, test.first != "NONE" else {
            self = .none
            return
        }
        self = .check(check)
    }
}
