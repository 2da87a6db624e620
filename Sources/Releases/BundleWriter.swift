import CLibArchive
import FoundationEssentials
import TenantCrypto

/// Writes a release: the gzip'd tarball (libarchive, pax-restricted tar) and the detached
/// Ed25519 signature over the tarball's exact bytes, `<tarball>.sig`.
public enum BundleWriter {
    /// Writes `<directory>/molecule-tenant-<version>-linux-<arch>.tar.gz` and its `.sig`;
    /// returns the tarball's path.
    public static func write(_ contents: BundleContents, architecture: String, key: Ed25519.PrivateKey,
                             into directory: String, modified: Int = Int(Date().timeIntervalSince1970)) throws -> String {
        let path = directory + "/" + ReleaseArchitecture.bundleName(version: contents.manifest.version, architecture: architecture)
        let tarball = try archive(contents, modified: modified)
        try FileBytes.write(tarball, to: path)
        try FileBytes.write(key.sign(tarball), to: path + ".sig")
        return path
    }

    /// The tarball's bytes: `manifest.json` first (readers can reject early), then the binary.
    public static func archive(_ contents: BundleContents, modified: Int) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifest = Array(try encoder.encode(contents.manifest)) + [UInt8(ascii: "\n")]

        guard let archive = archive_write_new() else { throw ReleaseError.archive("out of memory") }
        defer { archive_write_free(archive) }
        let sink = MemorySink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        try check(archive, archive_write_add_filter_gzip(archive))
        try check(archive, archive_write_set_format_pax_restricted(archive))
        try check(archive, archive_write_open2(archive, context, nil, { _, context, buffer, length in
            guard let context, let buffer else { return -1 }
            Unmanaged<MemorySink>.fromOpaque(context).takeUnretainedValue().bytes
                .append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        }, nil, nil))
        try add(BundleContents.manifestName, manifest, mode: 0o644, modified: modified, to: archive)
        try add(BundleContents.binaryName, contents.binary, mode: 0o755, modified: modified, to: archive)
        try check(archive, archive_write_close(archive))
        return sink.bytes
    }

    private static func add(_ name: String, _ bytes: [UInt8], mode: mode_t, modified: Int, to archive: OpaquePointer) throws {
        guard let entry = archive_entry_new() else { throw ReleaseError.archive("out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, la_int64_t(bytes.count))
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        archive_entry_set_perm(entry, mode)
        archive_entry_set_mtime(entry, time_t(modified), 0)
        try check(archive, archive_write_header(archive, entry))
        let written = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ReleaseError.archive(message(archive)) }
    }
}

/// Collects the archive's output; libarchive calls back synchronously on this thread.
private final class MemorySink {
    var bytes: [UInt8] = []
}

func check(_ archive: OpaquePointer, _ status: Int32) throws {
    // ARCHIVE_WARN (-20) still produced the data; only FAILED and FATAL stop.
    guard status >= ARCHIVE_WARN else { throw ReleaseError.archive(message(archive)) }
}

func message(_ archive: OpaquePointer) -> String {
    archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
}
