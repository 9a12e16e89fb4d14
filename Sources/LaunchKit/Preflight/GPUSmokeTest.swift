import Foundation

/// Proves the GPU path the only way that cannot be fooled by a stale file or a daemon started before the
/// toolkit was installed: one short-lived container with the stack's own GPU request, on an image already
/// present (never pulled), listing its /dev. It is removed whatever happens.
enum GPUSmokeTest {
    static let id = "gpu.smoke", title = "GPU container"
    /// Marks launch's smoke containers (value: the compose project), so anything left behind can be found.
    static let label = "launch.gpu-smoke"

    /// What the container came to; `evaluate` decides, so each outcome is unit-tested.
    typealias Outcome = OneShotOutcome

    static func run(stack: ComposeStack, project: String, facts: EngineFacts) async -> CheckResult {
        guard let service = stack.services.first(where: \.requestsGPUs) else {
            return .skip(id, title, "no service requests a GPU")
        }
        guard let client = facts.client else { return .skip(id, title, "the Docker daemon is not reachable") }
        let candidates = ([service.image] + stack.services.map(\.image)).compactMap { $0 }
        var image: String?
        for candidate in candidates where (try? await client.imageExists(candidate)) == true {
            image = candidate
            break
        }
        guard let image else {
            return .skip(
                id, title,
                "no GPU container started: none of the stack's images is present yet, and the smoke test never pulls "
                    + "(`launch doctor` runs it once they are)")
        }
        let request = ContainerCreateRequest(
            image: image, entrypoint: ["/bin/sh", "-c"], command: ["ls -1 /dev"], labels: [label: project],
            deviceRequests: service.gpuRequests.map(\.engineRequest))
        let name = "launch-gpu-smoke-\(project)-\(UUID().uuidString.prefix(8).lowercased())"
        return evaluate(await client.runOnce(request, name: name), service: service, image: image, endpoint: "\(facts.endpoint)")
    }

    static func evaluate(_ outcome: Outcome, service: ComposeService, image: String, endpoint: String) -> CheckResult {
        let asks = service.gpuRequests.map(\.description).joined(separator: " + ")
        let cdi = service.gpuRequests.contains { $0.driver == .cdi }
        switch outcome {
        case .notCreated(let message):
            return .warn(
                id, title, "could not create the GPU container from \(image): \(message)",
                fix: "run `docker run --rm --gpus all \(image) ls /dev` to see the engine's answer")
        case .refused(let message):
            let fix =
                cdi
                ? "generate the NVIDIA CDI spec (`\(NvidiaCTK.regenerate)`) and make sure the engine has CDI enabled"
                : "install the NVIDIA Container Toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker` and restart Docker"
            return .fail(
                id, title,
                "no GPU reachable from containers: the engine at \(endpoint) refused \(service.name)'s request (\(asks)): \(message)",
                fix: fix)
        case .exited(let code, let output) where code == 126 || code == 127:
            return .warn(
                id, title,
                "inconclusive: \(image) has no /bin/sh to list /dev (exit \(code): \(output.last ?? "no output"))",
                fix: "run `docker run --rm --gpus all \(image) nvidia-smi` to prove the GPU path by hand")
        case .exited(let code, let output):
            let nodes = output.map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.range(of: "^nvidia([0-9]+|ctl|-uvm)$", options: .regularExpression) != nil }
            guard code == 0, nodes.contains(where: { $0.dropFirst("nvidia".count).allSatisfy(\.isNumber) }) else {
                return .fail(
                    id, title,
                    "no GPU in the container: it started with \(service.name)'s request (\(asks)) but no /dev/nvidia<n> appeared"
                        + (code == 0 ? "" : " (exit \(code))"),
                    fix: "run `docker run --rm --gpus all \(image) ls /dev`; restart Docker if the toolkit was installed after it started")
            }
            return .ok(
                id, title,
                "a container with \(service.name)'s request (\(asks)) saw " + nodes.map { "/dev/\($0)" }.joined(separator: ", ")
                    + " (image \(image), removed)")
        }
    }
}
