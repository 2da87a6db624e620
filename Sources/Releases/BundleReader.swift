import CLibArchive
import FoundationEssentials
import TenantCrypto

/// Reads a release tarball (already verified by `SignatureVerifier`) into memory and
/// checks it is exactly a manifest and a binary whose sha256 the manifest names.
public enum BundleReader {
    static let manifestLimit = 64 * 1024
    static let binaryLimit = 512 * 1024 * 1024

    public static func read(_ tarball: [UInt8]) throws -> BundleContents {
        guard let archive = archive_read_new() else { throw ReleaseError.archive("out of memory") }
        defer { archive_read_free(archive) }
        try check(archive, archive_read_support_filter_gzip(archive))
        try check(archive, archive_read_support_format_tar(archive))
        var files: [String: [UInt8]] = [:]
        try tarball.withUnsafeBytes { raw in
            guard archive_read_open_memory(archive, raw.baseAddress, raw.count) == ARCHIVE_OK else {
                throw ReleaseError.badBundle(message(archive))
            }
            var entry: OpaquePointer?
            while true {
                let status = archive_read_next_header(archive, &entry)
                if status == ARCHIVE_EOF { break }
                guard status >= ARCHIVE_WARN, let entry else { throw ReleaseError.badBundle(message(archive)) }
                let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
                let limit = switch name {
                case BundleContents.manifestName: manifestLimit
                case BundleContents.binaryName: binaryLimit
                default: throw ReleaseError.badBundle("unexpected entry \"\(name)\" (a bundle holds only manifest.json and molecule-tenant)")
                }
                guard files[name] == nil else { throw ReleaseError.badBundle("\(name) appears twice") }
                guard archive_entry_filetype(entry) == 0o100000 else { throw ReleaseError.badBundle("\(name) is not a regular file") }
                files[name] = try data(of: archive, name: name, limit: limit)
            }
        }
        guard let manifestBytes = files[BundleContents.manifestName] else { throw ReleaseError.badBundle("manifest.json is missing") }
        guard let binary = files[BundleContents.binaryName] else { throw ReleaseError.badBundle("the molecule-tenant binary is missing") }
        let manifest: ReleaseManifest
        do {
            manifest = try JSONDecoder().decode(ReleaseManifest.self, from: Data(manifestBytes))
        } catch {
            throw ReleaseError.badBundle("manifest.json does not parse: \(error)")
        }
        try VersionStamp.validate(manifest.version)
        let actual = Hex.encode(SHA256.hash(binary))
        guard actual == manifest.sha256.lowercased() else { throw ReleaseError.checksumMismatch(expected: manifest.sha256, actual: actual) }
        return BundleContents(manifest: manifest, binary: binary)
    }

    private static func data(of archive: OpaquePointer, name: String, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            guard count > 0 else { throw ReleaseError.badBundle(message(archive)) }
            guard bytes.count + count <= limit else { throw ReleaseError.badBundle("\(name) is larger than \(limit) bytes") }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}
