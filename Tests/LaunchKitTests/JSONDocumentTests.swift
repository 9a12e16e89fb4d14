import Foundation
import Testing

@testable import LaunchKit

/// Every `--json` document names its kind and schema version (docs/json.md lists them).
@Suite("JSON documents")
struct JSONDocumentTests {
    static func object(_ value: some Encodable) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try JSONOutput.encode(value).utf8)) as? [String: Any])
    }

    @Test func aDocumentCarriesItsKindAndSchemaBesideItsOwnFields() throws {
        let run = try RunPictureTests.run("quickstart-success")
        var later = run
        later.id = "b"
        let json = try Self.object(RunComparison(before: run, after: later))
        #expect(json["kind"] as? String == "run-comparison" && json["schema"] as? Int == 1)
        #expect(json["after"] as? String == "b" && json["rows"] != nil)
        let error = try Self.object(ErrorDocument(usage: "no", hint: nil))
        #expect(error["kind"] as? String == "error" && (error["error"] as? [String: Any])?["code"] as? String == "usage")
    }

    @Test func statusHasOneShapeOnBothEngines() throws {
        let compose = try Self.object(
            StatusDocument(compose: [ProjectStatus(environment: "demo", project: "p", services: [], missing: ["db"])]))
        let swarm = try Self.object(StatusDocument(swarm: SwarmStatus(stack: "p", services: []), environment: "demo"))
        for json in [compose, swarm] {
            #expect(json["kind"] as? String == "launch-status")
            let environment = try #require((json["environments"] as? [[String: Any]])?.first)
            #expect(environment["environment"] as? String == "demo" && environment["project"] as? String == "p")
            #expect(environment["services"] is [Any])
        }
        #expect(compose["engine"] as? String == "compose" && swarm["engine"] as? String == "swarm")
    }

    @Test func kindsAreUniquePerShape() {
        let kinds: [any JSONDocument.Type] = [
            LaunchResult.self, LaunchPlan.self, PreflightReport.self, EnvProvisioner.Outcome.self, CleanupReport.self, ErrorDocument.self,
            RunComparison.self, ServiceControl.Outcome.self, EnvironmentList.self, StatusDocument.self,
        ]
        let names = kinds.map { $0.kind }
        #expect(Set(names).count == names.count, "\(names)")
        let documented = (try? String(contentsOfFile: SchemaValidator.root + "/docs/json.md", encoding: .utf8)) ?? ""
        for name in names + ["down-report"] { #expect(documented.contains("`\(name)`"), "docs/json.md lacks \(name)") }
    }
}
