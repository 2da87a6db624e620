import Foundation
import TestSupport
import Testing

/// Push-mode agents behind https: the server speaks TLS to them through OpenSSL and
/// verifies their certificate against the system's trust store plus `A2A_CA_FILE`.
@Suite("A2A over https")
struct HTTPSAgentTests {
    @Test func anHTTPSAgentSignedByTheConfiguredCAAnswersAndAnUntrustedOneIsRefused() async throws {
        let certificates = try TestCertificates()
        let trusted = try HTTPSTestAgent(certificate: certificates.leaf, key: certificates.leafKey)
        let untrusted = try HTTPSTestAgent(certificate: certificates.selfSigned, key: certificates.selfSignedKey)
        let server = try await RunningServer(extra: ["A2A_CA_FILE": certificates.ca])
        let lead = try server.createWorkspace("lead")
        let stranger = try server.createWorkspace("stranger-agent", parent: lead)
        let member = try server.createWorkspace("member", parent: lead)
        let registered = try server.send("POST", "/registry/register",
                                         #"{"id":"\#(lead)","url":"https://localhost:\#(trusted.port)/","agent_card":{"name":"lead"}}"#).object()
        let secret = try #require(registered["platform_inbound_secret"] as? String)
        #expect(try server.send("POST", "/registry/register",
                                #"{"id":"\#(stranger)","url":"https://localhost:\#(untrusted.port)/","agent_card":{"name":"s"}}"#).status == 200)
        let memberToken = try server.registerPoll(member)

        // Trusted through A2A_CA_FILE: a full round trip, with the inbound secret sent inside TLS.
        let reply = try server.send("POST", "/workspaces/\(lead)/a2a", a2aBody("over tls"), token: memberToken, headers: ["X-Workspace-ID": member])
        #expect(reply.status == 200, "\(reply.text)")
        let parts = (try reply.object()["result"] as? [String: Any])?["parts"] as? [[String: Any]]
        #expect(parts?.first?["text"] as? String == "tls echo: over tls (Bearer \(secret))")

        // A megabyte each way: many TLS records in both directions.
        let large = String(repeating: "z", count: 1 << 20)
        let echoed = try server.send("POST", "/workspaces/\(lead)/a2a", a2aBody(large), token: memberToken)
        #expect(echoed.status == 200)
        let echoedText = ((try echoed.object()["result"] as? [String: Any])?["parts"] as? [[String: Any]])?.first?["text"] as? String
        #expect(echoedText == "tls echo: \(large) (Bearer \(secret))")

        // A certificate no trusted CA signed: refused with a JSON error that says why.
        let refused = try server.send("POST", "/workspaces/\(stranger)/a2a", a2aBody("hi"), token: memberToken)
        #expect(refused.status == 502, "\(refused.text)")
        #expect(refused.errorBody?.code == "agent_tls_failed")
        #expect(refused.errorBody?.error.contains("certificate verify failed: self-signed certificate") == true, "\(refused.text)")
        #expect(untrusted.requests == 0, "nothing was sent to the untrusted agent")

        // The trust store still holds the CA for the next call: the refusal changed nothing.
        #expect(try server.send("POST", "/workspaces/\(lead)/a2a", a2aBody("again"), token: memberToken).status == 200)
        #expect(trusted.requests == 3)
    }

    @Test func withoutTheCAFileTheSameAgentIsRefused() async throws {
        let certificates = try TestCertificates()
        let agent = try HTTPSTestAgent(certificate: certificates.leaf, key: certificates.leafKey)
        let server = try await RunningServer()
        let lead = try server.createWorkspace("lead")
        let member = try server.createWorkspace("member", parent: lead)
        #expect(try server.send("POST", "/registry/register",
                                #"{"id":"\#(lead)","url":"https://localhost:\#(agent.port)/","agent_card":{"name":"lead"}}"#).status == 200)
        let refused = try server.send("POST", "/workspaces/\(lead)/a2a", a2aBody("hi"), token: try server.registerPoll(member))
        #expect(refused.status == 502)
        #expect(refused.errorBody?.code == "agent_tls_failed")
        #expect(refused.errorBody?.error.contains("unable to get local issuer certificate") == true, "\(refused.text)")
    }

    @Test func anUnreadableCAFileStopsTheServerWithOneLine() throws {
        let outcome = try MoleculeTenantBinary.run(["server", "--config", "/dev/null"], environment: [
            "DATABASE_URL": "postgres://127.0.0.1:1/none", "A2A_CA_FILE": "/nonexistent/ca.pem",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("cannot read CA certificates from /nonexistent/ca.pem"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("A2A_CA_FILE"))
    }
}

/// A test CA with a leaf for `localhost` it signed, and a self-signed `localhost`
/// certificate no one trusts, made with the openssl command in a temporary directory.
struct TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var leaf: String { directory + "/leaf.pem" }
    var leafKey: String { directory + "/leaf.key" }
    var selfSigned: String { directory + "/self.pem" }
    var selfSignedKey: String { directory + "/self.key" }

    init() throws {
        directory = NSTemporaryDirectory() + "mt-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost\n".write(toFile: directory + "/leaf.ext", atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + key + ["-days", "1", "-subj", "/CN=molecule test CA", "-keyout", directory + "/ca.key", "-out", ca])
        try Self.openssl(["req"] + key + ["-subj", "/CN=localhost", "-keyout", leafKey, "-out", directory + "/leaf.csr"])
        try Self.openssl(["x509", "-req", "-in", directory + "/leaf.csr", "-CA", ca, "-CAkey", directory + "/ca.key", "-CAcreateserial",
                          "-days", "1", "-extfile", directory + "/leaf.ext", "-out", leaf])
        try Self.openssl(["req", "-x509"] + key + ["-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                                                   "-keyout", selfSignedKey, "-out", selfSigned])
    }

    private static func openssl(_ arguments: [String]) throws {
        let outcome = try ChildProcess(["openssl"] + arguments).wait()
        guard outcome.status == 0 else { throw TestSupportError("openssl \(arguments[0]) failed: \(outcome.stderr)") }
    }
}

/// A push-mode agent behind https (Python's http.server wrapped in its ssl module): it
/// answers `message/send` with `tls echo: <text> (<Authorization header>)`.
final class HTTPSTestAgent: @unchecked Sendable {
    static let script = """
        import http.server, json, ssl, sys
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                text = request["params"]["message"]["parts"][0]["text"]
                reply = {"jsonrpc": "2.0", "id": request.get("id"), "result": {"kind": "message", "role": "agent",
                         "parts": [{"kind": "text", "text": "tls echo: %s (%s)" % (text, self.headers.get("Authorization"))}]}}
                body = json.dumps(reply).encode()
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body))); self.send_header("Connection", "close"); self.end_headers()
                self.wfile.write(body); self.wfile.flush()
                print("request", flush=True)
            def log_message(self, *a): pass
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
        s.socket = c.wrap_socket(s.socket, server_side=True)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    let port: Int
    private let process: ChildProcess
    private let output: String

    init(certificate: String, key: String) throws {
        let base = NSTemporaryDirectory() + "mt-https-agent-\(UUID().uuidString.prefix(8))"
        output = base + ".out"
        try Self.script.write(toFile: base + ".py", atomically: true, encoding: .utf8)
        process = try ChildProcess(["sh", "-c", "exec python3 \(base).py \(certificate) \(key) > \(output)"])
        var port = 0
        for _ in 0..<200 where port == 0 {
            let first = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").first
            port = first.flatMap { Int($0) } ?? 0
            if port == 0 { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard port > 0 else {
            process.signal(SIGKILL)
            throw TestSupportError("the https test agent did not start: \(process.wait().stderr)")
        }
        self.port = port
    }

    /// Requests answered so far.
    var requests: Int {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0 == "request" }.count
    }

    deinit {
        // SIGKILL: the test process may block SIGTERM, and children inherit the mask.
        process.signal(SIGKILL)
        _ = process.wait()
    }
}
