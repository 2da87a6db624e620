import FoundationEssentials
import Releases

/// `MOLECULE_RELEASE_URL/channels/<name>.json`: the release a channel points at.
public struct ReleaseChannel: Codable, Sendable {
    public var version: String
    /// Absolute, or relative to the release URL.
    public var url: String
    public var sha256: String?

    /// Fetches and parses the channel file.
    public static func fetch(releaseURL: String, name: String, fetcher: ReleaseFetcher) throws -> ReleaseChannel {
        let location = joined(releaseURL, "channels/\(name).json")
        let bytes = try fetcher.fetch(location, limit: 64 * 1024)
        do {
            return try JSONDecoder().decode(ReleaseChannel.self, from: Data(bytes))
        } catch {
            throw ReleaseError.badBundle("channel \(location) is not {version, url, sha256} JSON")
        }
    }

    /// The bundle's absolute location.
    public func bundleURL(releaseURL: String) -> String {
        url.contains("://") ? url : Self.joined(releaseURL, url)
    }

    static func joined(_ base: String, _ path: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/" + (path.hasPrefix("/") ? String(path.dropFirst()) : path)
    }
}
