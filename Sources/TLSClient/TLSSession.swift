import CLibSSL

/// One TLS client connection that does no I/O of its own: ciphertext from the network
/// goes in through `receive`, ciphertext to send comes out of `takeOutput`, so an event
/// loop (SwiftNIO) can drive it without blocking. OpenSSL reads and writes two memory
/// BIOs instead of a socket.
///
/// Not thread-safe: use it from one thread (the channel's event loop) at a time.
public final class TLSSession {
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private let host: String

    public init(host: String, context: TLSClientContext) throws(TLSFailure) {
        let ssl = try context.makeConnection(host: host)
        guard let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSFailure("TLS is unavailable (OpenSSL could not create a buffer)")
        }
        // The connection owns both BIOs from here on; SSL_free releases them.
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_connect_state(ssl)
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        self.host = host
    }

    deinit {
        SSL_free(ssl)
    }

    /// Advances the handshake with what has been received; true once it is complete.
    /// Throws when it failed (an untrusted certificate, a name mismatch, no common
    /// protocol). Send `takeOutput()` after every call either way.
    public func handshake() throws(TLSFailure) -> Bool {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return true }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return false
        default: throw TLSClientContext.handshakeFailure(ssl, host: host)
        }
    }

    /// Ciphertext that arrived from the peer.
    public func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, !ciphertext.isEmpty else { return }
        // A memory BIO grows as needed, so it takes every byte.
        _ = BIO_write(incoming, base, Int32(ciphertext.count))
    }

    /// Ciphertext waiting to go to the peer (handshake messages, encrypted records).
    public func takeOutput() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32(pending)) }
        return read > 0 ? Array(bytes.prefix(Int(read))) : []
    }

    /// Encrypts application data; the records are then in `takeOutput()`.
    public func encrypt(_ plaintext: UnsafeRawBufferPointer) throws(TLSFailure) {
        guard let base = plaintext.baseAddress, !plaintext.isEmpty else { return }
        ERR_clear_error()
        // Without partial writes enabled, SSL_write takes everything or fails; the
        // outgoing memory BIO never pushes back.
        guard SSL_write(ssl, base, Int32(plaintext.count)) > 0 else {
            throw TLSFailure("sending over TLS failed: \(OpenSSLError.last())")
        }
    }

    /// The next decrypted bytes, or nil when nothing more can be read until more
    /// ciphertext arrives (or the peer sent close_notify).
    public func decrypt() throws(TLSFailure) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16384)
        ERR_clear_error()
        let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return Array(buffer.prefix(Int(count))) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE, SSL_ERROR_ZERO_RETURN: return nil
        default: throw TLSFailure("reading over TLS failed: \(OpenSSLError.last())")
        }
    }
}
