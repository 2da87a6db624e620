import HTTPTypes
import MemoryAccess
import MemoryContract
import MemoryPluginClient

extension APIError {
    /// A failed plugin call as the server answers it. The plugin being unreachable, its
    /// breaker open, or an answer that breaks the contract is 503 `unavailable`, loudly:
    /// memory is never written anywhere else. A refusal keeps the plugin's status and
    /// message (they name the field, never content); other plugin failures are 502.
    static func memory(_ error: MemoryPluginClientError) -> APIError {
        switch error {
        case .unavailable, .protocolViolation, .invalidConfiguration:
            return .unavailable("memory plugin unavailable; retry shortly")
        case .rejected(let refusal):
            return APIError(.init(code: refusal.status), code: code(for: refusal), refusal.message)
        case .pluginFailure:
            return APIError(.badGateway, code: "plugin_failure", "memory plugin failed; retry shortly")
        }
    }

    static func access(_ error: MemoryAccessError) -> APIError {
        switch error {
        case .forbidden(let message): .forbidden(message)
        case .invalidScope(let message): .badRequest(message)
        }
    }

    private static func code(for refusal: ContractError) -> String {
        switch refusal.status {
        case 409: "conflict"
        case 413: "too_large"
        default: refusal.code.rawValue
        }
    }
}

/// Runs a plugin call and turns its typed error into the HTTP answer.
func pluginCall<T>(_ body: () async throws(MemoryPluginClientError) -> T) async throws(APIError) -> T {
    do {
        return try await body()
    } catch {
        throw APIError.memory(error)
    }
}
