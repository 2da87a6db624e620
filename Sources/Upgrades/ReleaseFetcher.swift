import Releases

/// Gets release files from `file://`, `http://` or `https://` locations. HTTP goes through
/// `curl`, which every supported distribution ships and which brings TLS, proxies and
/// redirects without linking an HTTP stack into the binary.
public struct ReleaseFetcher: Sendable {
    public init() {}

    /// - Parameter progress: told the bytes received so far, about four times a second
    ///   while an HTTP download runs.
    public func fetch(_ location: String, limit: Int, progress: ((Int) -> Void)? = nil) throws -> [UInt8] {
        if location.hasPrefix("file://") {
            return try FileBytes.read(String(location.dropFirst("file://".count)), limit: limit)
        }
        guard location.hasPrefix("https://") || location.hasPrefix("http://") else {
            throw ReleaseError.unreadable(path: location, reason: "only file://, http:// and https:// locations are supported")
        }
        let temporary = "/tmp/molecule-tenant-fetch-\(UInt64.random(in: 0...UInt64.max))"
        defer { _ = FileBytes.remove(temporary) }
        let outcome = try ChildCommand.run(
            ["/usr/bin/env", "curl", "-fsSL", "--proto", "=https,http", "--max-time", "600", "--max-filesize", "\(limit)",
             "-o", temporary, location], timeout: .seconds(620),
            tick: progress.map { report in { report(FileBytes.size(temporary) ?? 0) } })
        guard outcome.status == 0 else {
            let reason = outcome.output.split(separator: "\n").last.map(String.init) ?? "curl failed"
            throw ReleaseError.unreadable(path: location, reason: reason)
        }
        return try FileBytes.read(temporary, limit: limit)
    }

    /// Downloads to `path` (the bundle and its signature are kept next to each other).
    public func download(_ location: String, to path: String, limit: Int = 512 << 20, progress: ((Int) -> Void)? = nil) throws {
        try FileBytes.write(try fetch(location, limit: limit, progress: progress), to: path)
    }
}
