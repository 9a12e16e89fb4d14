import Foundation
import Testing

@testable import LaunchKit

@Suite("Env files and secrets")
struct EnvFileTests {
    @Test func parsesEntriesCommentsQuotesAndBadLines() {
        let file = EnvFile(
            parsing: """
                # comment
                export A=1
                B = "two words"
                C='single # not a comment'
                D=plain # trailing comment

                not a line
                E=
                """)
        #expect(file.values == ["A": "1", "B": "two words", "C": "single # not a comment", "D": "plain", "E": ""])
        #expect(file.malformedLines.map(\.line) == [7])
        #expect(file.text.hasPrefix("# comment\nexport A=1\n"))
    }

    @Test func addingKeepsExistingLinesAndOrder() {
        let original = "# keep me\nZ=26\nA=old\n"
        var file = EnvFile(parsing: original)
        let added = file.add([("A", "new"), ("B", "b value")], heading: "added")
        #expect(added == ["B"])
        #expect(file.text.hasPrefix(original))
        #expect(file.values["A"] == "old")
        #expect(file.values["B"] == "b value")
        #expect(file.text.hasSuffix("# added\nB='b value'\n"))
    }

    @Test func roundTripsByteForByte() {
        for text in ["A=1", "A=1\n", "\n\n# x\nA=1\n\n", ""] {
            #expect(EnvFile(parsing: text).text == text)
        }
    }

    @Test func secretsUseTheURLSafeAlphabetLengthAndPrefix() {
        let generator = SecretGenerator()
        let secret = generator.generate(length: 40, prefix: "sk-")
        #expect(secret.hasPrefix("sk-"))
        #expect(secret.count == 43)
        #expect(secret.dropFirst(3).allSatisfy { SecretGenerator.alphabet.contains($0) })
        #expect(generator.generate(length: 32) != generator.generate(length: 32))
        // Over many draws every symbol of the alphabet shows up: the mapping is not biased toward a subset.
        let many = (0..<200).map { _ in generator.generate(length: 64) }.joined()
        #expect(Set(many).count == 64)
    }

    private func project(secrets: String = "{DB_PASSWORD: {length: 24}, API_KEY: {length: 40, prefix: \"sk-\"}}")
        throws -> (TemporaryProject, Profile)
    {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                variables: {MODE: fast, GREETING: hello world}
                secrets: \(secrets)
                """)
        return (project, try project.catalog().profile(named: "demo"))
    }

    @Test func provisionCreatesA0600FileWithEverySecret() throws {
        let (project, profile) = try project()
        let outcome = try EnvProvisioner(layout: project.layout, profile: profile).provision()
        #expect(outcome.created)
        #expect(outcome.addedSecrets == ["DB_PASSWORD", "API_KEY"])
        #expect(outcome.addedVariables == ["MODE", "GREETING"])
        #expect(AtomicFile.mode(of: project.root + "/.env.demo") == 0o600)
        let values = EnvFile(parsing: try project.read(".env.demo")).values
        #expect(values["DB_PASSWORD"]?.count == 24)
        #expect(values["API_KEY"]?.hasPrefix("sk-") == true)
        #expect(values["GREETING"] == "hello world")
        #expect(try project.read(".gitignore").contains(".env.*"))
        // No temporary files are left next to it.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: project.root).filter { $0.contains("launch-") }
        #expect(leftovers.isEmpty)
    }

    @Test func aByteOrderMarkIsReadPastAsComposeReadsPastItAndKeptOnWrite() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let file = EnvFile(bytes: bom + Array("DB_PASSWORD=from-windows\nOTHER=1\n".utf8))
        #expect(file.values["DB_PASSWORD"] == "from-windows")
        #expect(file.malformedLines.isEmpty)
        #expect(file.bytes == bom + Array("DB_PASSWORD=from-windows\nOTHER=1\n".utf8))
        #expect(EnvFile(bytes: bom).bytes == bom)
        // Completing it keeps the user's value (no generated DB_PASSWORD after it that would win) and the mark.
        let (project, profile) = try project()
        #expect(
            FileManager.default.createFile(
                atPath: project.root + "/.env.demo", contents: Data(file.bytes), attributes: [.posixPermissions: 0o600]))
        let outcome = try EnvProvisioner(layout: project.layout, profile: profile).provision()
        #expect(!outcome.addedSecrets.contains("DB_PASSWORD"))
        let written = try #require(FileManager.default.contents(atPath: project.root + "/.env.demo"))
        #expect(Array(written).starts(with: bom + Array("DB_PASSWORD=from-windows\n".utf8)))
        #expect(EnvFile(bytes: Array(written)).values["DB_PASSWORD"] == "from-windows")
    }

    @Test func provisionIsIdempotentAndKeepsExistingValues() throws {
        let (project, profile) = try project()
        try project.write(".env.demo", "# mine\nDB_PASSWORD=keep-this-one\nOTHER=1\n")
        let provisioner = EnvProvisioner(layout: project.layout, profile: profile)
        let first = try provisioner.provision()
        #expect(!first.created)
        #expect(first.addedSecrets == ["API_KEY"])
        let afterFirst = try project.read(".env.demo")
        #expect(afterFirst.hasPrefix("# mine\nDB_PASSWORD=keep-this-one\nOTHER=1\n"))
        #expect(AtomicFile.mode(of: project.root + "/.env.demo") == 0o600)

        let second = try provisioner.provision()
        #expect(!second.changed)
        #expect(try project.read(".env.demo") == afterFirst)
    }

    @Test func provisionTightensALooseMode() throws {
        let (project, profile) = try project(secrets: "{}")
        try project.write(".env.demo", "MODE=fast\nGREETING=hi\n")
        chmod(project.root + "/.env.demo", 0o644)
        let outcome = try EnvProvisioner(layout: project.layout, profile: profile).provision()
        #expect(outcome.fixedMode)
        #expect(AtomicFile.mode(of: project.root + "/.env.demo") == 0o600)
        #expect(try project.read(".env.demo") == "MODE=fast\nGREETING=hi\n")
    }

    @Test func gitignoreIsCompletedOnceWithoutLosingLines() throws {
        let (project, profile) = try project()
        try project.write(".gitignore", "node_modules/")
        let provisioner = EnvProvisioner(layout: project.layout, profile: profile)
        _ = try provisioner.provision()
        _ = try provisioner.provision()
        let text = try project.read(".gitignore")
        #expect(text.hasPrefix("node_modules/\n"))
        #expect(text.components(separatedBy: ".env.*").count == 2)
    }

    @Test func redactorHidesSecretValuesOnly() {
        let redact = Redactor(values: ["s3cr3t-value", "abc"])
        #expect(redact("password=s3cr3t-value; abc") == "password=***; ***")
        let profile = Profile.fixture(secrets: ["DB_PASSWORD", "PIN"])
        let env = EnvFile(parsing: "DB_PASSWORD=hunter2hunter2\nPIN=4711\nOPENAI_API_KEY=sk-live-123456\nMODE=production\nSORT_KEY=id\n")
        let fromProfile = Redactor(
            profile: profile, envFile: env, environment: ["DB_PASSWORD": "from-the-shell", "GITHUB_TOKEN": "ghp_abcdefgh1234"])
        // Declared secrets are hidden at any length; look-alike keys with short values (SORT_KEY=id) are not.
        #expect(fromProfile("hunter2hunter2 4711 sk-live-123456 production id") == "*** *** *** production id")
        // Compose prefers the shell's value over the env file's: that one is hidden too, as are secret-looking shell variables.
        #expect(fromProfile("from-the-shell ghp_abcdefgh1234") == "*** ***")
    }

    @Test func windowsLineEndingsAreLinesToo() throws {
        let text = "# made on Windows\r\nDB_PASSWORD=keep-me\r\nMODE=fast\r\n"
        var file = EnvFile(parsing: text)
        #expect(file.values == ["DB_PASSWORD": "keep-me", "MODE": "fast"])
        #expect(file.text == text)
        #expect(file.add([("DB_PASSWORD", "new"), ("EXTRA", "1")], heading: nil) == ["EXTRA"])
        #expect(file.text.hasPrefix(text))
    }

    @Test func valuesWithQuotesSurviveARoundTrip() {
        for value in ["it's", "a b", "say \"hi\" $HOME", "plain"] {
            var file = EnvFile(parsing: "")
            _ = file.add([("K", value)], heading: nil)
            #expect(EnvFile(parsing: file.text).values["K"] == value.replacingOccurrences(of: "\\$", with: "$"), "\(value)")
        }
    }

    @Test func aSymlinkedEnvFileIsWrittenThroughTheLink() throws {
        let (project, profile) = try project()
        try project.write("shared/secrets.env", "MODE=fast\n")
        try FileManager.default.createSymbolicLink(atPath: project.root + "/.env.demo", withDestinationPath: "shared/secrets.env")
        _ = try EnvProvisioner(layout: project.layout, profile: profile).provision()
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: project.root + "/.env.demo")) == "shared/secrets.env")
        #expect(try project.read("shared/secrets.env").contains("DB_PASSWORD="))
    }
    /// Env files stay the user's: a link inside the project is written through (it stays a link); a link out of the
    /// project, a link to nothing, a read-only file and a Dockerfile named as env file are refused, nothing replaced.
    @Test func envFileWritesNeverReplaceWhatLaunchMayNotWrite() throws {
        let (project, profile) = try project()
        let provisioner = EnvProvisioner(layout: project.layout, profile: profile)
        let env = project.root + "/.env.demo"
        // A link to a file inside the project: the file is completed, the link stays.
        try project.write("config/real.env", "MODE=slow\n")
        try FileManager.default.createSymbolicLink(atPath: env, withDestinationPath: "config/real.env")
        _ = try provisioner.provision()
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: env)) == "config/real.env")
        #expect(try project.read("config/real.env").contains("DB_PASSWORD="))
        // A link out of the project: refused, the outside file untouched.
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString.prefix(8)).env").path
        try "MODE=x\n".write(toFile: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.removeItem(atPath: env)
        try FileManager.default.createSymbolicLink(atPath: env, withDestinationPath: outside)
        #expect(throws: FileError.self) { _ = try provisioner.provision() }
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "MODE=x\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: env)) == outside)
        // A link to nothing: refused, nothing created where it points.
        try FileManager.default.removeItem(atPath: env)
        try FileManager.default.createSymbolicLink(atPath: env, withDestinationPath: outside + ".missing")
        #expect(throws: FileError.self) { _ = try provisioner.provision() }
        #expect(!FileManager.default.fileExists(atPath: outside + ".missing"))
        // A read-only file (by its mode, even for root): refused, unchanged.
        try FileManager.default.removeItem(atPath: env)
        try project.write(".env.demo", "MODE=fast\n")
        chmod(env, 0o400)
        let error = try #require(throws: FileError.self) { _ = try provisioner.provision() }
        #expect(error.reason.contains("read-only"))
        #expect(try project.read(".env.demo") == "MODE=fast\n")
    }

    @Test func aDockerfileIsNotAnEnvFile() throws {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nenv_file: services/app/Dockerfile\n")
        let error = try #require(throws: ConfigurationError.self) { try project.catalog().profile(named: "demo") }
        #expect(error.problems.contains { $0.message.contains("a Dockerfile") }, "\(error.problems)")
    }
}

/// The secret forms the fault pass found printed in clear: Compose's interpolation inside a value, a multi-line
/// quoted value (a PEM key) and a value that is not UTF-8. Each is read as Compose reads it (checked against Compose
/// 2.26's `config --format json`) and hidden in every form a container can print it.
@Suite("Env files: every secret form Compose accepts")
struct SecretFormTests {
    static let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nQ2hlY2tzdW1zZWNyZXRsaW5lMg==\n-----END PRIVATE KEY-----"

    @Test func variablesInsideAValueAreInterpolatedAsComposeDoes() {
        let file = EnvFile(
            parsing: "HOST=db\nDB_PASSWORD=abc$def$$ghi\nURL=\"pg://u:${DB_PASSWORD}@${HOST}\"\nRAW='a$HOST'\nESC=\"x\\$HOST\"\n")
        let resolved = file.resolved(environment: [:])
        #expect(resolved["DB_PASSWORD"] == "abc$ghi", "$def is unset (empty), $$ is one $")
        #expect(resolved["URL"] == "pg://u:abc$ghi@db")
        #expect(resolved["RAW"] == "a$HOST", "single quotes are literal")
        #expect(resolved["ESC"] == "x$HOST", "an escaped $ in double quotes is literal")
        #expect(file.resolved(environment: ["def": "D"])["DB_PASSWORD"] == "abcD$ghi", "the environment answers first")
        let redact = Redactor(profile: .fixture(secrets: ["DB_PASSWORD"]), envFile: file)
        #expect(redact("pw=abc$ghi and abc$def$$ghi") == "pw=*** and ***")
    }

    @Test func aMultiLineQuotedValueIsOneValueWrittenBackAsItWasAndEachOfItsLinesIsHidden() throws {
        let text = "A=1\nTLS_KEY=\"\(Self.pem)\"\nB=2\nbroken line\n"
        let file = EnvFile(parsing: text)
        #expect(file.values["TLS_KEY"] == Self.pem)
        #expect(file.resolvedValues["TLS_KEY"] == Self.pem)
        #expect(file.values["B"] == "2")
        #expect(file.malformedLines.map(\.line) == [7], "line numbers count the file's lines")
        #expect(file.text == text, "written back byte for byte")
        let redact = Redactor(profile: .fixture(secrets: ["TLS_KEY"]), envFile: file)
        for line in Self.pem.split(separator: "\n") where !line.hasPrefix("-----") { #expect(redact("│ \(line)") == "│ ***") }
        #expect(redact("-----END PRIVATE KEY-----") == "-----END PRIVATE KEY-----", "the armour every PEM shares is not a secret")
        #expect(!redact("key=" + Self.pem.replacingOccurrences(of: "\n", with: " ")).contains("MIIE"))
        // A quote that never closes stays one line, as before.
        #expect(EnvFile(parsing: "K=\"open\nL=1\n").values["L"] == "1")
    }

    @Test func aValueThatIsNotUTF8IsHiddenAsItIsDecodedForPrinting() {
        let bytes = Array("BIN_SECRET=ab".utf8) + [0xFF, 0xFE] + Array("cdefgh\n".utf8)
        let file = EnvFile(bytes: bytes)
        #expect(file.bytes == bytes)
        let redact = Redactor(profile: .fixture(secrets: ["BIN_SECRET"]), envFile: file)
        let printed = String(decoding: Array("bin=ab".utf8) + [0xFF, 0xFE] + Array("cdefgh".utf8), as: UTF8.self)
        #expect(redact(printed) == "bin=***")
    }
}

extension Profile {
    static func fixture(secrets: [String] = [], gpu: GPUSettings = .init(mode: .none)) -> Profile {
        Profile(
            name: "demo", aliases: [], summary: "", extends: nil, compose: .init(project: "demo", files: ["app.yml"]),
            envFile: ".env.demo", variables: [], secrets: secrets.map { .init(key: $0, length: 32, prefix: "") },
            gpu: gpu, services: .init(core: [], optional: [], stretch: []),
            requires: .init(memory: nil, disk: nil, paths: []), health: .defaults, cleanup: .init(reclaimablePercent: 30),
            urls: [], preflight: [], sourceFile: "environments/demo.yml")
    }

}
