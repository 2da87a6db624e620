/// What an operator needs to connect an external agent to this tenant, in the
/// reference's field names. `auth_token` is empty when re-shown without rotating.
struct ExternalConnection: Encodable, Sendable {
    let workspaceID: String
    let platformURL: String
    let authToken: String
    let registryEndpoint: String
    let heartbeatEndpoint: String
    let curlRegisterTemplate: String

    enum CodingKeys: String, CodingKey {
        case workspaceID = "workspace_id"
        case platformURL = "platform_url"
        case authToken = "auth_token"
        case registryEndpoint = "registry_endpoint"
        case heartbeatEndpoint = "heartbeat_endpoint"
        case curlRegisterTemplate = "curl_register_template"
    }

    init(platformURL: String, workspaceID: String, authToken: String) {
        let base = platformURL.hasSuffix("/") ? String(platformURL.dropLast()) : platformURL
        self.workspaceID = workspaceID
        self.platformURL = base
        self.authToken = authToken
        registryEndpoint = base + "/registry/register"
        heartbeatEndpoint = base + "/registry/heartbeat"
        let shownToken = authToken.isEmpty ? "<your workspace token>" : authToken
        curlRegisterTemplate = """
            curl -sS -X POST \(base)/registry/register \\
              -H 'Authorization: Bearer \(shownToken)' -H 'Content-Type: application/json' \\
              -d '{"id":"\(workspaceID)","url":"","delivery_mode":"poll","agent_card":{"name":"my-agent"}}'
            """
    }
}
