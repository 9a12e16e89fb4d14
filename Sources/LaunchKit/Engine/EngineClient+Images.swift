extension EngineClient {
    /// Whether `reference` exists locally (`GET /images/{name}/json`; 404 means missing).
    public func imageExists(_ reference: String) async throws -> Bool {
        let response = try await perform("GET", "/images/\(Self.escape(reference))/json", accept: Self.okOrGone)
        return response.status != 404
    }
}
