import TenantCrypto

/// This binary at /usr/local/bin/molecule-tenant. A symlink there belongs to `upgrade`
/// (releases under /opt/molecule-tenant), which install leaves alone.
public struct BinaryStep: InstallStep {
    public let name = "binary"
    public let title = "Install the molecule-tenant binary"

    public static let path = "/usr/local/bin/molecule-tenant"

    public init() {}

    static func digest(_ files: HostFiles, realPath: String) -> String? {
        guard case .success(let bytes) = files.readBytes(realPath) else { return nil }
        return Hex.encode(SHA256.hash(bytes))
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        if let target = context.files.symlinkTarget(Self.path) {
            return StepCheck(notes: ["\(Self.path) -> \(target) is managed by `molecule-tenant upgrade`; left as it is"])
        }
        guard let mine = Self.digest(context.files, realPath: context.binaryPath) else {
            throw .message("cannot read this binary (\(context.binaryPath))")
        }
        let installed = Self.digest(context.files, realPath: context.files.path(Self.path))
        guard installed != mine else { return .done }
        context.markServicesStale()
        let what = installed == nil ? "install" : "replace"
        return StepCheck(changes: [Change("\(what) \(Self.path) (sha256 \(mine.prefix(12)))")])
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        context.journal.remember(Self.path, files: context.files)
        try context.files.copy(from: context.binaryPath, to: Self.path, mode: 0o755)
        context.log.line("installed \(Self.path)")
        context.markServicesStale()
    }
}
