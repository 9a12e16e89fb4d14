/// Docker and Compose take their global options before the command (`docker -H tcp://… ps`, `docker compose -p x
/// up`); ArgumentParser reads options after it. `hoisted` moves the global options a user put first to just after
/// the command (or the environment, for the default `up`), where every command declares them — so both orders
/// mean the same.
public enum GlobalArguments {
    /// The options every command takes that carry a value, in every spelling.
    public static let valued: Set<String> = ["--project-dir", "-H", "--host", "--context", "-c", "-p", "--project-name"]
    /// The options every command takes that carry none.
    public static let flags: Set<String> = ["--verbose"]

    /// `arguments` without the program name. Options before the first word that is not one of them move behind
    /// that word; anything else (`--help`, `--version`, an unknown flag) leaves the line as it is.
    public static func hoisted(_ arguments: [String]) -> [String] {
        let (leading, rest) = split(arguments)
        guard !leading.isEmpty, let first = rest.first, !first.hasPrefix("-") else { return arguments }
        // `launch -p x help status`: help takes no options, and names its command.
        if first == "help" { return rest }
        return [first] + leading + rest.dropFirst()
    }

    /// The global options at the front of the line, and what follows them.
    public static func split(_ arguments: [String]) -> (leading: [String], rest: [String]) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if valued.contains(argument), index + 1 < arguments.count {
                index += 2
            } else if flags.contains(argument) {
                index += 1
            } else if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--"), valued.contains(String(argument[..<equals])) {
                index += 1
            } else {
                break
            }
        }
        return (Array(arguments[..<index]), Array(arguments[index...]))
    }

    /// `launch --project-dir examples/quickstart`: how the user reached this project and engine, for next steps
    /// that must run from where they were printed. Values are shell-quoted where a shell would split or expand them.
    public static func invocation(projectDirectory: String?, host: String?, context: String?, projectName: String?) -> String {
        var words = ["launch"]
        for (flag, value) in [("--project-dir", projectDirectory), ("-H", host), ("--context", context), ("-p", projectName)] {
            if let value { words += [flag, Command.shellQuoted(value)] }
        }
        return words.joined(separator: " ")
    }
}
