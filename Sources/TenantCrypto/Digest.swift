import CLibCrypto

/// SHA-256 through OpenSSL's libcrypto (already linked by libpq, so no new dependency).
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array(bytes)
        let ok = input.withUnsafeBytes { raw in
            digest.withUnsafeMutableBytes { out in
                var length: UInt32 = 0
                return EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, EVP_sha256(), nil) == 1
            }
        }
        // EVP_Digest only fails on allocation failure; a wrong digest would be worse than stopping.
        precondition(ok, "EVP_Digest(sha256) failed")
        return digest
    }

    /// The digest of a string's UTF-8 bytes, as lowercase hex.
    public static func hex(_ text: String) -> String {
        Hex.encode(hash(Array(text.utf8)))
    }
}

/// Random bytes from OpenSSL's CSPRNG (seeded from the kernel).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32(count)) == 1 }
        precondition(ok, "RAND_bytes failed: the system CSPRNG is unavailable")
        return out
    }
}

/// Equality that takes the same time wherever the first difference is, for comparing secrets.
public func constantTimeEquals<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    let left = Array(a)
    let right = Array(b)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<left.count { difference |= left[index] ^ right[index] }
    return difference == 0
}
