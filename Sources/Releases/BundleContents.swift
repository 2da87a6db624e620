/// What a release tarball holds: the binary and its manifest, nothing else.
public struct BundleContents: Sendable {
    public static let binaryName = "molecule-tenant"
    public static let manifestName = "manifest.json"

    public let manifest: ReleaseManifest
    public let binary: [UInt8]

    public init(manifest: ReleaseManifest, binary: [UInt8]) {
        self.manifest = manifest
        self.binary = binary
    }
}
