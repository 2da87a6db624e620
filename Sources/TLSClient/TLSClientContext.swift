#if canImport(Glibc)
import Glibc
#endif
import CLibSSL

/// OpenSSL's client settings, shared by every connection made with them: the peer's
/// certificate chain must verify against the system's trust store (which OpenSSL reads
/// from its default paths, so `SSL_CERT_FILE` and `SSL_CERT_DIR` replace it) plus any
/// extra CA file given, and TLS 1.2 is the oldest version spoken.
///
/// An `SSL_CTX` is safe to share between threads once configured, which is why this is
/// `Sendable`: nothing changes it after `init`.
public final class TLSClientContext: @unchecked Sendable {
    let pointer: OpaquePointer

    /// - Parameter extraCAFile: a PEM file of CA certificates trusted in addition to the
    ///   system's (a private CA, or a test CA); an unreadable or empty file is an error.
    public init(extraCAFile: String? = nil) throws(TLSFailure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSFailure("TLS is unavailable (OpenSSL could not create a context)")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        molecule_ssl_ctx_allow_unannounced_close(context)
        guard SSL_CTX_set_default_verify_paths(context) == 1, molecule_ssl_ctx_require_tls12(context) == 1 else {
            SSL_CTX_free(context)
            throw TLSFailure("TLS is unavailable (no CA certificates? apt-get install ca-certificates)")
        }
        if let extraCAFile {
            guard SSL_CTX_load_verify_locations(context, extraCAFile, nil) == 1 else {
                let reason = OpenSSLError.last()
                SSL_CTX_free(context)
                throw TLSFailure("cannot read CA certificates from \(extraCAFile): \(reason)")
            }
        }
        pointer = context
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// A new connection object that will verify `host` (a name, or an IP literal, which
    /// must then be in the certificate's IP addresses and gets no SNI).
    func makeConnection(host: String) throws(TLSFailure) -> OpaquePointer {
        guard let ssl = SSL_new(pointer) else { throw TLSFailure("TLS is unavailable (OpenSSL could not create a connection)") }
        if OpenSSLError.isIPLiteral(host) {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = molecule_ssl_set_server_name(ssl, host)
            _ = SSL_set1_host(ssl, host)
        }
        return ssl
    }

    /// Why a handshake failed: the certificate check's verdict when there is one, else
    /// OpenSSL's error queue.
    static func handshakeFailure(_ ssl: OpaquePointer, host: String) -> TLSFailure {
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            return TLSFailure("TLS handshake with \(host) failed: certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))")
        }
        return TLSFailure("TLS handshake with \(host) failed: \(OpenSSLError.last())")
    }
}

enum OpenSSLError {
    /// The oldest error on this thread's OpenSSL queue, as text; the queue is emptied.
    static func last() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "the connection closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var address = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }
}
