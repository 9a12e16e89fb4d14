import Foundation
import Testing

@testable import LaunchKit

/// docs/profile.schema.json (what editors check profiles with, through yaml-language-server) agrees with launch's
/// own loader: every shipped profile passes both, and profiles the loader refuses are refused by the schema too.
/// The schema is checked by Python's `jsonschema` (Tests/Scripts/validate_profiles.py); without it this suite is
/// skipped and says so, and CI (`LAUNCH_E2E=require`) installs it.
@Suite(
    "The profile JSON Schema",
    .enabled(if: SchemaValidator.usable, "needs python3 with jsonschema and PyYAML (pip install jsonschema pyyaml)"))
struct ProfileSchemaTests {
    static let root = SchemaValidator.root

    static func validate(_ files: [String]) throws -> (status: Int32, output: String) { try SchemaValidator.validate(files) }

    @Test func everyShippedProfilePassesTheSchemaAndTheLoader() throws {
        var files: [String] = []
        for directory in ["environments", "examples/quickstart/environments"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: Self.root + "/" + directory).filter { $0.hasSuffix(".yml") }
            files += names.sorted().map { Self.root + "/" + directory + "/" + $0 }
            let catalog = ProfileCatalog.load(try ProjectLayout.locate(from: Self.root + "/" + directory, explicit: nil))
            #expect(catalog.entries.allSatisfy { $0.profile != nil }, "\(directory): the loader refuses a shipped profile")
        }
        let checked = try Self.validate(files)
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("ok: \(files.count) files"))
    }

    @Test(arguments: [
        ("healthcheck: {}", "unknown key"),
        ("compose: {project: My_Project, files: [stack.yml]}", "compose.project"),
        ("health: {backoff: soon}", "health.backoff"),
        ("gpu: {mode: sometimes}", "gpu.mode"),
        ("engine: kubernetes", "engine"),
        ("watch: {max: 0}", "watch.max"),
        ("watch: {restarts: [db]}", "unknown key"),
    ])
    func whatTheLoaderRefusesTheSchemaRefuses(line: String, key: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/environments", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/compose", withIntermediateDirectories: true)
        try "services: {db: {image: x}}\n".write(toFile: directory + "/compose/stack.yml", atomically: true, encoding: .utf8)
        let base = line.hasPrefix("compose:") ? "" : "compose: {project: p, files: [stack.yml]}\n"
        try "name: demo\n\(base)\(line)\n".write(toFile: directory + "/environments/demo.yml", atomically: true, encoding: .utf8)
        let catalog = ProfileCatalog.load(try ProjectLayout.locate(from: directory, explicit: nil))
        #expect(catalog.entries.first?.profile == nil, "the loader accepts `\(line)`")
        let checked = try Self.validate([directory + "/environments/demo.yml"])
        #expect(checked.status == 1 && checked.output.contains(key), "\(checked.output)")
    }
}

/// Tests/Scripts/validate_profiles.py, run with this machine's python3.
enum SchemaValidator {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let usable: Bool = {
        if ProcessInfo.processInfo.environment["LAUNCH_E2E"] == "require" { return true }
        return (try? validate([])).map { $0.status != 127 && !$0.output.contains("ModuleNotFoundError") } ?? false
    }()

    static func validate(_ files: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root + "/Tests/Scripts/validate_profiles.py", root + "/docs/profile.schema.json"] + files
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
