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
              launch report --html run.html             (a page to open, print or send)
              launch report 20261123T0140 --trace-file trace.json   (OTLP/JSON for Jaeger, Tempo, a collector)
              launch report --json                      (the run report itself)
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Run id or unique prefix (default: the latest).") var run: String?
    @Option(help: "Compare this run's time to ready per service with RUN (default: the latest), slowest changes first.")
    var compare: String?
    @Flag(help: "Write the run report (with --compare: the comparison) as JSON to stdout.") var json = false
    @Option(help: ArgumentHelp("Write the run as a self-contained HTML page.", valueName: "file"), completion: .file(extensions: ["html"]))
    var html: String?
    @Option(
        help: ArgumentHelp("Write the run as an OpenTelemetry trace (OTLP/JSON).", valueName: "file"),
        completion: .file(extensions: ["json"])
    )
    var traceFile: String?

    func validate() throws {
        if compare != nil && (html != nil || traceFile != nil) {
            throw ValidationError("--html and --trace-file write one run: give them without --compare")
        }
    }

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let store = RunStore(layout: catalog.layout)
            guard let compare else {
                let recorded = try store.find(run)
                if html != nil || traceFile != nil {
                    return try write(recorded, store: store, catalog: catalog, context: context)
                }
                if json {
                    context.console.data(try store.text(recorded.id))
                } else {
                    RunRenderer.report(recorded).forEach(context.console.data)
                }
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

    /// The page and the trace of a recorded run, redacted with its environment's secrets where the profile still
    /// exists (the report itself was redacted when it was written).
    func write(_ recorded: RecordedRun, store: RunStore, catalog: ProfileCatalog, context: LaunchContext) throws -> ExitStatus {
        let redact =
            (try? catalog.profile(named: recorded.environment)).map {
                EnvProvisioner(layout: catalog.layout, profile: $0).redactor(environment: context.environment)
            } ?? .none
        let history = html == nil ? [] : store.list(environment: recorded.environment)
        for file in RunArtifacts(htmlPath: html, tracePath: traceFile).files(recorded, history: history, redact: redact) {
            context.console.say(
                "wrote \(try RunArtifacts.write(try file.make(), to: file.path, workingDirectory: context.workingDirectory))")
        }
        return .success
    }
}
