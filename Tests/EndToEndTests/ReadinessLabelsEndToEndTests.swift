import Foundation
import LaunchKit
import Testing

/// `launch.ready_log` and `launch.ready_http` against a real engine: readiness from what the service printed or
/// answered, for images without a healthcheck.
@Suite("Readiness labels against a real engine", .tags(.docker), .serialized, .enabled(if: E2E.enabled))
struct ReadinessLabelsEndToEndTests {
    static let image = Busybox.image

    func launch(_ project: TestProject) async throws -> E2E.Report { try await project.report() }

    @Test func aLogLineDecidesReadinessEvenWhereAHealthcheckPassesEarlier() async throws {
        try await E2E.withProject { project in
            // db's healthcheck passes at once; its label says it is ready only when it prints the line. api waits
            // for db healthy, so it must start after that line, not after the check.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo booting; sleep 2; echo 'ready to accept connections'; sleep 3600 & wait"]
                        healthcheck: {test: ["CMD", "true"], interval: 250ms, timeout: 2s, retries: 3}
                        labels: {launch.ready_log: "ready to accept conn[a-z]+$$"}
                      api:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {db: {condition: service_healthy}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.readiness("db") == "log", "\(result.json)")
            #expect(result.service("api")?["state"] as? String == "ready")
            // Ordering on the engine's own clock, not a duration: api started after db printed the line.
            let logged = try #require(try await E2E.loggedTime("\(project.name)-db-1", line: "ready to accept connections"))
            let apiStarted = try #require(try await E2E.engineTime("\(project.name)-api-1", "StartedAt"))
            #expect(apiStarted >= logged, "api started \(apiStarted), db printed its line \(logged)")
            // The plan shows the rule.
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.stdout.contains("log /ready to accept conn[a-z]+$/"), "\(plan.stdout)")
        }
    }

    @Test func aLineLongerThanTheEnginesPiecesIsMatchedWhole() async throws {
        try await E2E.withProject { project in
            // The engine sends a line over 16 KiB as pieces: the pattern spans them, so it only matches the whole line.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; printf START; head -c 40000 /dev/zero | tr '\\\\0' x; echo READY; sleep 3600 & wait"]
                        labels: {launch.ready_log: "^START.*READY$$", launch.timeout: 20s}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.readiness("db") == "log", "\(result.json)")
        }
    }

    @Test func aRestartedContainerIsJudgedByWhatThisRunPrinted() async throws {
        try await E2E.withProject { project in
            // Its first run prints the line; every later run of the same container prints nothing. After a stop, a
            // second launch starts that container again: the first run's line is still in its log and must not
            // make it ready (launch reads from the end of the previous run on).
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; if [ ! -f /tmp/ran ]; then touch /tmp/ran; echo READY; fi; sleep 3600 & wait"]
                        labels: {launch.ready_log: "^READY$$", launch.timeout: 4s}
                    """)
            let first = try await launch(project)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.readiness("db") == "log")
            _ = try await E2E.docker(["stop", "-t", "2", "\(project.name)-db-1"])
            let second = try await launch(project)
            #expect(second.status == 1, "the first run's line made the second run ready: \(second.json)")
            #expect(second.failure("db") == "deadline", "\(second.json)")
        }
    }

    @Test func aRelaunchKeepsAServiceAnEarlierLaunchSawReadyAfterItsLineRotatedAway() async throws {
        try await E2E.withProject { project in
            // db prints its ready line, then enough to rotate its 1 KiB log: the line is gone. A relaunch of the
            // same configuration finds exactly the container run the first launch judged (its report says so), and
            // keeps it.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo READY; sleep 1; i=0; while [ $$i -lt 200 ]; do echo chatter $$i; i=$$((i + 1)); done; sleep 3600 & wait"]
                        logging: {driver: json-file, options: {max-size: 1k, max-file: "1"}}
                        labels: {launch.ready_log: "^READY$$", launch.timeout: 10s}
                    """)
            let first = try await launch(project)
            #expect(first.status == 0, "\(first.stderr)")
            let container = "\(project.name)-db-1"
            let rotated = try await E2E.eventually(within: .seconds(30)) {
                let log = try await E2E.docker(["logs", container]).stdout
                return log.contains("chatter 199") && !log.contains("READY")
            }
            #expect(rotated)
            let second = try await launch(project)
            #expect(second.status == 0, "\(second.json) \(second.stderr)")
            #expect(second.readiness("db") == "already running", "\(second.json)")
        }
    }

    @Test func anHTTPAnswerFromInsideTheContainerMakesItReady() async throws {
        try await E2E.withProject { project in
            // No healthcheck, no published port: busybox's httpd starts serving /health after a second; launch asks
            // from inside the container with the image's wget.
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      model:
                        image: \(Self.image)
                        command: ["sh", "-c", "sleep 1; mkdir -p /www; echo ok > /www/health; exec httpd -f -p 8080 -h /www"]
                        labels: {launch.ready_http: "8080/health"}
                      ui:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
                        depends_on: {model: {condition: service_healthy}}
                    """)
            let result = try await launch(project)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.readiness("model") == "http", "\(result.json)")
            #expect(result.service("ui")?["state"] as? String == "ready")
            // The plan shows the rule and does not ask for a healthcheck the label stands in for; ui has neither.
            let plan = try await project.launch(["plan", "demo"])
            #expect(plan.stdout.contains("http :8080/health"), "\(plan.stdout)")
            #expect(!plan.stdout.contains("model has no healthcheck"), "\(plan.stdout)")
            #expect(plan.stdout.contains("ui has no healthcheck") && plan.stdout.contains("launch.ready_http"), "\(plan.stdout)")
        }
    }

    @Test func anHTTPPathThatNeverAnswers2xxIsNotReady() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      model:
                        image: \(Self.image)
                        command: ["sh", "-c", "mkdir -p /www; echo ok > /www/health; exec httpd -f -p 8080 -h /www"]
                        labels: {launch.ready_http: "8080/v1/models", launch.timeout: 4s}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.failure("model") == "deadline", "\(result.json)")
            #expect(result.stderr.contains("never answered 2xx to http :8080/v1/models"), "\(result.stderr)")
        }
    }

    @Test func aCheckTheImageCannotRunAndALogThatCannotBeReadFailAtOnce() async throws {
        try await E2E.withProject { project in
            // An image without a shell (as distroless images are): the HTTP check cannot run, so the service fails
            // now, saying why, instead of at its 120 s deadline.
            try project.write(
                "compose/bare/Dockerfile",
                """
                FROM \(Self.image) AS source
                LABEL launch.e2e=\(project.name)
                FROM scratch
                LABEL launch.e2e=\(project.name)
                COPY --from=source /bin/busybox /bin/sleep
                CMD ["/bin/sleep", "3600"]
                """)
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      model:
                        build: {context: ./bare}
                        image: \(project.name)-bare
                        labels: {launch.ready_http: "8080/health"}
                    """)
            let result = try await project.report(environment: ["DOCKER_BUILDKIT": "0"])
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.failure("model") == "readiness-unavailable", "\(result.json)")
            #expect(result.stderr.contains("curl, wget or python3"), "\(result.stderr)")
        }
        // The `none` logging driver keeps no log: a log label cannot be watched.
        try await E2E.withProject { project in
            try project.writeProfile(
                extra: "health: {retries: 0, stability: 1s}",
                stack: """
                    services:
                      quiet:
                        image: \(Self.image)
                        command: ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 3600 & wait"]
                        logging: {driver: none}
                        labels: {launch.ready_log: "ready"}
                    """)
            let result = try await launch(project)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.failure("quiet") == "readiness-unavailable", "\(result.json)")
            #expect(result.stderr.contains("its log cannot be read"), "\(result.stderr)")
        }
    }

    @Test func aBadLabelIsRefusedBeforeAnythingIsCreated() async throws {
        try await E2E.withProject { project in
            try project.writeProfile(
                stack: """
                    services:
                      db:
                        image: \(Self.image)
                        command: ["sleep", "3600"]
                        labels: {launch.ready_http: "http://localhost:8080/health"}
                    """)
            let result = try await project.launch(["demo", "--no-network"])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("launch.ready_http of `db` must be <port>/<path>"), "\(result.stderr)")
            let left = try await E2E.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(project.name)"])
            #expect(left.stdout.isEmpty)
        }
    }
}
