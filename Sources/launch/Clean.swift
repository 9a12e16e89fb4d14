import ArgumentParser
import Foundation
import LaunchKit

struct Clean: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune stopped containers, dangling images and build cache (never volumes).",
        discussion: """
            Always shows the dry run first: Docker's disk usage and every object that would go. On a terminal it \
            then asks before pruning; elsewhere it needs --yes. `launch <environment>` prunes the same way on its \
            own when more than the profile's cleanup.reclaimable_percent (default 30) is prunable.

            Examples:
              launch clean --dry-run
              launch clean --yes
              launch clean --yes --label com.example.ci=true
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Show what would be removed and change nothing.") var dryRun = false
    @Flag(help: "Prune without asking.") var yes = false
    @Flag(help: "Write the report as JSON to stdout (never prompts).") var json = false
    @Option(help: "Prune only containers and images with this label (key or key=value); build cache is left alone.")
    var label: String?

    func run() async throws {
        try await execute(global) { context in
            let cleanup = Cleanup(context: context, label: label)
            let preview = try await cleanup.prune(dryRun: true)
            if json && (dryRun || !yes) {
                context.console.data(try JSONOutput.encode(preview))
            } else if !json {
                CleanupRenderer.lines(preview).forEach(context.console.data)
            }
            if dryRun { return .success }
            if preview.usage.candidates?.isEmpty ?? (preview.usage.prunable.bytes == 0) {
                context.console.say("nothing to prune")
                return .success
            }
            if !yes {
                guard context.console.isInteractive && !json else {
                    throw UsageError(
                        "not pruning without confirmation", evidence: ["no terminal to ask on, and --yes was not given"],
                        hint: "run `launch clean --yes` to prune what is listed above")
                }
                context.console.raw("Prune these now? Volumes stay. [y/N] ")
                let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    context.console.say("nothing pruned")
                    return .success
                }
            }
            let report = try await cleanup.prune(dryRun: false)
            if json {
                context.console.data(try JSONOutput.encode(report))
            } else {
                context.console.data("")
                CleanupRenderer.lines(report).filter { !$0.isEmpty }.drop { !$0.hasPrefix("Pruned:") }
                    .forEach(context.console.data)
            }
            return report.failed ? .launchFailed : .success
        }
    }
}
