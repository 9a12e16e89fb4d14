/// Glue between the `up` command and the launcher: engine connection, Ctrl-C, progress and summary.
public enum LaunchCommand {
    public static func run(_ context: LaunchContext, layout: ProjectLayout, profile: Profile, options: LaunchOptions) async throws
        -> LaunchResult
    {
        let client = try EngineClient(environment: context.environment)
        let launcher = Launcher(context: context, layout: layout, client: client) { _ in
            do {
                _ = try await client.ping()
                return []
            } catch let error as EngineError {
                return [error.summary + (error.hint.map { " (\($0))" } ?? "")]
            } catch {
                return ["the Docker engine did not answer: \(error)"]
            }
        }
        let report = ProgressReporter(console: context.console)
        let task = Task { try await launcher.launch(profile, options: options, report: report) }
        let interrupts = InterruptHandler(console: context.console) { task.cancel() }
        defer { interrupts.cancel() }
        let result: LaunchResult
        do {
            result = try await task.value
        } catch is CancellationError {
            throw Interrupted()
        } catch let error as ProcessError where task.isCancelled {
            _ = error
            throw Interrupted()
        }
        LaunchSummary.render(result, console: context.console).forEach(context.console.say)
        return result
    }
}

/// Ctrl-C before anything was created.
public struct Interrupted: LaunchFailure {
    public var summary: String { "interrupted before anything was started" }
    public var hint: String? { nil }
    public var exitCode: ExitStatus { .interrupted }
}
