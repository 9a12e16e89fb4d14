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
        discussion: "Examples:\n  launch report            (the latest run)\n  launch report 20261123T0140")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Run id or unique prefix (default: the latest).") var run: String?

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            RunRenderer.report(try RunStore(layout: catalog.layout).find(run)).forEach(context.console.data)
            return .success
        }
    }
}
