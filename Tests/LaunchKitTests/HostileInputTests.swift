import Foundation
import Testing

@testable import LaunchKit

/// Inputs found by throwing hostile files and signals at the binary: each is refused in words (or survived)
/// without hanging, eating memory, or losing anything of the user's.
@Suite("Hostile inputs: alias bombs, odd files, own files, backups, stray children")
struct HostileInputTests {
    private func problems(_ body: () throws -> Void) -> [ConfigProblem] {
        do {
            try body()
        } catch let error as ConfigurationError {
            return error.problems
        } catch {
            Issue.record("expected a configuration error, got \(error)")
        }
        return []
    }

    @Test func anAliasBombIsRefusedBeforeItIsExpanded() throws {
        // 10^9 values in under 600 bytes ("billion laughs"): refused after a million, not after expanding them.
        var lines = [#"x-a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]"#]
        for level in 1..<9 {
            lines.append("x-a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",") + "]")
        }
        let found = problems { _ = try YAMLTree.parse(lines.joined(separator: "\n"), file: "environments/demo.yml") }
        #expect(found.first?.message.contains("more than \(YAMLTree.maximumNodes) values") == true)
        #expect(found.first?.location.file == "environments/demo.yml")
        // Aliases used as YAML means them are fine.
        let small = try YAMLTree.parse(
            "x-probe: &probe {test: [CMD, true]}\nservices: {a: {healthcheck: *probe}, b: {healthcheck: *probe}}", file: "c.yml")
        #expect(small["services"]?["b"]?["healthcheck"]?["test"] != nil)
    }

    @Test func anAliasBombInAComposeFileIsAProblemOfTheProfile() throws {
        // Compose itself would spend minutes expanding it before saying anything.
        let project = try TemporaryProject()
        try project.writeDemo()
        var lines = [#"x-a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]"#]
        for level in 1..<8 {
            lines.append("x-a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",") + "]")
        }
        try project.write(
            "compose/app.yml", lines.joined(separator: "\n") + "\nservices:\n  db: {image: x, labels: {a: *a7}}\n  web: {image: x}\n")
        let found = problems { _ = try project.catalog().profile(named: "demo") }
        #expect(found.contains { YAMLTree.isExpansionProblem($0) && $0.location.file.hasSuffix("compose/app.yml") }, "\(found)")
    }

    @Test func profilesThatAreNotReadableTextSayWhatStandsThere() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        let environments = project.root + "/environments/"
        try Data([0x6e, 0x61, 0xff, 0xfe]).write(to: URL(fileURLWithPath: environments + "bytes.yml"))
        try FileManager.default.createDirectory(atPath: environments + "folder.yml", withIntermediateDirectories: false)
        #expect(mkfifo(environments + "pipe.yml", 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: environments + "loop.yml", withDestinationPath: "loop2.yml")
        try FileManager.default.createSymbolicLink(atPath: environments + "loop2.yml", withDestinationPath: "loop.yml")
        let catalog = project.catalog()
        let expected = [
            "bytes": "is not UTF-8 text (byte 2 is not)", "folder": "is a directory, not a file",
            "pipe": "is not a regular file (a FIFO, socket or device)", "loop": "cannot read: Too many levels of symbolic links",
        ]
        for (name, message) in expected {
            let found = problems { _ = try catalog.profile(named: name) }
            #expect(found.map(\.message) == [message], "\(name)")
            #expect(found.first?.hint?.isEmpty == false, "\(name)")
        }
        // The other profiles still load.
        #expect(try catalog.profile(named: "demo").name == "demo")
    }

    @Test func aComposeFileThatIsADeviceIsRefusedBeforeAnythingReadsIt() throws {
        // /dev/zero never ends: neither launch nor Compose may be handed it.
        let project = try TemporaryProject()
        try project.writeDemo()
        try FileManager.default.removeItem(atPath: project.root + "/compose/app.yml")
        try FileManager.default.createSymbolicLink(atPath: project.root + "/compose/app.yml", withDestinationPath: "/dev/zero")
        let found = problems { _ = try project.catalog().profile(named: "demo") }
        #expect(found.map(\.message) == ["compose file `app.yml` is not a regular file (a FIFO, socket or device)"])
    }

    @Test func twoFilesForOneEnvironmentAreRefusedRatherThanOneChosen() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        try project.write("environments/demo.yaml", try project.read("environments/demo.yml"))
        let found = problems { _ = try project.catalog().profile(named: "demo") }
        #expect(found.map(\.message) == ["environments/demo.yaml and environments/demo.yml both define the environment `demo`"])
    }

    @Test(arguments: [
        ("compose/app.yml", "a compose file under compose/"), ("./environments/demo.yml", "a file under environments/"),
        (".gitignore", ".gitignore"), (".launch/runs/x", "a file under .launch/"),
    ])
    func anEnvFileMayNotBeOneOfTheProjectsOwnFiles(envFile: String, named: String) throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                env_file: \(envFile)
                secrets: {TOKEN: {length: 16}}
                """)
        let before = try project.read("compose/app.yml")
        let found = problems { _ = try project.catalog().profile(named: "demo") }
        #expect(found.map(\.message) == ["env_file names \(named), which launch itself reads"])
        #expect(try project.read("compose/app.yml") == before)
    }

    @Test func anEnvFileBesideTheComposeFilesIsFine() throws {
        // `compose/.env` is a usual place for one.
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: "name: demo\ncompose: {project: demo, files: [app.yml], profiles: ['*', debug]}\nenv_file: compose/.env\n")
        let profile = try project.catalog().profile(named: "demo")
        #expect(profile.envFile == "compose/.env")
        #expect(profile.compose.profiles == ["*", "debug"])
    }

    @Test func aGitignoreThatIsNotUTF8KeepsEveryByte() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        let original: [UInt8] = Array("# build\nbuild/\n# caf".utf8) + [0xe9] + Array(" notes\n*.log".utf8)
        try Data(original).write(to: URL(fileURLWithPath: project.root + "/.gitignore"))
        let profile = try project.catalog().profile(named: "demo")
        let outcome = try EnvProvisioner(layout: project.layout, profile: profile).provision()
        #expect(outcome.addedGitignore)
        let after = Array(try Data(contentsOf: URL(fileURLWithPath: project.root + "/.gitignore")))
        #expect(Array(after.prefix(original.count)) == original)
        #expect(String(decoding: after, as: UTF8.self).contains("\n.env.*\n"))
        // And a second run finds its lines there: nothing is added twice.
        #expect(try EnvProvisioner(layout: project.layout, profile: profile).provision().addedGitignore == false)
    }

    @Test func aBackupNeverReplacesAnEarlierOne() throws {
        let project = try TemporaryProject()
        let base = project.root + "/.env.demo.backup-20261202T020030Z"
        #expect(FirstRun.freeName(base) == base)
        try project.write(".env.demo.backup-20261202T020030Z", "A=1\n")
        #expect(FirstRun.freeName(base) == base + "-2")
        // A dangling link counts as taken: writing through it would land somewhere else.
        try FileManager.default.createSymbolicLink(atPath: base + "-2", withDestinationPath: "/nonexistent/elsewhere")
        #expect(FirstRun.freeName(base) == base + "-3")
    }

    @Test func everyCallThatCanHangHasADeadline() {
        let smi = NvidiaSMI()
        for command in [smi.queryGPUs(), smi.listGPUs(), smi.computeApps(), smi.topology(), smi.p2p(), NvidiaCTK().cdiList()] {
            #expect(command.timeout == NvidiaSMI.deadline, "\(command)")
        }
        let compose = Compose(project: "p", files: ["a.yml"], envFile: nil)
        for command in [compose.config(), compose.configYAML(), compose.configHash(), compose.configHashes(services: ["a"])] {
            #expect(command.timeout == Compose.configDeadline, "\(command)")
        }
    }

    @Test func aChildThatTimesOutTakesWhatItStartedWithIt() async throws {
        // A shell that starts a grandchild and waits: what `docker` does with the Compose plugin.
        let marker = "launch-test-\(UUID().uuidString.prefix(8))"
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent(marker).path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        // It ignores SIGTERM, as a `docker compose config` busy parsing does.
        let command = Command("/bin/sh", ["-c", "trap '' TERM; sleep 60 & echo $$ $! > \(pidFile); wait"], timeout: .milliseconds(500))
        let output = try await SubprocessRunner().run(command)
        #expect(output.status == 124)
        let pids = try String(contentsOfFile: pidFile, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        try #require(pids.count == 2)
        // Gone (or a zombie waiting for init): not running on; and no longer registered to be stopped.
        // A SIGKILL takes effect when the kernel next runs the process: on a loaded machine, a moment later.
        var gone = false
        for _ in 0..<200 where !gone {
            gone = kill(pids[1], 0) != 0 || Self.isZombie(pids[1])
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone)
        #expect(!ChildProcesses.running.contains(pids[0]))
    }

    @Test(arguments: [
        "10m", "1h30m", "1.5h", "500ms", "-5s", "3μs", "2026-12-01", "2026-12-01T10", "2026-12-01T10:00", "2026-12-01T10:00:00Z",
        "2026-12-01T10:00:00.123456789+02:00", "1764583200", "1764583200.5",
    ])
    func aSinceDockerTakesIsTaken(value: String) {
        #expect(LogStreamer.sinceProblem(value) == nil)
    }

    @Test(arguments: ["1e309s", "nan", "9999999999999999999h", "2026-13-45T99:99:99Z", "10", "yesterday", "", "1m1", "5.s5"])
    func aSinceDockerWouldRefuseIsAUsageError(value: String) {
        // "10" is Unix seconds, fine; the rest are refused with what is accepted.
        if value == "10" {
            #expect(LogStreamer.sinceProblem(value) == nil)
        } else {
            #expect(
                LogStreamer.sinceProblem(value)?.contains("RFC 3339") == true
                    || LogStreamer.sinceProblem(value)?.contains("292 years") == true, "\(value)")
        }
    }

    @Test(arguments: ["-1", "99999999999999999999", "two"])
    func aReplicaCountMustBeACount(value: String) {
        let found = problems { _ = try ComposeModelReader.read(config: "services:\n  a:\n    image: x\n    scale: \(value)\n") }
        #expect(found.map(\.message) == ["services.a.scale must be a whole number from 0 to 10000, not `\(value)`"])
    }

    @Test func aYAMLStyleEnvLineIsTheUsersValueAsCompose() throws {
        // Compose's dotenv reads `KEY: value`; a second, generated KEY= below it would win in Compose.
        let file = EnvFile(parsing: "API_TOKEN: mine\nURL=http://x:1/a\nexport OTHER: 'q'\n")
        #expect(file.resolvedValues == ["API_TOKEN": "mine", "URL": "http://x:1/a", "OTHER": "q"])
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                secrets: {API_TOKEN: {length: 16}}
                """)
        try project.write(".env.demo", "API_TOKEN: mine\n")
        let outcome = try EnvProvisioner(layout: project.layout, profile: try project.catalog().profile(named: "demo")).provision()
        #expect(outcome.addedSecrets.isEmpty)
        #expect(try project.read(".env.demo") == "API_TOKEN: mine\n")
    }

    @Test(arguments: [
        ("summary: [a]", "summary must be a single value"), ("aliases: [[a]]", "each entry of aliases must be a single value"),
        ("extends: {a: b}", "extends must be a single value"),
        ("compose: {project: demo, files: [app.yml], profiles: [-x]}", "compose.profiles: `-x` is not a Compose profile name"),
    ])
    func aValueOfTheWrongShapeIsAProblemNotNothing(line: String, message: String) throws {
        let project = try TemporaryProject()
        let compose = line.hasPrefix("compose:") ? line : "compose: {project: demo, files: [app.yml]}\n\(line)"
        try project.writeDemo(profile: "name: demo\n\(compose)\n")
        let found = problems { _ = try project.catalog().profile(named: "demo") }
        #expect(found.map(\.message).contains(message), "\(found)")
    }

    @Test func aPreflightURLThatCannotBeSentIsSaidAsSuch() async throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                preflight: [{name: local, http: {url: "http://:99999/"}}, {name: unset, http: {url: "http://${HOST}/x"}}]
                """)
        let profile = try project.catalog().profile(named: "demo")
        // The second one's host comes from a variable that is not set.
        #expect(profile.preflight.count == 2)
        for spec in profile.preflight {
            let result = await ProfileChecks.run(spec, profile: profile, values: [:], redact: .none, network: true)
            #expect(result.status == .fail)
            #expect(result.evidence.hasSuffix("not an http(s) URL with a host and a port from 1 to 65535"), "\(result.evidence)")
        }
    }

    @Test func aLongExtendsChainIsRefusedQuickly() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        for level in 0..<40 {
            try project.write("environments/p\(level).yml", "name: p\(level)\nextends: \(level == 0 ? "demo" : "p\(level - 1)")\n")
        }
        let catalog = project.catalog()
        #expect(try catalog.profile(named: "p20").name == "p20")
        let found = problems { _ = try catalog.profile(named: "p39") }
        #expect(found.map(\.message) == ["`extends` chains more than \(ProfileLoader.deepestExtends) profiles deep"])
    }

    @Test func reportsThatCannotBeReadAreNotCalledNoRuns() throws {
        let project = try TemporaryProject()
        try project.write(".launch/runs/20261202T000000.000Z-demo.json", "{not json")
        do {
            _ = try RunStore(layout: project.layout).find(nil)
            Issue.record("expected a usage error")
        } catch let error as UsageError {
            #expect(error.summary.contains("1 run report(s) in .launch/runs, none that launch can read"), "\(error.summary)")
        }
    }

    @Test func evidenceAContainerPrintedCannotDriveTheTerminal() {
        // A title change, a screen clear and a colour, as a failing container printed them.
        let line = "title\u{1B}]0;PWNED\u{07} clear\u{1B}[2J\u{1B}[31mred\r"
        let shown = Text.printable(line, limit: 500)
        #expect(!shown.unicodeScalars.contains { $0.properties.generalCategory == .control })
        #expect(shown.hasSuffix("red"))
        #expect(Text.printable(String(repeating: "x", count: 16_383), limit: 500).count == 500)
    }

    @Test func onlyAPortClashIsAdvisedAsABusyPort() {
        // Docker 20.10's words for a taken port, and its words for a NUL in an env value (no port involved).
        #expect(
            Diagnostics.isPortClash(
                "driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:8080 failed: port is already allocated"))
        #expect(Diagnostics.isPortClash("listen tcp4 0.0.0.0:80: bind: address already in use"))
        #expect(!Diagnostics.isPortClash("OCI runtime create failed: invalid argument: setenv: invalid argument"))
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return true }
        return state == "Z"
    }
}

@Suite("Hostile text in profiles")
struct HostileProfileTextTests {
    @Test func aSummaryWithEscapeSequencesIsPrintedAsTextByListAndPlan() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                summary: "evil \\e]0;pwned\\a title \\e[2J cleared \\e[31mred"
                compose: {project: demo, files: [app.yml]}
                """)
        let catalog = project.catalog()
        let summary = try catalog.profile(named: "demo").summary
        #expect(summary.contains("\u{1B}"), "the fixture must really carry an escape")
        let listed = PlanRenderer.list(catalog).joined(separator: "\n")
        #expect(!listed.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(listed.debugDescription)")
        #expect(listed.contains("evil"))
    }
}
