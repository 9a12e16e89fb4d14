import Foundation
import Yams

/// `launch config <env>`: the compose model `launch <env>` would run — profile files, GPU overlay and env file
/// applied — as the YAML Compose itself renders (`docker compose config`), so `docker compose -f - config` reads it
/// back. Secret values are replaced by `***` unless asked for. For an `engine: swarm` profile the GPU overlay is the
/// one the swarm's nodes call for, as a swarm launch decides it.
public struct ResolvedConfig: Sendable {
    public let context: LaunchContext
    public let layout: ProjectLayout
    public let profile: Profile

    public init(context: LaunchContext, layout: ProjectLayout, profile: Profile) {
        self.context = context
        self.layout = layout
        self.profile = profile
    }

    public func render(showSecrets: Bool) async throws -> String {
        let overlay = profile.engine == .swarm ? await OverlayDecision.forSwarm(profile.gpu, client: EngineClient(context: context)) : nil
        let plan = try await Planner(context: context, layout: layout).plan(profile, overlay: overlay)
        // Compose renders with the env file it is given; before the first launch there is none yet.
        guard plan.envFile.exists else {
            throw UsageError(
                "\(plan.envFile.path) does not exist yet, so there is no model to render",
                hint: "`launch env \(profile.name)` creates it (secrets generated, mode 0600); then `launch config \(profile.name)` again")
        }
        let redact = EnvProvisioner(layout: layout, profile: profile).redactor(environment: context.environment)
        let output = try await context.runner.run(plan.composeCommand.configYAML())
        guard output.succeeded else {
            throw ConfigurationError(
                output.stderr.split(whereSeparator: \.isNewline).map {
                    ConfigProblem(SourceLocation(file: "docker compose config", line: 0), redact(String($0)))
                } + [
                    ConfigProblem(
                        SourceLocation(file: "docker compose config", line: 0), "Compose rejected the stack (exit \(output.status))",
                        hint: "`launch plan \(profile.name)` shows the files and the env file in use")
                ])
        }
        return showSecrets ? output.stdout : try Self.redacted(output.stdout, redact: redact)
    }

    /// Redacts scalar by scalar and emits the tree again, so a value that became `***` is quoted (a bare `***`
    /// would be a YAML alias) and the file stays valid. Besides the profile's own secrets, whatever the model itself
    /// holds under a secret-looking key of a service's `environment` — from the stack's own `env_file:`s, the
    /// project's `.env` or written inline — is a secret wherever it appears, and so is a password inside a URL.
    static func redacted(_ yaml: String, redact: Redactor) throws -> String {
        guard let node = try Yams.compose(yaml: yaml) else { return yaml }
        return try Yams.serialize(node: redacted(node, redact: redact.adding(secretValues(in: node))), width: -1)
    }

    /// The values of every `environment` entry whose key looks secret (`POSTGRES_PASSWORD`, `LITELLM_MASTER_KEY`).
    static func secretValues(in node: Node) -> [String] {
        switch node {
        case .mapping(let mapping):
            return mapping.flatMap { key, value -> [String] in
                if key.string == "environment", case .mapping(let environment) = value {
                    return environment.compactMap { name, value in
                        guard let name = name.string, let text = value.string, Redactor.looksSecret(name), Redactor.isWorthHiding(text)
                        else {
                            return nil
                        }
                        return text
                    }
                }
                return secretValues(in: value)
            }
        case .sequence(let sequence): return sequence.flatMap(secretValues(in:))
        case .scalar, .alias: return []
        }
    }

    static func redacted(_ node: Node, redact: Redactor) -> Node {
        switch node {
        case .scalar(let scalar):
            let clean = Redactor.urlCredentials(redact(scalar.string))
            return clean == scalar.string ? node : Node(clean, .implicit, .singleQuoted)
        case .mapping(let mapping):
            return Node(mapping.map { ($0.key, redacted($0.value, redact: redact)) }, mapping.tag, mapping.style)
        case .sequence(let sequence):
            return Node(sequence.map { redacted($0, redact: redact) }, sequence.tag, sequence.style)
        case .alias:
            return node
        }
    }
}
