/// What `launch env` tells a person: key names only, never values.
public enum EnvReport {
    public static func lines(_ outcome: EnvProvisioner.Outcome) -> [String] {
        var lines: [String] = []
        if outcome.created {
            lines.append("created \(outcome.path) (mode 0600)")
        } else if outcome.changed {
            lines.append("completed \(outcome.path) (mode 0600; existing lines untouched)")
        } else {
            lines.append("\(outcome.path) is complete; nothing changed")
        }
        if !outcome.addedSecrets.isEmpty {
            lines.append(
                "  generated \(outcome.addedSecrets.count) secret(s): \(outcome.addedSecrets.joined(separator: ", ")) (values not shown)")
        }
        if !outcome.addedVariables.isEmpty {
            lines.append("  added \(outcome.addedVariables.count) variable(s): \(outcome.addedVariables.joined(separator: ", "))")
        }
        if outcome.fixedMode { lines.append("  tightened its mode to 0600") }
        if outcome.addedGitignore { lines.append("  added env files to .gitignore") }
        return lines
    }
}
