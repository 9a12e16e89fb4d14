extension Docker {
    /// `docker container prune`, optionally only containers with `label` (`key` or `key=value`).
    public func pruneStoppedContainers(label: String?) -> Command {
        command(["container", "prune", "--force"] + (label.map { ["--filter", "label=\($0)"] } ?? []))
    }

    /// Dangling images only, optionally only those with `label`.
    public func pruneDanglingImages(label: String?) -> Command {
        command(["image", "prune", "--force"] + (label.map { ["--filter", "label=\($0)"] } ?? []))
    }
}
