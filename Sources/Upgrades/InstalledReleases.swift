import Releases

#if canImport(Glibc)
import Glibc
#endif

/// The releases unpacked on this host and which one the symlink names.
public struct InstalledReleases: Sendable {
    let layout: HostLayout

    public init(layout: HostLayout) { self.layout = layout }

    /// The version the symlink points at, from its target `.../releases/<version>/molecule-tenant`.
    public func current() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(layout.binaryLink, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let parts = target.split(separator: "/")
        guard parts.count >= 2, parts.last == "molecule-tenant" else { return nil }
        return String(parts[parts.count - 2])
    }

    /// The version at the binary's path: the symlink's release, or what a plain binary there
    /// (as `install` puts it) reports with `--version`.
    public func installedVersion() -> String? {
        if let current = current() { return current }
        guard isPlainFile(layout.binaryLink),
              let outcome = try? ChildCommand.run([layout.binaryLink, "--version"], timeout: .seconds(30)), outcome.status == 0 else { return nil }
        return VersionReport(outcome.output.trimmingWhitespace())?.version
    }

    /// Turns a plain binary at the binary's path into the first release: copied to
    /// `releases/<version>/`, then the path becomes a symlink to it, so the upgrade has a
    /// release to go back to. Running processes keep their (unchanged) program.
    /// Returns the adopted version; nil when the path is already a symlink or absent.
    @discardableResult
    public func adoptPlainBinary() throws -> String? {
        guard isPlainFile(layout.binaryLink) else { return nil }
        guard let version = installedVersion() else {
            throw ReleaseError.unreadable(path: layout.binaryLink, reason: "it does not report a version with --version")
        }
        try VersionStamp.validate(version)
        if !has(version) {
            try FileBytes.makeDirectories(layout.releaseDirectory(version))
            try FileBytes.write(try FileBytes.read(layout.binaryLink), to: layout.releaseBinary(version), mode: 0o755)
        }
        try activate(version)
        return version
    }

    private func isPlainFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Unpacks a verified bundle's binary into `releases/<version>/` (replacing a partial one).
    public func install(_ contents: BundleContents) throws {
        let directory = layout.releaseDirectory(contents.manifest.version)
        try FileBytes.makeDirectories(directory)
        try FileBytes.write(contents.binary, to: layout.releaseBinary(contents.manifest.version), mode: 0o755)
    }

    public func has(_ version: String) -> Bool { access(layout.releaseBinary(version), X_OK) == 0 }

    /// Points the symlink at `version` atomically (a new link renamed over the old one).
    public func activate(_ version: String) throws {
        try FileBytes.makeDirectories(parentDirectory(layout.binaryLink))
        let temporary = layout.binaryLink + ".new"
        unlink(temporary)
        guard symlink(layout.releaseBinary(version), temporary) == 0, rename(temporary, layout.binaryLink) == 0 else {
            throw ReleaseError.unwritable(path: layout.binaryLink, reason: String(cString: strerror(errno)))
        }
    }

    /// Keeps `keep` and the newest others up to three releases in all; removes the rest,
    /// and every `rejected` release first (unpacked, then refused by its gate), so a broken
    /// release never takes the place of one that can be rolled back to.
    public func prune(keeping keep: [String], rejected: [String] = []) {
        let installed = versions()
        let others = installed.filter { !keep.contains($0) }
            .sorted { (ReleaseVersion($0) ?? ReleaseVersion("0")!) > (ReleaseVersion($1) ?? ReleaseVersion("0")!) }
        let broken = others.filter { rejected.contains($0) }
        let usable = others.filter { !rejected.contains($0) }
        for version in broken + usable.dropFirst(max(0, 3 - keep.count)) {
            unlink(layout.releaseBinary(version))
            rmdir(layout.releaseDirectory(version))
        }
    }

    public func versions() -> [String] {
        guard let handle = opendir(layout.releases) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
