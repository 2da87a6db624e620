#if canImport(Glibc)
import Glibc
#endif
import CLibSSL

/// A connected byte stream: a plain TCP socket, or TLS over one (OpenSSL, verifying the
/// certificate chain against the system's CA store and the host name).
protocol HTTPConnection {
    func sendAll(_ bytes: [UInt8]) throws(InstallError)
    /// Bytes read, or 0 at the end of the stream.
    func receive(into buffer: inout [UInt8]) throws(InstallError) -> Int
    func close()
}

struct PlainConnection: HTTPConnection {
    let fd: Int32

    func sendAll(_ bytes: [UInt8]) throws(InstallError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 { if errno == EINTR { continue }; throw .system("sending the request failed", errno) }
            offset += sent
        }
    }

    func receive(into buffer: inout [UInt8]) throws(InstallError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw .system("reading the reply failed", errno == EAGAIN ? ETIMEDOUT : errno)
        }
    }

    func close() { _ = Glibc.close(fd) }
}

final class TLSConnection: HTTPConnection {
    let fd: Int32
    let context: OpaquePointer
    let ssl: OpaquePointer

    init(fd: Int32, host: String) throws(InstallError) {
        self.fd = fd
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .message("TLS is unavailable (OpenSSL could not create a context)") }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        molecule_ssl_ctx_allow_unannounced_close(context)
        guard SSL_CTX_set_default_verify_paths(context) == 1, molecule_ssl_ctx_require_tls12(context) == 1,
              let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw .message("TLS is unavailable (no CA certificates? apt-get install ca-certificates)")
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        _ = molecule_ssl_set_server_name(ssl, host)
        SSL_set1_host(ssl, host)
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            let reason = verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : Self.lastError()
            SSL_free(ssl)
            SSL_CTX_free(context)
            throw .message("TLS handshake with \(host) failed: \(reason)")
        }
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "the connection closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func sendAll(_ bytes: [UInt8]) throws(InstallError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32($0.count - offset)) }
            guard sent > 0 else { throw .message("sending over TLS failed: \(Self.lastError())") }
            offset += Int(sent)
        }
    }

    func receive(into buffer: inout [UInt8]) throws(InstallError) -> Int {
        let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return Int(count) }
        let error = SSL_get_error(ssl, count)
        // A clean close_notify, or a server that just closes after Connection: close.
        if error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0) { return 0 }
        throw .message("reading over TLS failed: \(Self.lastError())")
    }

    func close() {
        SSL_shutdown(ssl)
        SSL_free(ssl)
        SSL_CTX_free(context)
        _ = Glibc.close(fd)
    }
}
