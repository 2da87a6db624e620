#if canImport(Glibc)
import Glibc
#endif

/// A failure of the installer, phrased for the person who has to act on it.
public enum InstallError: Error, CustomStringConvertible, Equatable {
    case message(String)
    case system(String, Int32)
    /// Preflight found problems; each line says what to do.
    case preflight([String])
    /// A command failed; `output` is its last lines (already free of secrets).
    case command(String, status: Int32, output: String)

    public var description: String {
        switch self {
        case .message(let text): text
        case .system(let text, let code): "\(text): \(String(cString: strerror(code)))"
        case .preflight(let lines): lines.joined(separator: "\n")
        case .command(let what, let status, let output):
            "\(what) failed (exit \(status))" + (output.isEmpty ? "" : ":\n" + Self.tail(output, lines: 15))
        }
    }

    static func tail(_ text: String, lines: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}
