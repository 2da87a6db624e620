import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

@Suite("Bad input")
struct BadInputTests {
    @Test func badInputGetsA4xxJSONErrorNeverA5xx() async throws {
        let server = try await RunningServer()
        let admin = server.adminToken
        let (id, token) = try server.agent("target")
        let pushTarget = try server.createWorkspace("push")
        let cases: [(String, String, String?, String?, Int, String)] = [
            ("POST", "/workspaces", "{not json", admin, 400, "JSON"),
            ("POST", "/workspaces", #"{"name":5}"#, admin, 400, "name"),
            ("POST", "/workspaces", #"{}"#, admin, 400, "name is required"),
            ("POST", "/workspaces", #"{"name":"  "}"#, admin, 400, "name"),
            ("POST", "/workspaces", nil, admin, 400, "empty"),
            ("POST", "/workspaces", #"{"name":"x","parent_id":"nope"}"#, admin, 400, "parent_id"),
            ("POST", "/workspaces", #"{"name":"x","delivery_mode":"carrier-pigeon"}"#, admin, 400, "delivery_mode"),
            ("GET", "/workspaces/not-a-uuid", nil, nil, 400, "UUID"),
            ("PATCH", "/workspaces/\(id)", #"{"name":null}"#, admin, 400, "name"),
            ("POST", "/registry/register", #"{"url":""}"#, nil, 400, "id"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://169.254.169.254/latest/meta-data"}"#, nil, 400, "blocked"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://10.0.0.1:8000/a2a"}"#, nil, 400, "RFC-1918"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://192.168.1.5/a2a"}"#, nil, 400, "RFC-1918"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://127.0.0.1:9000/a2a"}"#, nil, 400, "loopback"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://[::ffff:169.254.169.254]/"}"#, nil, 400, "blocked"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://metadata.google.internal/"}"#, nil, 400, "metadata"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"file:///etc/passwd"}"#, nil, 400, "scheme"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":""}"#, nil, 400, "url is required"),
            ("POST", "/registry/register", #"{"id":"\#(pushTarget)","url":"http://localhost:1/a2a","agent_card":"text"}"#, nil, 400, "agent_card"),
            ("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)","error_rate":"high"}"#, token, 400, "error_rate"),
            ("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)","active_tasks":[1]}"#, token, 400, "active_tasks"),
            ("GET", "/workspaces/\(id)/activity?limit=-3", nil, token, 400, "limit"),
            ("GET", "/workspaces/\(id)/activity?since_secs=abc", nil, token, 400, "since_secs"),
            ("GET", "/workspaces/\(id)/activity?since_id=42", nil, token, 400, "since_id"),
            ("POST", "/workspaces/\(id)/activity", #"{"activity_type":"agent_log","target_id":"x"}"#, token, 400, "target_id"),
            ("GET", "/no/such/route", nil, nil, 404, "no route"),
        ]
        for (method, path, body, bearer, status, fragment) in cases {
            let response = try server.send(method, path, body, token: bearer)
            #expect(response.status == status, "\(method) \(path) \(body ?? ""): \(response.status) \(response.text)")
            let error = response.errorBody
            #expect(error?.error.contains(fragment) == true, "\(method) \(path) \(body ?? ""): \(response.text)")
            #expect(response.headers["content-type"] == "application/json")
        }
        // The SSRF refusals left the workspace unregistered.
        #expect(try server.send("GET", "/workspaces/\(pushTarget)").object()["status"] as? String == "provisioning")

        let huge = Data(("{\"name\":\"" + String(repeating: "a", count: 1_100_000) + "\"}").utf8)
        let tooLarge = try TestHTTP.request("POST", port: server.port, path: "/workspaces", body: huge, headers: ["Authorization": "Bearer \(admin!)"])
        #expect(tooLarge.status == 413)
        #expect(tooLarge.errorBody?.code == "too_large")
    }

    /// The guard resolves names: a name that does not resolve is refused, and so is one that
    /// resolves to a loopback address (this machine's own name, in /etc/hosts).
    @Test func pushURLsByNameAreResolvedBeforeTheyAreTrusted() async throws {
        let server = try await RunningServer()
        let target = try server.createWorkspace("push")
        let unresolvable = try server.send("POST", "/registry/register", #"{"id":"\#(target)","url":"http://no-such-agent.invalid/a2a"}"#)
        #expect(unresolvable.status == 400, "\(unresolvable.text)")
        #expect(unresolvable.errorBody?.error.contains("cannot be resolved") == true, "\(unresolvable.text)")

        let name = ProcessInfo.processInfo.hostName
        let addresses = Self.addresses(of: name)
        if !addresses.isEmpty, addresses.allSatisfy({ $0.hasPrefix("127.") || $0 == "::1" }) {
            let loopback = try server.send("POST", "/registry/register", #"{"id":"\#(target)","url":"http://\#(name):8000/a2a"}"#)
            #expect(loopback.status == 400, "\(name) -> \(addresses): \(loopback.text)")
            #expect(loopback.errorBody?.error.contains("resolves to a blocked address: loopback") == true, "\(loopback.text)")
        } else {
            print("skipped the name-to-loopback case: this host's name \(name) resolves to \(addresses), not only to loopback")
        }
        #expect(try server.send("GET", "/workspaces/\(target)").object()["status"] as? String == "provisioning")
    }

    /// The addresses getaddrinfo gives for a name, as text.
    static func addresses(of name: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var found: [String] = []
        var node = list
        while let entry = node?.pointee {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.ai_addr, entry.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                found.append(String(cString: text))
            }
            node = entry.ai_next
        }
        return found
    }

    @Test func everyAnswerCarriesARequestIDAndSecurityHeaders() async throws {
        let server = try await RunningServer()
        let echoed = try server.send("GET", "/health", headers: ["X-Request-Id": "trace-123"])
        #expect(echoed.headers["x-request-id"] == "trace-123")
        let refused = try server.send("GET", "/workspaces")
        #expect(refused.status == 401)
        #expect(refused.headers["x-request-id"]?.isEmpty == false)
        #expect(refused.headers["x-content-type-options"] == "nosniff")
        #expect(refused.headers["x-frame-options"] == "DENY")
        let forged = try server.send("GET", "/health", headers: ["X-Request-Id": "bad id\twith spaces"])
        #expect(forged.headers["x-request-id"] != "bad id\twith spaces")
    }

    @Test func corsAllowsListedAndSameOriginsAndRefusesOtherPreflights() async throws {
        let server = try await RunningServer(extra: ["CORS_ORIGINS": "https://canvas.example"])
        let preflight = ["Origin": "https://canvas.example", "Access-Control-Request-Method": "POST"]
        let allowed = try server.send("OPTIONS", "/workspaces", headers: preflight)
        #expect(allowed.status == 204)
        #expect(allowed.headers["access-control-allow-origin"] == "https://canvas.example")
        let refused = try server.send("OPTIONS", "/workspaces", headers: ["Origin": "https://evil.example", "Access-Control-Request-Method": "POST"])
        #expect(refused.status == 403)
        let same = try server.send("GET", "/health", headers: ["Origin": "http://127.0.0.1:\(server.port)"])
        #expect(same.status == 200)
        #expect(same.headers["access-control-allow-origin"] == "http://127.0.0.1:\(server.port)")
    }
}
