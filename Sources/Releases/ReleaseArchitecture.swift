/// The architecture name in bundle file names, read from a binary's ELF header so a
/// bundle made on one machine for another is named for what it holds.
public enum ReleaseArchitecture {
    /// "amd64" or "arm64"; nil when `binary` is not a little-endian 64-bit ELF for either.
    public static func of(_ binary: [UInt8]) -> String? {
        guard binary.count >= 20, binary[0] == 0x7F, binary[1] == UInt8(ascii: "E"), binary[2] == UInt8(ascii: "L"),
              binary[3] == UInt8(ascii: "F"), binary[4] == 2, binary[5] == 1 else { return nil }
        switch UInt16(binary[18]) | UInt16(binary[19]) << 8 {
        case 0x3E: return "amd64"
        case 0xB7: return "arm64"
        default: return nil
        }
    }

    /// This machine's architecture in the same naming.
    public static var host: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }

    /// `molecule-tenant-<version>-linux-<arch>.tar.gz`
    public static func bundleName(version: String, architecture: String) -> String {
        "molecule-tenant-\(version)-linux-\(architecture).tar.gz"
    }
}
