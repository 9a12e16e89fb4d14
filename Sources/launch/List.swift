import ArgumentParser
import LaunchKit

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the environments this project defines.",
        discussion: "Example:\n  launch list --json")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Write JSON to stdout.") var json = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            if json {
                context.console.data(try JSONOutput.encode(EnvironmentList(catalog)))
            } else {
                PlanRenderer.list(catalog).forEach(context.console.data)
            }
            return .success
        }
    }
}
