/// Why a TLS connection could not be made or used, in words an operator can act on
/// (for example "certificate verify failed: self-signed certificate").
public struct TLSFailure: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
