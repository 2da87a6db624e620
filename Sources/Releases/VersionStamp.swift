#if canImport(Glibc)
import Glibc
#endif

/// Reads and patches the version marker of a built binary (Sources/CBuildInfo/marker.c):
/// a fixed 96-byte, NUL-padded slot that starts with a unique prefix. Stamping rewrites
/// the bytes after the prefix, so one build serves every version a release needs.
public enum VersionStamp {
    /// MARKER_SIZE in marker.c: the whole slot, prefix included.
    static let slotSize = 96

    /// The marker prefix. Spelled reversed so this code does not put a second copy of it
    /// into the binary (the stamper refuses any binary holding it more than once).
    static var prefix: [UInt8] { Array("@@NOISREV_TNANET_ELUCELOM@@".utf8.reversed()) }

    /// Longest version that fits the slot with its terminating NUL.
    public static var maximumLength: Int { slotSize - prefix.count - 1 }

    /// Throws unless `version` is a plain release name that fits the slot.
    public static func validate(_ version: String) throws {
        let allowed = version.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
        }
        guard !version.isEmpty, version.utf8.count <= maximumLength, allowed else { throw ReleaseError.invalidVersion(version) }
    }

    /// The version currently in `binary`'s slot.
    public static func read(_ binary: [UInt8]) throws -> String {
        let start = try slotStart(binary)
        let value = binary[start..<(start + slotSize - prefix.count)].prefix { $0 != 0 }
        return String(decoding: value, as: UTF8.self)
    }

    /// Writes `version` into the slot, NUL-padded to its full size.
    public static func stamp(_ binary: inout [UInt8], version: String) throws {
        try validate(version)
        let start = try slotStart(binary)
        let valueArea = slotSize - prefix.count
        var replacement = Array(version.utf8)
        replacement += [UInt8](repeating: 0, count: valueArea - replacement.count)
        binary.replaceSubrange(start..<(start + valueArea), with: replacement)
    }

    /// Offset just after the prefix, once the prefix is known to occur exactly once and
    /// the slot still has the shape the compiler gave it (a value, then only NULs).
    private static func slotStart(_ binary: [UInt8]) throws -> Int {
        let needle = prefix
        let offsets = occurrences(of: needle, in: binary)
        guard offsets.count == 1 else { throw ReleaseError.markerCount(offsets.count) }
        let start = offsets[0] + needle.count
        let end = start + slotSize - needle.count
        guard end <= binary.count else { throw ReleaseError.markerSlotDamaged }
        let value = binary[start..<end]
        guard let firstNUL = value.firstIndex(of: 0), value[firstNUL...].allSatisfy({ $0 == 0 }) else {
            throw ReleaseError.markerSlotDamaged
        }
        return start
    }

    /// Every offset where `needle` starts (memchr to the first byte, then memcmp:
    /// binaries are tens of megabytes).
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let base = hay.baseAddress, let pattern = pin.baseAddress, pin.count > 0 else { return [] }
                var found: [Int] = []
                var offset = 0
                while offset + pin.count <= hay.count,
                      let hit = memchr(base + offset, Int32(needle[0]), hay.count - offset - pin.count + 1) {
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(hit, pattern, pin.count) == 0 { found.append(position) }
                    offset = position + 1
                }
                return found
            }
        }
    }
}
