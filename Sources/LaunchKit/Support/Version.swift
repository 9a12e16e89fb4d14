/// The version `launch --version` prints. A release changes this line and adds the matching `## <version>`
/// heading at the top of CHANGELOG.md; a unit test keeps the two equal.
public enum Version {
    public static let current = "0.8.0"
}
