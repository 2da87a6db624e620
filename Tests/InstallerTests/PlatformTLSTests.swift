import Foundation
import Installer
import TestSupport
import Testing

/// The platform client speaks TLS through OpenSSL and verifies the certificate: a local
/// https server with a self-signed certificate is refused, and accepted once that
/// certificate is the trusted store (SSL_CERT_FILE, read by OpenSSL's default paths).
@Suite("Platform TLS", .serialized)
struct PlatformTLSTests {
    static let server = """
        import http.server, ssl, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'{"config":{"RATE_LIMIT":"900"}}'
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *a): pass
        s = http.server.HTTPServer(("127.0.0.1", 0), H)
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
        s.socket = c.wrap_socket(s.socket, server_side=True)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    @Test func httpsVerifiesTheCertificateAndTheHostName() throws {
        let directory = NSTemporaryDirectory() + "mt-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generated = try ChildProcess(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                                          "-addext", "subjectAltName=DNS:localhost", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem"]).wait()
        try #require(generated.status == 0, "openssl req failed: \(generated.stderr)")
        try Self.server.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        let process = try ChildProcess(["sh", "-c", "exec python3 \(directory)/server.py \(directory)/cert.pem \(directory)/key.pem > \(directory)/port"])
        // SIGKILL: the test process may block SIGTERM, and children inherit the mask.
        defer { process.signal(SIGKILL); _ = process.wait() }
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            port = ((try? String(contentsOfFile: directory + "/port", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if port.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        }
        try #require(!port.isEmpty, "the https test server did not start")

        // Untrusted: the system store does not know this certificate.
        #expect {
            _ = try HTTPCall().send("GET", "https://localhost:\(port)/cp/tenants/config")
        } throws: { error in
            "\(error)".contains("TLS handshake with localhost failed") && "\(error)".contains("self-signed")
        }
        setenv("SSL_CERT_FILE", directory + "/cert.pem", 1)
        defer { unsetenv("SSL_CERT_FILE") }
        let response = try HTTPCall().send("GET", "https://localhost:\(port)/cp/tenants/config")
        #expect(response.status == 200)
        #expect(response.text == #"{"config":{"RATE_LIMIT":"900"}}"#)
        // Trusted certificate, wrong name: 127.0.0.1 is not in its subjectAltName.
        #expect(throws: InstallError.self) { _ = try HTTPCall().send("GET", "https://127.0.0.1:\(port)/") }
    }
}
