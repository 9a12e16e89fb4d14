import Foundation
import Testing

@testable import LaunchKit

/// Global options before the command, next steps that run from where they were printed, `-p`.
@Suite("Command line conventions")
struct CommandLineTests {
    @Test(arguments: [
        (["--project-dir", "examples/quickstart", "status", "demo"], ["status", "--project-dir", "examples/quickstart", "demo"]),
        (["-H", "unix:///var/run/docker.sock", "status"], ["status", "-H", "unix:///var/run/docker.sock"]),
        (["--project-dir=x", "-p", "mine", "demo", "--no-network"], ["demo", "--project-dir=x", "-p", "mine", "--no-network"]),
        (["-c", "remote", "exec", "dev", "db", "--", "psql"], ["exec", "-c", "remote", "dev", "db", "--", "psql"]),
        (["status", "demo", "--project-dir", "x"], ["status", "demo", "--project-dir", "x"]),
        (["--project-dir", "x", "help", "status"], ["help", "status"]),
        (["--project-dir", "x", "--help"], ["--project-dir", "x", "--help"]),
        (["--version"], ["--version"]),
        (["--project-dir"], ["--project-dir"]),
        (["demo", "-p", "x"], ["demo", "-p", "x"]),
        (["--verbose", "-H", "tcp://h:2375", "plan", "demo"], ["plan", "--verbose", "-H", "tcp://h:2375", "demo"]),
    ])
    func globalOptionsBeforeTheCommandMoveBehindIt(line: [String], expected: [String]) {
        #expect(GlobalArguments.hoisted(line) == expected)
    }

    @Test func nothingButGlobalOptionsIsLaunchAlone() {
        #expect(GlobalArguments.split([]).rest.isEmpty)
        #expect(GlobalArguments.split(["--project-dir", "x"]) == (["--project-dir", "x"], []))
    }

    @Test func nextStepsCarryHowTheUserReachedTheProject() {
        var console = Console(isInteractive: false, useColor: false, out: { _ in }, err: { _ in })
        #expect(console.command("status demo") == "launch status demo")
        console.invocation = GlobalArguments.invocation(
            projectDirectory: "examples/my stack", host: nil, context: "remote", projectName: "mine")
        #expect(console.invocation == "launch --project-dir 'examples/my stack' --context remote -p mine")
        #expect(console.command("status demo") == console.invocation + " status demo")
        #expect(
            console.runnable("run `launch logs demo api` or `launch down demo`")
                == "run `\(console.invocation) logs demo api` or `\(console.invocation) down demo`")
        #expect(console.runnable("launch counts it ready once it runs") == "launch counts it ready once it runs")
        #expect(
            console.runnable("run `launch --project-dir examples/quickstart demo` first")
                == "run `launch --project-dir examples/quickstart demo` first")
        #expect(Command.shellQuoted("it's") == #"'it'\''s'"#)
    }

    @Test func aProjectNameIsCheckedAsComposeChecksOne() throws {
        #expect(Profile.isProjectName("alice-dev_2"))
        #expect(!Profile.isProjectName("Alice") && !Profile.isProjectName("-x") && !Profile.isProjectName(""))
    }

    @Test func theTraceHidesSecretLookingValuesAndQuotesWords() {
        let command = Command("docker", ["run", "-e", "DB_PASSWORD=hunter2", "-e", "MODE=dev", "--label", "a b"])
        #expect(DebugTrace.describe(command) == "docker run -e 'DB_PASSWORD=***' -e MODE=dev --label 'a b'")
    }

    @Test func logsAreMadePrintableUnlessRawAndTakeComposeFlags() {
        var options = LogStreamer.Options()
        let line = "  at frame\u{1B}]0;owned\u{07} \u{1B}[31mred secret-value"
        let redact = Redactor(values: ["secret-value"])
        let shown = options.shown(line, redact: redact)
        #expect(shown.hasPrefix("  at frame") && shown.hasSuffix("red ***") && !shown.contains("\u{1B}") && !shown.contains("\u{07}"))
        options.raw = true
        #expect(options.shown(line, redact: redact) == "  at frame\u{1B}]0;owned\u{07} \u{1B}[31mred ***")
        let logs = Docker().logs(container: "c", tail: 5, since: "10m", until: "5m", timestamps: true)
        #expect(logs.arguments == ["logs", "--tail", "5", "--since", "10m", "--until", "5m", "--timestamps", "c"])
    }
}
