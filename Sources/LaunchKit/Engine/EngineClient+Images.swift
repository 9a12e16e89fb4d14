import Foundation

extension EngineClient {
    /// Whether `reference` exists locally (`GET /images/{name}/json`; 404 means missing).
    public func imageExists(_ reference: String) async throws -> Bool {
        let response = try await perform("GET", "/images/\(Self.escape(reference))/json", accept: Self.okOrGone)
        return response.status != 404
    }

    /// The labels of image `reference` (`GET /images/{name}/json`); nil when the engine has no such image.
    public func imageLabels(_ reference: String) async throws -> [String: String]? {
        struct Image: Decodable {
            struct Config: Decodable {
                var labels: [String: String]?
                enum CodingKeys: String, CodingKey { case labels = "Labels" }
            }
            var config: Config?
            enum CodingKeys: String, CodingKey { case config = "Config" }
        }
        let response = try await perform("GET", "/images/\(Self.escape(reference))/json", accept: Self.okOrGone)
        guard response.status != 404 else { return nil }
        return (try? JSONDecoder().decode(Image.self, from: Data(response.body)))?.config?.labels ?? [:]
    }

    /// The tags of the images the engine has (`GET /images/json`), untagged ones left out.
    public func imageTags() async throws -> [String] {
        struct Image: Decodable {
            var tags: [String]
            enum CodingKeys: String, CodingKey { case tags = "RepoTags" }
            init(from decoder: any Decoder) throws {
                tags = (try? decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .tags)) ?? []
            }
        }
        let images: [Image] = try await get("/images/json")
        return images.flatMap(\.tags).filter { !$0.hasPrefix("<none>") }
    }
}

extension EngineClient {
    /// What one run of a service's own healthcheck command inside its container came to.
    public enum ProbeOutcome: Sendable, Equatable {
        case passed
        case failed(exitCode: Int?)
        /// It cannot run here at all (command not in the image, exec refused): stop probing, the engine decides.
        case unavailable(String)
        /// The engine itself failed (no answer, a dropped connection, a 5xx): the check did not run, so this says
        /// nothing about the service. Its words.
        case engineFault(String)
    }

    /// A probe's outcome and how long the engine took to spawn it (exec create and start, without the command's
    /// own run time): how busy the engine is right now. Nil when it never got that far.
    public struct ProbeAnswer: Sendable, Equatable {
        public var outcome: ProbeOutcome
        public var spawnSeconds: Double?

        public init(_ outcome: ProbeOutcome, spawnSeconds: Double? = nil) {
            self.outcome = outcome
            self.spawnSeconds = spawnSeconds
        }
    }

    /// Runs `command` inside `container` (Engine API exec: create, start detached, inspect until it ends) and
    /// reports its exit, within `timeout`. About one request round trip plus the command's own run time.
    public func probe(_ container: String, command: [String], timeout: Duration) async throws -> ProbeAnswer {
        struct Create: Encodable {
            let Cmd: [String]
            let AttachStdout = false
            let AttachStderr = false
        }
        struct Created: Decodable { let Id: String }
        struct Inspected: Decodable {
            let Running: Bool
            let ExitCode: Int?
        }
        let body = Array(try JSONEncoder().encode(Create(Cmd: command)))
        let clock = ContinuousClock()
        let began = clock.now
        let createResponse: EngineResponse
        do {
            createResponse = try await perform("POST", "/containers/\(Self.escape(container))/exec", body: body)
        } catch EngineError.http(let status, _) where status == 409 || status == 404 {
            // Not running, restarting, paused or gone: the engine's own events say what happened.
            return ProbeAnswer(.failed(exitCode: nil))
        }
        let id = try JSONDecoder().decode(Created.self, from: Data(createResponse.body)).Id
        do {
            try await perform("POST", "/exec/\(Self.escape(id))/start", body: Array(#"{"Detach":true}"#.utf8))
        } catch EngineError.http(_, let message) {
            // "executable file not found" and friends: the healthcheck cannot run as written. Anything else (the
            // container exiting between create and start, a runtime timing out under load) is this probe failing.
            return ProbeAnswer(Self.cannotRun(message) ? .unavailable(message) : .failed(exitCode: nil))
        }
        let spawn = began.duration(to: clock.now).seconds
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(5)
        while true {
            let response = try await perform("GET", "/exec/\(Self.escape(id))/json")
            let state = try JSONDecoder().decode(Inspected.self, from: Data(response.body))
            if !state.Running, let code = state.ExitCode {
                switch code {
                case 0: return ProbeAnswer(.passed, spawnSeconds: spawn)
                case 126, 127:
                    return ProbeAnswer(
                        .unavailable("the healthcheck command exited \(code) (not found or not executable in the image)"),
                        spawnSeconds: spawn)
                default: return ProbeAnswer(.failed(exitCode: code), spawnSeconds: spawn)
                }
            }
            guard clock.now < deadline else { return ProbeAnswer(.failed(exitCode: nil), spawnSeconds: spawn) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }
}

extension EngineClient {
    /// An exec start refused because the command cannot run in this image, as runc words it (`exec: "pg_isready":
    /// executable file not found in $PATH`, `exec: "/x": stat /x: no such file or directory`, `exec: "/x":
    /// permission denied`). The same words without `exec: "` (a container exiting under the exec: `nsenter: failed
    /// to open /proc/…/ns/ipc: no such file or directory`) are a failed try, not a missing command.
    static func cannotRun(_ message: String) -> Bool {
        let text = message.lowercased()
        guard let exec = text.range(of: "exec: \"") else { return false }
        let rest = text[exec.upperBound...]
        return ["executable file not found", "no such file or directory", "permission denied"].contains(where: rest.contains)
    }
}

/// The argv a healthcheck `test` runs, as the engine runs it: `CMD` directly, `CMD-SHELL` through `/bin/sh -c`.
public func healthcheckCommand(_ test: [String]) -> [String]? {
    guard let kind = test.first else { return nil }
    switch kind {
    case "CMD": return test.count > 1 ? Array(test.dropFirst()) : nil
    case "CMD-SHELL": return test.count > 1 ? ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")] : nil
    case "NONE": return nil
    default: return test  // a bare list is CMD without the marker
    }
}
