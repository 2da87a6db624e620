#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Step lines for a person at a terminal, with one line of progress within the current
/// step (bytes fetched, seconds waited) rewritten in place and cleared before the next
/// line. Off a terminal, progress is dropped and steps are plain lines.
final class TerminalProgress: Sendable {
    static let shared = TerminalProgress()

    let isTerminal = isatty(STDOUT_FILENO) == 1
    private let showing = Mutex(false)

    /// A finished step: "==> message" on a terminal, the message alone elsewhere.
    func step(_ message: String) {
        clear()
        Output.standard(isTerminal ? "==> \(message)" : message)
    }

    /// Progress within the current step; terminals only.
    func progress(_ message: String) {
        guard isTerminal else { return }
        showing.withLock { showing in
            Self.raw("\r\u{1B}[K    \(message)")
            showing = true
        }
    }

    /// Removes a progress line, so what follows (an error on stderr, say) starts clean.
    func clear() {
        showing.withLock { showing in
            guard showing else { return }
            Self.raw("\r\u{1B}[K")
            showing = false
        }
    }

    private static func raw(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}
