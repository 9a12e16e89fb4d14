import ArgumentParser
import LaunchKit

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the compose model launch would run (overlay and env file applied), secrets redacted.",
        discussion: """
            The YAML Compose renders for the environment's files, GPU overlay and env file; `docker compose -f - \
            config` accepts it. Secret values (the profile's secrets, and any *PASSWORD*/*TOKEN*/*KEY* value) \
            appear as '***' unless --show-secrets is given.

            Examples:
              launch config dev
              launch config dev --show-secrets > resolved.yml
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Environment name or alias.", completion: .environments) var environment: String
    @Flag(help: "Print secret values as they are.") var showSecrets = false

    func run() async throws {
        try await execute(global) { context in
            let catalog = try context.catalog(projectDirectory: global.projectDirectory)
            let config = ResolvedConfig(context: context, layout: catalog.layout, profile: try catalog.profile(named: environment))
            var yaml = try await config.render(showSecrets: showSecrets)
            if yaml.hasSuffix("\n") { yaml.removeLast() }
            context.console.data(yaml)
            return .success
        }
    }
}
