extension EngineClient {
    /// Whether `reference` (`nginx:1.27`, `ghcr.io/o/i@sha256:…`) is present locally: `GET /images/{name}/json`,
    /// where 404 means missing. Never pulls.
    public func imageExists(_ reference: String) async throws -> Bool {
        let response = try await perform(
            "GET", "/images/\(Self.escape(reference))/json", accept: { $0 == 200 || $0 == 404 })
        return response.status == 200
    }
}
