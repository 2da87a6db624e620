import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Random (version 4) UUIDs in lowercase canonical text, for memory ids.
///
/// Foundation's `UUID()` opens, reads and closes /dev/urandom for every id (four system
/// calls); every commit makes one, in the plugin and in the server's plugin client. Here
/// one read of a descriptor kept open fills 4 KiB, enough for 256 ids. The bytes are the
/// kernel's CSPRNG output either way. Our processes never fork without exec, so no two
/// processes share a buffer.
public enum RandomUUID {
    private static let entropy = Mutex(Entropy())

    public static func next() -> String {
        let (high, low) = entropy.withLock { $0.take() }
        // Version 4 (random), variant 10 (RFC 9562).
        let first = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let second = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            func put(_ value: UInt64, nibbles: Int) {
                var shift = nibbles * 4
                while shift > 0 {
                    shift -= 4
                    buffer[position] = hexDigits[Int((value >> UInt64(shift)) & 0xF)]
                    position += 1
                }
            }
            func dash() {
                buffer[position] = UInt8(ascii: "-")
                position += 1
            }
            put(first >> 32, nibbles: 8)
            dash()
            put(first >> 16, nibbles: 4)
            dash()
            put(first, nibbles: 4)
            dash()
            put(second >> 48, nibbles: 4)
            dash()
            put(second, nibbles: 12)
            return position
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private struct Entropy: ~Copyable {
        private var words = [UInt64](repeating: 0, count: 512)
        private var next = 512

        mutating func take() -> (UInt64, UInt64) {
            if next + 2 > words.count {
                refill()
                next = 0
            }
            defer { next += 2 }
            return (words[next], words[next + 1])
        }

        /// Opened once (close-on-exec, so a successor started with exec does not inherit it).
        private var urandom: Int32 = -2

        private mutating func refill() {
            if urandom == -2 { urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC) }
            let descriptor = urandom
            let complete = words.withUnsafeMutableBytes { raw -> Bool in
                guard descriptor >= 0 else { return false }
                var filled = 0
                while filled < raw.count {
                    let count = read(descriptor, raw.baseAddress! + filled, raw.count - filled)
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { return false }
                    filled += count
                }
                return true
            }
            guard !complete else { return }
            // No /dev/urandom (a bare chroot?): the standard library's generator, a word at a time.
            var generator = SystemRandomNumberGenerator()
            for index in words.indices { words[index] = generator.next() }
        }
    }
}
