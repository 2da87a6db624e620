#if canImport(Glibc)
import Glibc
#endif
import CLibSSL

/// TLS over a connected, blocking socket (the installer's platform calls): the
/// handshake runs in `init`, reads and writes block within the socket's own timeouts.
public final class TLSSocket {
    public let fd: Int32
    private let ssl: OpaquePointer

    /// Takes over `fd`: `close()` closes it, and so does a failed handshake.
    public init(fd: Int32, host: String, context: TLSClientContext) throws(TLSFailure) {
        self.fd = fd
        let ssl: OpaquePointer
        do {
            ssl = try context.makeConnection(host: host)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        ERR_clear_error()
        guard SSL_connect(ssl) == 1 else {
            let failure = TLSClientContext.handshakeFailure(ssl, host: host)
            SSL_free(ssl)
            _ = Glibc.close(fd)
            throw failure
        }
    }

    public func sendAll(_ bytes: [UInt8]) throws(TLSFailure) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let sent = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32($0.count - offset)) }
            guard sent > 0 else { throw TLSFailure("sending over TLS failed: \(OpenSSLError.last())") }
            offset += Int(sent)
        }
    }

    /// Bytes read, or 0 at the end of the stream.
    public func receive(into buffer: inout [UInt8]) throws(TLSFailure) -> Int {
        ERR_clear_error()
        let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return Int(count) }
        let error = SSL_get_error(ssl, count)
        // A clean close_notify, or a server that just closes after Connection: close.
        if error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0) { return 0 }
        throw TLSFailure("reading over TLS failed: \(OpenSSLError.last())")
    }

    public func close() {
        SSL_shutdown(ssl)
        SSL_free(ssl)
        _ = Glibc.close(fd)
    }
}
