import ArgumentParser
import LaunchKit

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List recent launches with outcome and duration.",
        discussion: "Examples:\n  launch history\n  launch history dev --limit 5")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this environment.", completion: .environments) var environment: String?
    @Option(help: "How many runs to show.") var limit = 20

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let name = try environment.map { try catalog.profile(named: $0).name }
            RunRenderer.history(RunStore(layout: catalog.layout).list(environment: name, limit: limit)).forEach(context.console.data)
            return .success
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one recorded launch: phases, a startup waterfall, failures.",
        discussion: """
            Examples:
              launch report            (the latest run)
              launch report 20261123T0140
              launch report --compare 20261123T0140          (that run against the latest)
              launch report --compare 20261123T0140 20261124 --json
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Run id or unique prefix (default: the latest).") var run: String?
    @Option(help: "Compare this run's time to ready per service with RUN (default: the latest), slowest changes first.")
    var compare: String?
    @Flag(help: "With --compare: write the comparison as JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let store = RunStore(layout: catalog.layout)
            guard let compare else {
                RunRenderer.report(try store.find(run)).forEach(context.console.data)
                return .success
            }
            let comparison = RunComparison(before: try store.find(compare), after: try store.find(run))
            if json {
                context.console.data(try JSONOutput.encode(comparison))
            } else {
                RunRenderer.compare(comparison).forEach(context.console.data)
            }
            return .success
        }
    }
}
