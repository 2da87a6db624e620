/// What an `upgrade --auto` run follows, from the tenant's config (tenant.env, secrets.env,
/// then the process environment, as the timer's service loads them).
public struct AutoUpdateSettings: Sendable {
    /// `AUTO_UPDATE` (default on): `0`, `false`, `no` or `off` stop automatic upgrades; the
    /// run still reports status to a platform.
    public var enabled: Bool
    /// `UPDATE_WINDOW`; nil = any time.
    public var window: UpdateWindow?
    /// `MOLECULE_RELEASE_CHANNEL` (default `stable`), followed when no platform pins a version.
    public var channel: String
    /// nil for a standalone tenant.
    public var platform: (any PlatformConnection)?

    public init(enabled: Bool = true, window: UpdateWindow? = nil, channel: String = "stable", platform: (any PlatformConnection)? = nil) {
        self.enabled = enabled
        self.window = window
        self.channel = channel
        self.platform = platform
    }

    /// Reads the settings; a malformed value is an error naming it, never a silent default.
    public init(values: [String: String], platform: (any PlatformConnection)?) throws(AutoUpdateSettingsError) {
        self.platform = platform
        switch (values["AUTO_UPDATE"] ?? "").lowercased() {
        case "", "1", "true", "yes", "on": enabled = true
        case "0", "false", "no", "off": enabled = false
        case let other: throw AutoUpdateSettingsError("AUTO_UPDATE=\(other) is not valid: use 1 (on, the default) or 0 (off)")
        }
        do {
            window = try values["UPDATE_WINDOW"].flatMap { $0.isEmpty ? nil : try UpdateWindow(parsing: $0) }
        } catch let error as UpdateWindowError {
            throw AutoUpdateSettingsError(error.description)
        } catch {
            throw AutoUpdateSettingsError("\(error)")
        }
        channel = values["MOLECULE_RELEASE_CHANNEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "stable"
    }
}

public struct AutoUpdateSettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
