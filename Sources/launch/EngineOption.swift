import ArgumentParser
import LaunchKit

extension Orchestration: ExpressibleByArgument {}

/// `--engine compose|swarm`, shared by the commands that work on both.
struct EngineOption: ParsableArguments {
    @Option(
        help:
            "What runs the stack: compose (one engine) or swarm (the engine must be a swarm manager). Default: the profile's `engine`, else compose."
    )
    var engine: Orchestration?

    func resolve(_ profile: Profile) -> Orchestration { engine ?? profile.engine }
}
