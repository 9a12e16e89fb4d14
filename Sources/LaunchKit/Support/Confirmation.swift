import Foundation

/// Destructive steps (removing volumes, starting over) list exactly what goes, then need the project name
/// typed back, or `--yes`. Without a terminal and without `--yes` they refuse (exit 64): a script must say so.
public enum Confirmation {
    /// `purpose` completes "… to <purpose>" and "not going to <purpose>", e.g. "start multimodal-dev over".
    public static func require(
        _ context: LaunchContext, purpose: String, items: [String], token: String, yes: Bool, prompt: Bool = true,
        flagHint: String
    ) throws(UsageError) {
        let console = context.console
        console.say("To \(purpose), launch removes:")
        for item in items { console.say("  - \(item)") }
        if yes { return }
        guard context.canPrompt && prompt else {
            throw UsageError(
                "not going to \(purpose) without confirmation, and there is no terminal to ask on", evidence: [],
                hint: "rerun with --yes to confirm: \(flagHint)")
        }
        console.raw("type the project name (\(token)) to confirm: ")
        guard context.readLine()?.trimmingCharacters(in: .whitespaces) == token else {
            throw UsageError("not confirmed; nothing was removed", hint: "type \(token) exactly, or pass --yes")
        }
    }
}
