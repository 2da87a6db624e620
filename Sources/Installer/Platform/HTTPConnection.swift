#if canImport(Glibc)
import Glibc
#endif
import TLSClient

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

/// TLS through the shared OpenSSL client (TLSClient). A new context per call, so the
/// trust store (including `SSL_CERT_FILE`) is read as it is now.
final class TLSConnection: HTTPConnection {
    private let socket: TLSSocket

    /// Takes over `fd`, closing it when the handshake fails.
    init(fd: Int32, host: String) throws(InstallError) {
        let context: TLSClientContext
        do { context = try TLSClientContext() } catch { _ = Glibc.close(fd); throw .message(error.message) }
        do { socket = try TLSSocket(fd: fd, host: host, context: context) } catch { throw .message(error.message) }
    }

    func sendAll(_ bytes: [UInt8]) throws(InstallError) {
        do { try socket.sendAll(bytes) } catch { throw .message(error.message) }
    }

    func receive(into buffer: inout [UInt8]) throws(InstallError) -> Int {
        do { return try socket.receive(into: &buffer) } catch { throw .message(error.message) }
    }

    func close() { socket.close() }
}
