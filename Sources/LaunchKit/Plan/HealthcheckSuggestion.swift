/// The healthcheck to add to a service that has none, for images whose health endpoint or command is documented.
///
/// Without a healthcheck "ready" can only mean "running for the stability window": a model server that is still
/// loading its weights is running, not serving. Each suggestion uses what the image itself ships (several have no
/// curl), so it works when pasted.
public enum HealthcheckSuggestion {
    struct Known {
        /// Matched against the repository part of the image reference (no tag, no registry-less prefix rules).
        var matches: @Sendable (String) -> Bool
        var what: String
        var test: String
    }

    static let known: [Known] = [
        Known(
            matches: { $0.hasSuffix("vllm/vllm-openai") || $0.hasSuffix("/vllm") }, what: "vLLM's /health",
            test: #"["CMD", "curl", "-f", "http://localhost:8000/health"]"#),
        Known(
            matches: { $0.hasSuffix("huggingface/text-generation-inference") }, what: "TGI's /health",
            test: #"["CMD", "curl", "-f", "http://localhost:80/health"]"#),
        Known(
            matches: { $0.hasSuffix("huggingface/text-embeddings-inference") }, what: "TEI's /health",
            test: #"["CMD", "curl", "-f", "http://localhost:80/health"]"#),
        Known(
            matches: { $0.hasSuffix("ollama/ollama") }, what: "Ollama's CLI against its own server (the image has no curl)",
            test: #"["CMD", "ollama", "list"]"#),
        Known(
            matches: { $0.hasPrefix("nvcr.io/nim/") }, what: "NIM's readiness endpoint",
            test: #"["CMD", "curl", "-f", "http://localhost:8000/v1/health/ready"]"#),
        Known(
            matches: { $0.hasSuffix("nvidia/tritonserver") }, what: "Triton's readiness endpoint",
            test: #"["CMD", "curl", "-f", "http://localhost:8000/v2/health/ready"]"#),
        Known(
            matches: { $0.contains("litellm") }, what: "LiteLLM's liveliness endpoint (the image has Python, not curl)",
            test: #"["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:4000/health/liveliness')"]"#),
        Known(
            matches: { $0.hasSuffix("postgres") || $0.hasSuffix("pgvector/pgvector") || $0.hasSuffix("postgis/postgis") },
            what: "pg_isready", test: #"["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]"#),
        Known(
            matches: { $0.hasSuffix("redis") || $0.hasSuffix("redis/redis-stack") || $0.hasSuffix("valkey/valkey") },
            what: "redis-cli ping", test: #"["CMD", "redis-cli", "ping"]"#),
        Known(
            matches: { $0.hasSuffix("qdrant/qdrant") }, what: "Qdrant's /readyz (the image has no curl)",
            test: #"["CMD-SHELL", "bash -c ':> /dev/tcp/127.0.0.1/6333' || exit 1"]"#),
        Known(matches: { $0.hasSuffix("minio/minio") }, what: "MinIO's own readiness command", test: #"["CMD", "mc", "ready", "local"]"#),
        Known(
            matches: { $0.hasSuffix("elasticsearch") || $0.hasSuffix("opensearchproject/opensearch") }, what: "the cluster health API",
            test: #"["CMD-SHELL", "curl -fs http://localhost:9200/_cluster/health || exit 1"]"#),
        Known(
            matches: { $0.hasSuffix("mongo") }, what: "a ping through mongosh",
            test: #"["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping')"]"#),
        Known(matches: { $0.hasSuffix("mysql") }, what: "mysqladmin ping", test: #"["CMD", "mysqladmin", "ping", "-h", "localhost"]"#),
        Known(
            matches: { $0.hasSuffix("mariadb") }, what: "the image's healthcheck.sh",
            test: #"["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]"#),
        Known(
            matches: { $0.hasSuffix("rabbitmq") }, what: "rabbitmq-diagnostics ping",
            test: #"["CMD", "rabbitmq-diagnostics", "-q", "ping"]"#),
        Known(
            matches: { $0.hasSuffix("chromadb/chroma") }, what: "Chroma's heartbeat",
            test: #"["CMD", "curl", "-f", "http://localhost:8000/api/v2/heartbeat"]"#),
        Known(
            matches: { $0.hasSuffix("semitechnologies/weaviate") }, what: "Weaviate's readiness endpoint",
            test: #"["CMD", "wget", "-q", "--spider", "http://localhost:8080/v1/.well-known/ready"]"#),
    ]

    /// `ghcr.io/huggingface/text-generation-inference:2.0` → `ghcr.io/huggingface/text-generation-inference`.
    static func repository(_ image: String) -> String {
        let withoutDigest = image.split(separator: "@").first.map(String.init) ?? image
        guard let slash = withoutDigest.lastIndex(of: "/") else {
            return withoutDigest.split(separator: ":").first.map(String.init) ?? withoutDigest
        }
        let last = withoutDigest[withoutDigest.index(after: slash)...]
        let name = last.split(separator: ":").first.map(String.init) ?? String(last)
        return String(withoutDigest[..<slash]) + "/" + name
    }

    /// The healthcheck test to add, with where it comes from; nil for an image nobody documented here.
    public static func suggestion(forImage image: String) -> (test: String, what: String)? {
        let repository = repository(image.lowercased())
        return known.first { $0.matches(repository) }.map { ($0.test, $0.what) }
    }

    /// The plan's warning for a long-running service without any healthcheck.
    public static func warning(service: String, image: String?, stability: String) -> String {
        let head = "\(service) has no healthcheck: launch counts it ready once it has run \(stability) — running is not serving"
        if let image, let known = suggestion(forImage: image) {
            return head + "; add `healthcheck: {test: \(known.test)}` (\(known.what))"
        }
        return head + "; add a healthcheck that asks the service itself (an HTTP health endpoint, or its client's ping), "
            + "or a readiness label: \(ReadySignal.httpLabel): \"<port>/<path>\" or \(ReadySignal.logLabel): \"<the line it prints when ready>\""
    }
}
