import MemoryContract

/// `POST /workspaces` body (admin).
struct CreateWorkspaceBody: Decodable, Sendable {
    let name: String
    let role: String?
    let tier: Int?
    let runtime: String?
    let parentID: String?
    let url: String?
    let deliveryMode: String?

    enum CodingKeys: String, CodingKey {
        case name, role, tier, runtime, url
        case parentID = "parent_id"
        case deliveryMode = "delivery_mode"
    }
}

/// `PATCH /workspaces/:id` body: an absent field is left alone, `"parent_id": null`
/// makes the workspace a root.
struct PatchWorkspaceBody: Decodable, Sendable {
    let name: PatchField<String>
    let parentID: PatchField<String>

    enum CodingKeys: String, CodingKey {
        case name
        case parentID = "parent_id"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodePatchField(String.self, forKey: .name)
        parentID = try container.decodePatchField(String.self, forKey: .parentID)
    }
}

/// The create reply: the workspace, plus for external runtimes the one-time
/// connection block (the only time its token is shown).
struct CreatedWorkspace: Encodable, Sendable {
    let workspace: WorkspaceView
    let connection: ExternalConnection?

    enum CodingKeys: String, CodingKey { case external, connection }

    func encode(to encoder: any Encoder) throws {
        try workspace.encode(to: encoder)
        guard let connection else { return }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(true, forKey: .external)
        try container.encode(connection, forKey: .connection)
    }
}

enum DeliveryMode {
    static let push = "push"
    static let poll = "poll"

    static func validate(_ value: String?) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard value == push || value == poll else { throw APIError.badRequest("delivery_mode must be 'push' or 'poll'") }
        return value
    }
}
