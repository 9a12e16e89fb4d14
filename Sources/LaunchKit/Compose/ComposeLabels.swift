/// The labels Compose puts on what it creates, spelled once: filters that select a project's or a service's
/// containers, and the keys launch reads back from them.
public enum ComposeLabels {
    public static let project = "com.docker.compose.project"
    public static let service = "com.docker.compose.service"
    public static let oneOff = "com.docker.compose.oneoff"
    public static let configHash = "com.docker.compose.config-hash"

    /// `com.docker.compose.project=<name>`: the label everything of compose project `name` carries.
    public static func projectLabel(_ name: String) -> String { "\(project)=\(name)" }

    /// A label filter for everything of compose project `name`.
    public static func projectFilter(_ name: String) -> [String] { [projectLabel(name)] }

    /// A label filter for the containers of `service` in compose project `name`.
    public static func serviceFilter(_ name: String, service: String) -> [String] { [projectLabel(name), "\(Self.service)=\(service)"] }
}
