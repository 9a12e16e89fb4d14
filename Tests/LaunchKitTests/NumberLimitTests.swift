import Foundation
import Testing

@testable import LaunchKit

/// Durations, sizes and counts at and beyond their limits: every one is a value or a typed refusal, never a trap.
@Suite("Number limits")
struct NumberLimitTests {
    static let week = DurationText.maximum
    static let weekText = DurationText.format(DurationText.maximum)
    static let huge = String(repeating: "9", count: 400)

    static let durations: [(String, Result<Duration, QuantityError>)] = [
        ("250ms", .success(.milliseconds(250))),
        ("1m30s", .success(.seconds(90))),
        ("30", .success(.seconds(30))),
        ("0", .success(.zero)),
        ("1.5s", .success(.milliseconds(1500))),
        ("168h", .success(week)),
        ("604800", .success(week)),
        ("167h59m60s", .success(week)),
        ("168h1s", .failure(.tooLarge(limit: weekText))),
        ("169h", .failure(.tooLarge(limit: weekText))),
        ("9999999999999999999h", .failure(.tooLarge(limit: weekText))),
        (huge + "s", .failure(.tooLarge(limit: weekText))),
        (huge + "." + huge, .failure(.tooLarge(limit: weekText))),
        ("-5s", .failure(.negative)),
        (" -0s", .failure(.negative)),
        ("soon", .failure(.malformed)),
        ("", .failure(.malformed)),
        ("1.2.3s", .failure(.malformed)),
        ("5 parsecs", .failure(.malformed)),
        ("½s", .failure(.malformed)),
        ("٣s", .failure(.malformed)),
        ("nan", .failure(.malformed)),
        ("inf", .failure(.malformed)),
        ("1e9s", .failure(.malformed)),
        ("+5s", .failure(.malformed)),
        ("5s.", .failure(.malformed)),
    ]

    @Test(arguments: durations)
    func durationParsing(text: String, expected: Result<Duration, QuantityError>) {
        #expect(Result { () throws(QuantityError) in try DurationText.checked(text) } == expected)
        #expect(DurationText.parse(text) == (try? expected.get()))
    }

    @Test func durationLimitsCanBeTighter() {
        #expect(throws: QuantityError.tooLarge(limit: "24h")) { try DurationText.checked("25h", limit: .seconds(86_400)) }
        #expect((try? DurationText.checked("24h", limit: .seconds(86_400))) == .seconds(86_400))
    }

    static let sizes: [(String, Result<UInt64, QuantityError>)] = [
        ("512M", .success(512 << 20)),
        ("2GiB", .success(2 << 30)),
        ("20GB", .success(20_000_000_000)),
        ("1.5 KiB", .success(1536)),
        ("0", .success(0)),
        ("1024PiB", .success(1 << 60)),
        ("1025PiB", .failure(.tooLarge(limit: "1.0 EiB"))),
        ("99999999999999999999GiB", .failure(.tooLarge(limit: "1.0 EiB"))),
        (huge, .failure(.tooLarge(limit: "1.0 EiB"))),
        ("-1G", .failure(.negative)),
        ("lots", .failure(.malformed)),
        ("1.5.5G", .failure(.malformed)),
        ("12 parsecs", .failure(.malformed)),
        ("nan", .failure(.malformed)),
        ("", .failure(.malformed)),
    ]

    @Test(arguments: sizes)
    func sizeParsing(text: String, expected: Result<UInt64, QuantityError>) {
        #expect(Result { () throws(QuantityError) in try ByteSize.parse(text).bytes } == expected)
        #expect(ByteSize(parsing: text)?.bytes == (try? expected.get()))
    }

    @Test func kernelAndDriverCountsSaturate() {
        #expect(ByteSize(count: 3, unit: 1024).bytes == 3072)
        #expect(ByteSize(count: .max, unit: 1024).bytes == .max)
        #expect(ByteSize(bytes: .max).description == "16.0 EiB")
        #expect(ProcFS.memAvailable(meminfo: "MemAvailable: 18446744073709551615 kB\n")?.bytes == .max)
    }

    struct Product: Sendable, CustomTestStringConvertible {
        var base: Duration
        var factor: Int
        var limit: Duration
        var expected: Duration
        var testDescription: String { "\(base) × \(factor) ≤ \(limit)" }
    }

    static let products: [Product] = [
        .init(base: .seconds(5), factor: 1, limit: .seconds(60), expected: .seconds(5)),
        .init(base: .seconds(5), factor: 4, limit: .seconds(60), expected: .seconds(20)),
        .init(base: .seconds(5), factor: 1024, limit: .seconds(60), expected: .seconds(60)),
        .init(base: .seconds(1), factor: .max, limit: week, expected: week),
        .init(base: .seconds(Int64.max), factor: 2, limit: week, expected: week),
        .init(base: .zero, factor: .max, limit: week, expected: .zero),
        .init(base: .seconds(5), factor: 0, limit: week, expected: .zero),
        .init(base: .seconds(5), factor: -3, limit: week, expected: .zero),
        .init(base: .seconds(-5), factor: 3, limit: week, expected: .zero),
    ]

    @Test(arguments: products)
    func multiplicationSaturates(_ product: Product) {
        #expect(product.base.multiplied(by: product.factor, limit: product.limit) == product.expected)
    }

    @Test func anImagesHealthcheckCannotOverflowItsDeadline() {
        let absurd = Healthcheck(
            test: ["CMD", "true"], interval: .nanoseconds(Int64.max), timeout: .nanoseconds(Int64.max),
            startPeriod: .nanoseconds(Int64.max), retries: .max)
        #expect(absurd.deadline() == Self.week)
        let negative = Healthcheck(
            test: ["CMD", "true"], interval: .seconds(1), timeout: .seconds(1), startPeriod: .seconds(-100), retries: 2)
        #expect(negative.deadline(margin: .seconds(2)) == .seconds(6))
        #expect(
            ReadinessRule(service: ComposeService(name: "s", healthcheck: absurd), policy: .defaults, isJob: false).deadline == Self.week)
    }

    @Test func formattingNeverTraps() {
        #expect(DurationText.format(Self.week) == "168h")
        #expect(!DurationText.format(.seconds(Int64.max)).isEmpty)
        #expect(DurationText.format(.seconds(-3)) == "-3000ms")
    }
}

/// Absurd numbers in a profile are configuration problems with file and line (exit 65), not crashes.
@Suite("Profile number limits")
struct ProfileNumberLimitTests {
    static let file = "environments/demo.yml"

    /// The problems of `environments/demo.yml` after loading the whole catalog, as `launch list` does.
    func problems(_ body: String, extra: [String: String] = [:]) throws -> [ConfigProblem] {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\n" + body)
        for (path, text) in extra { try project.write(path, text) }
        let catalog = project.catalog()
        #expect(catalog.entries.count == 1 + extra.count)
        do {
            _ = try catalog.profile(named: "demo")
            Issue.record("expected the profile to be rejected")
            return []
        } catch let error as ConfigurationError {
            #expect(error.exitCode.rawValue == 65)
            return error.problems
        }
    }

    func expectOne(_ body: String, _ message: String, line: Int) throws {
        let found = try problems(body)
        #expect(found.map(\.message) == [message])
        #expect(found.first?.location.file == Self.file)
        #expect(found.first?.location.line == line)
    }

    @Test func hugeBackoffIsAProblemNotACrash() throws {
        try expectOne(
            "health:\n  backoff: 9999999999999999999h\n",
            "health.backoff is too long: `9999999999999999999h` (at most 24h)", line: 4)
    }

    @Test func backoffAboveADay() throws {
        try expectOne("health: {backoff: 25h}\n", "health.backoff is too long: `25h` (at most 24h)", line: 3)
    }

    @Test func hugeMemoryIsAProblemNotACrash() throws {
        try expectOne(
            "requires:\n  memory: 99999999999999999999GiB\n",
            "requires.memory is too large: `99999999999999999999GiB` (at most 1.0 EiB)", line: 4)
    }

    @Test func negativeSize() throws {
        try expectOne("requires: {disk: -5GiB}\n", "requires.disk cannot be negative: `-5GiB`", line: 3)
    }

    @Test func zeroTimeout() throws {
        try expectOne("health:\n  timeout: 0\n", "health.timeout must be longer than 0, not `0`", line: 4)
    }

    @Test func hugeTimeoutIsNoLongerAccepted() throws {
        try expectOne("health:\n  timeout: 1000h\n", "health.timeout is too long: `1000h` (at most 168h)", line: 4)
    }

    @Test func stabilityBeyondTheTimeout() throws {
        try expectOne(
            "health:\n  timeout: 1m\n  stability: 2m\n",
            "health.stability (2m) must be shorter than health.timeout (1m)", line: 5)
    }

    @Test func stabilityInTheChildTimeoutInTheParent() throws {
        let project = try TemporaryProject()
        try project.writeDemo(profile: "name: demo\ncompose: {project: demo, files: [app.yml]}\nhealth: {timeout: 30s}\n")
        try project.write("environments/child.yml", "name: child\nextends: demo\nhealth:\n  stability: 45s\n")
        #expect(throws: ConfigurationError.self) { try project.catalog().profile(named: "child") }
        let entry = project.catalog().entries.first { $0.name == "child" }
        guard case .failure(let error)? = entry?.result else {
            Issue.record("expected child to be rejected")
            return
        }
        #expect(error.problems.map(\.location) == [SourceLocation(file: "environments/child.yml", line: 4, column: 14)])
    }

    @Test func absurdRetries() throws {
        try expectOne(
            "health: {retries: 100000000000000000000000}\n",
            "health.retries must be a whole number from 0 to 20, not `100000000000000000000000`", line: 3)
    }

    @Test func nonFinitePercent() throws {
        try expectOne(
            "cleanup: {reclaimable_percent: nan}\n",
            "cleanup.reclaimable_percent must be a number from 0.0 to 100.0, not `nan`", line: 3)
    }

    @Test func preflightTimeouts() throws {
        let found = try problems(
            """
            preflight:
              - name: a
                tcp: {port: 5432, timeout: 0s}
              - name: b
                http: {url: "http://localhost", timeout: 2h}
            """)
        #expect(
            found.map(\.message) == [
                "tcp.timeout must be longer than 0, not `0s`", "http.timeout is too long: `2h` (at most 10m)",
            ])
        #expect(found.map(\.location.line) == [5, 7])
    }

    @Test func limitsThemselvesAreAccepted() throws {
        let project = try TemporaryProject()
        try project.writeDemo(
            profile: """
                name: demo
                compose: {project: demo, files: [app.yml]}
                health: {timeout: 168h, backoff: 24h, stability: 167h, retries: 20}
                requires: {memory: 1024PiB, disk: 0}
                """)
        let profile = try project.catalog().profile(named: "demo")
        #expect(profile.health.timeout == DurationText.maximum)
        #expect(profile.health.backoff == .seconds(86_400))
        #expect(profile.requires.memory == ByteSize.maximum)
    }
}

/// Numbers and labels from a resolved compose model: clamped where Compose accepted them, refused with their
/// line where they are `launch`'s own settings.
@Suite("Compose number limits")
struct ComposeNumberLimitTests {
    func stack(_ service: String) throws(ConfigurationError) -> ComposeStack {
        try ComposeModelReader.read(config: "services:\n  s:\n    image: x\n" + service)
    }

    func problems(_ service: String) -> [ConfigProblem] {
        do {
            _ = try stack(service)
            Issue.record("expected the stack to be rejected")
            return []
        } catch {
            return error.problems
        }
    }

    @Test func hugeHealthcheckDurationsAreClamped() throws {
        let read = try stack(
            "    healthcheck: {test: [CMD, 'true'], interval: 9999999999999999999h, start_period: \(NumberLimitTests.huge)s, retries: 10000}\n"
        )
        let check = try #require(read.service("s")?.healthcheck)
        #expect(check.interval == DurationText.maximum)
        #expect(check.startPeriod == DurationText.maximum)
        #expect(check.deadline() == DurationText.maximum)
    }

    @Test func negativeHealthcheckDurationIsAProblem() {
        #expect(
            problems("    healthcheck: {test: [CMD, 'true'], interval: -1s}\n").map(\.message) == [
                "healthcheck.interval cannot be negative: `-1s`"
            ])
    }

    @Test func launchTimeoutLabelIsValidatedWithItsLine() {
        let found = problems("    labels:\n      launch.timeout: 9999999999999999999h\n")
        #expect(found.map(\.message) == ["label launch.timeout of `s` is too long: `9999999999999999999h` (at most 168h)"])
        #expect(found.first?.location.line == 5)
        #expect(
            problems("    labels: [launch.timeout=0s]\n").map(\.message) == ["label launch.timeout of `s` must be longer than 0, not `0s`"])
    }

    @Test func launchJobLabelMustBeABoolean() throws {
        #expect(
            problems("    labels: {launch.job: ture}\n").map(\.message) == ["label launch.job of `s` must be true or false, not `ture`"])
        #expect(try stack("    labels: {launch.job: 'on'}\n").service("s")?.isDeclaredJob == true)
        #expect(try stack("    labels: {launch.job: 'no'}\n").service("s")?.isDeclaredJob == false)
    }

    @Test func labelListEdgeCasesDoNotTrap() throws {
        let labels = try stack("    labels: ['', '=x', 'a=b=c', 'flag']\n").service("s")?.labels
        #expect(labels == ["": "x", "a": "b=c", "flag": ""])
    }

    @Test func portsOutOfRangePublishNothingOrAreRefused() throws {
        #expect(try stack("    ports: ['70000:80', '9223372036854775807-9223372036854775807:80']\n").service("s")?.ports == [])
        #expect(
            problems("    ports: [{target: 9223372036854775807, published: '8080-8081'}]\n").map(\.message) == [
                "ports.target must be a whole number from 1 to 65535, not `9223372036854775807`"
            ])
    }

    @Test func gpuCountsCannotOverflow() throws {
        let device = "{driver: nvidia, count: 9223372036854775807, capabilities: [gpu]}"
        #expect(problems("    deploy: {resources: {reservations: {devices: [\(device), \(device)]}}}\n").count == 2)
        let all = "{driver: nvidia, count: -1, capabilities: [gpu]}"
        #expect(try stack("    deploy: {resources: {reservations: {devices: [\(all)]}}}\n").service("s")?.gpuCount == -1)
    }
}
