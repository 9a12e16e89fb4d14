import Foundation
import Testing

@testable import LaunchKit

/// The seeded generator of SafetyTests, by the name these tests use.
typealias SeededGenerator = SeededRandom

/// Random scalars shaped like numbers: digits of every length (up to past `Double`'s range), signs,
/// decimal points, real and unknown units, and the strings `Double(_:)` treats specially.
struct NumberScalars {
    var generator: SeededGenerator

    static let units = ["", "ms", "us", "µs", "ns", "s", "m", "h", "d", "b", "k", "KiB", "MB", "G", "GiB", "TB", "PiB", "EiB", "x", " "]
    static let oddities = [
        "nan", "NaN", "inf", "-inf", "infinity", "1e309", "0x10", "½", "٣", "", " ", "~", "null", "-0", "+1",
        ".", "..", "1..2", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", String(repeating: "9", count: 400),
    ]

    mutating func digits() -> String {
        let length =
            Int.random(in: 0...100, using: &generator) < 5
            ? Int.random(in: 300...420, using: &generator) : Int.random(in: 1...22, using: &generator)
        return String((0..<length).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }

    mutating func part() -> String {
        var text = digits()
        if Bool.random(using: &generator) { text += "." + digits() }
        return text + (Self.units.randomElement(using: &generator) ?? "")
    }

    mutating func scalar() -> String {
        switch Int.random(in: 0..<10, using: &generator) {
        case 0: return Self.oddities.randomElement(using: &generator) ?? ""
        case 1: return "-" + part()
        case 2: return (0..<Int.random(in: 2...4, using: &generator)).map { _ in part() }.joined()
        default: return part()
        }
    }
}

@Suite("Number fuzzing")
struct NumberFuzzTests {
    @Test func parsersReturnAValueInRangeOrATypedRefusal() {
        var scalars = NumberScalars(generator: SeededGenerator(seed: 0x1A0C4))
        for _ in 0..<4000 {
            let text = scalars.scalar()
            do throws(QuantityError) {
                let duration = try DurationText.checked(text)
                #expect((Duration.zero...DurationText.maximum).contains(duration), "\(text)")
                _ = DurationText.format(duration)
            } catch {
                #expect(DurationText.parse(text) == nil)
            }
            do throws(QuantityError) {
                let size = try ByteSize.parse(text)
                #expect(size <= ByteSize.maximum, "\(text)")
                _ = size.description
            } catch {
                #expect(ByteSize(parsing: text) == nil)
            }
        }
    }

    /// The reader's own limits, checked on everything that loaded.
    func expectWithinLimits(_ profile: Profile, _ scalar: String) {
        let health = profile.health
        if let timeout = health.timeout {
            #expect(timeout > .zero && timeout <= DurationText.maximum, "\(scalar)")
            #expect(health.stability < timeout, "\(scalar)")
        }
        #expect(health.backoff >= .zero && health.backoff <= Profile.HealthPolicy.longestBackoff, "\(scalar)")
        #expect((0...Profile.HealthPolicy.mostRetries).contains(health.retries), "\(scalar)")
        #expect((profile.requires.memory ?? .init(bytes: 0)) <= ByteSize.maximum, "\(scalar)")
        #expect((0...100).contains(profile.cleanup.reclaimablePercent), "\(scalar)")
    }

    static let keys = [
        "health: {timeout: %@}", "health: {backoff: %@}", "health: {stability: %@}", "health: {retries: %@}",
        "health: {timeout: 1m, stability: %@}", "requires: {memory: %@}", "requires: {disk: %@}",
        "secrets: {KEY: {length: %@}}", "cleanup: {reclaimable_percent: %@}",
        "preflight: [{name: p, tcp: {port: %@}}]", "preflight: [{name: p, tcp: {port: 1, timeout: %@}}]",
    ]

    @Test func profileLoaderAcceptsWithinLimitsOrReportsAProblemWithItsLine() throws {
        let project = try TemporaryProject()
        try project.writeDemo()
        var scalars = NumberScalars(generator: SeededGenerator(seed: 0x5EED))
        var rejected = 0
        // Fewer rounds than the pure parsers: each one writes and loads a real profile (about 1.5 ms in debug).
        for _ in 0..<800 {
            let scalar = scalars.scalar()
            let quoted = "\"" + scalar.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            let template = Self.keys.randomElement(using: &scalars.generator) ?? ""
            let line = template.replacingOccurrences(of: "%@", with: Bool.random(using: &scalars.generator) ? quoted : scalar)
            try project.write("environments/demo.yml", "name: demo\ncompose: {project: demo, files: [app.yml]}\n\(line)\n")
            let entries = project.catalog().entries
            #expect(entries.count == 1)
            switch entries.first?.result {
            case .success(let profile)?:
                expectWithinLimits(profile, line)
            case .failure(let error)?:
                rejected += 1
                #expect(!error.problems.isEmpty, "\(line)")
                for problem in error.problems {
                    #expect(problem.location.file == "environments/demo.yml", "\(line)")
                    #expect(problem.location.line == 3, "\(line): \(problem)")
                }
            case nil:
                Issue.record("no entry for \(line)")
            }
        }
        #expect(rejected > 80)  // The generator really reaches the limits.
    }

    @Test func composeLabelsAndHealthchecksNeverTrap() {
        var scalars = NumberScalars(generator: SeededGenerator(seed: 0xC0DE))
        for _ in 0..<1000 {
            let scalar = scalars.scalar().replacingOccurrences(of: "'", with: "''")
            let config = """
                services:
                  s:
                    image: x
                    labels: {launch.timeout: '\(scalar)', launch.job: '\(scalar)'}
                    healthcheck: {test: [CMD, 'true'], interval: '\(scalar)', retries: '\(scalar)'}
                    ports: ['\(scalar):\(scalar)']
                    deploy: {replicas: '\(scalar)', resources: {reservations: {devices: [{driver: nvidia, count: '\(scalar)'}]}}}
                """
            do throws(ConfigurationError) {
                let stack = try ComposeModelReader.read(config: config)
                for service in stack.services {
                    let rule = ReadinessRule(service: service, policy: .defaults, isJob: service.isDeclaredJob)
                    #expect(rule.deadline >= .zero && rule.deadline <= DurationText.maximum, "\(scalar)")
                }
            } catch {
                #expect(!error.problems.isEmpty && error.problems.allSatisfy { $0.location.line > 0 }, "\(scalar)")
            }
        }
    }
}
