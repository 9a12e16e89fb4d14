import ArgumentParser
import LaunchKit

/// `--report-html` and `--trace-file`, for the commands that launch.
struct RunArtifactOptions: ParsableArguments {
    @Option(
        name: .customLong("report-html"), help: ArgumentHelp("Also write the run as a self-contained HTML page.", valueName: "file"),
        completion: .file(extensions: ["html"]))
    var html: String?
    @Option(
        help: ArgumentHelp(
            "Also write the run as an OpenTelemetry trace (OTLP/JSON). OTEL_EXPORTER_OTLP_ENDPOINT sends it to a collector.",
            valueName: "file"), completion: .file(extensions: ["json"]))
    var traceFile: String?

    var artifacts: RunArtifacts { RunArtifacts(htmlPath: html, tracePath: traceFile) }
}
