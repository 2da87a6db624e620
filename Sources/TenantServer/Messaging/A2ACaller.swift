import Hummingbird

/// Who is sending an A2A message. Workspaces present their own bearer token, and
/// `X-Workspace-ID`, when sent, must name the same workspace (401 otherwise: a
/// workspace cannot speak for another). An admin or org token is an operator, who is
/// not bound by the hierarchy.
enum A2ACaller: Sendable, Equatable {
    case workspace(String)
    case operator_

    var workspaceID: String? {
        if case .workspace(let id) = self { return id }
        return nil
    }

    static func resolve(_ request: Request, _ dependencies: ServerDependencies) async throws -> A2ACaller {
        guard let token = BearerToken.from(request) else { throw APIError.unauthorized("missing caller auth token") }
        let claimed = request.header(DiscoveryRoutes.callerHeader)?.lowercased()
        if let claimed, !UUIDText.isValid(claimed) { throw APIError.badRequest("X-Workspace-ID must be a workspace UUID") }
        if let owner = try await lookup({ try await dependencies.tokens.workspace(owning: token) }) {
            if let claimed, claimed != owner { throw APIError.unauthorized("caller ID does not match workspace auth token") }
            return .workspace(owner)
        }
        if try await dependencies.authenticator.isAdmin(token) { return .operator_ }
        throw APIError.unauthorized("invalid caller auth token")
    }

    private static func lookup<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as APIError { throw error } catch {
            throw APIError.unavailable("platform datastore unavailable; retry shortly")
        }
    }
}
