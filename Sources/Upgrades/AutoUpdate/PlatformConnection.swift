/// The two calls `upgrade --auto` makes to a platform (DESIGN section 8,
/// docs/platform-protocol.md). The command layer provides them through the installer's
/// platform client, so every platform call shares one HTTP/TLS stack, SSRF guard, 10 s
/// timeout and 64 KiB reply cap.
public protocol PlatformConnection: Sendable {
    /// For messages.
    var baseURL: String { get }
    /// `GET /cp/tenants/config`'s `target_version`; nil when the platform names none.
    func targetVersion() throws -> String?
    /// `POST /cp/tenants/status`.
    func report(_ status: TenantStatusReport) throws
}
