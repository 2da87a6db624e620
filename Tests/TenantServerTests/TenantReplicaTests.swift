import Foundation
import TestSupport
import Testing

/// The server keeps only PostgreSQL and Redis state, so it survives a Redis restart and
/// several replicas behave as one tenant.
@Suite("Replicas and Redis restarts", .serialized)
struct TenantReplicaTests {
    @Test func theServerReconnectsWhenRedisRestarts() async throws {
        // A Redis of this test's own: the suite's shared one must never be stopped.
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let server = try await RunningServer(extra: ["REDIS_URL": redis.url, "LIVENESS_TTL_SECONDS": "2"])
        let (id, token) = try server.agent("survivor")
        #expect(try redisCheck(server) == "ok")

        redis.stop()
        var check = ""
        for _ in 0..<100 where check != "unavailable" {
            check = try redisCheck(server)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(check == "unavailable")
        // Requests still work without Redis (the rate limiter lets them pass).
        #expect(try server.send("GET", "/workspaces/\(id)").status == 200)

        try await redis.start()
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(30), try redisCheck(server) != "ok" {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try redisCheck(server) == "ok")
        // Liveness works again on the new connection: a heartbeat brings it online, silence takes it offline.
        let beat = try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)"}"#, token: token)
        #expect(try beat.object()["workspace_status"] as? String == "online")
        #expect(try waitForStatus("offline", server, id) == "offline")
    }

    @Test func twoServersOnOneDatabaseAndRedisAreOneTenant() async throws {
        // A Redis of its own: the budgets of unauthenticated callers are per address, and
        // other tests' servers on the shared Redis would spend them.
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let tenant = try await MemoryTenant(extra: ["RATE_LIMIT": "6", "LIVENESS_TTL_SECONDS": "3", "REDIS_URL": redis.url])
        let first = tenant.server
        let second = try await RunningServer(adminToken: first.adminToken, database: tenant.database, extra: [
            "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(tenant.pluginPort)", "MEMORY_PLUGIN_REQUIRED": "1", "MEMORY_PLUGIN_BOOT_WAIT": "20s",
            "RATE_LIMIT": "6", "LIVENESS_TTL_SECONDS": "3", "REDIS_URL": redis.url,
        ])
        // Created on one, registered on the other; memory written on one, read on the other.
        let id = try first.createWorkspace("shared")
        let token = try second.registerPoll(id)
        #expect(try first.send("POST", "/workspaces/\(id)/memories", #"{"content":"written on the first","scope":"LOCAL"}"#, token: token).status == 201)
        #expect(try second.send("GET", "/workspaces/\(id)/memories", token: token).text.contains("written on the first"))
        // Liveness from a heartbeat on one is seen by the other.
        #expect(try second.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)"}"#, token: token).status == 200)
        #expect(try status(first, id) == "online")

        // One rate-limit budget per caller across replicas: 6 per minute, 3 used above.
        // Separate budgets would let most of ten alternating calls through.
        let minute = Int(Date().timeIntervalSince1970) / 60
        var statuses: [Int] = []
        for index in 0..<10 {
            statuses.append(try (index % 2 == 0 ? first : second).send("GET", "/workspaces/\(id)/activity", token: token).status)
        }
        #expect(statuses.contains(429))
        if Int(Date().timeIntervalSince1970) / 60 == minute {
            #expect(statuses.filter { $0 == 200 }.count == 3, "\(statuses)")
        }

        // Silence expires for both.
        #expect(try waitForStatus("offline", second, id) == "offline")
        #expect(try status(first, id) == "offline")
    }

    private func redisCheck(_ server: RunningServer) throws -> String {
        (try server.send("GET", "/health").object()["checks"] as? [String: String])?["redis"] ?? ""
    }

    /// The public read, with a bearer of its own each time: the read ignores it and the
    /// rate limiter counts by it, so polling never eats a test's budget.
    private func status(_ server: RunningServer, _ id: String) throws -> String {
        try server.send("GET", "/workspaces/\(id)", token: "poll-\(UUID())").object()["status"] as? String ?? ""
    }

    private func waitForStatus(_ wanted: String, _ server: RunningServer, _ id: String) throws -> String {
        var current = ""
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(30) {
            current = try status(server, id)
            if current == wanted { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return current
    }
}

/// redis-server on a free loopback port, started and stopped by one test.
final class PrivateRedis: @unchecked Sendable {
    let port = freeTCPPort()
    private var process: ChildProcess?

    var url: String { "redis://127.0.0.1:\(port)/0" }

    init() async throws { try await start() }

    func start() async throws {
        process = try ChildProcess(["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--notify-keyspace-events", "KEA"])
        for _ in 0..<100 {
            if (try? TestHTTP.rawLine(port: port, "PING\r\n")) == "+PONG" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("redis-server did not start on port \(port)")
    }

    func stop() {
        guard let process else { return }
        process.signal(SIGKILL)
        _ = process.wait()
        self.process = nil
    }

    deinit { stop() }
}

extension TestHTTP {
    /// Sends `command` on a fresh connection and returns the first line of the answer.
    static func rawLine(port: Int, _ command: String) throws -> String {
        let descriptor = try connectLoopback(port: port, receiveTimeout: .seconds(2))
        defer { close(descriptor) }
        _ = command.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var chunk = [UInt8](repeating: 0, count: 256)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        guard count > 0 else { throw TestSupportError("no answer") }
        return String(decoding: chunk[0..<count], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
    }
}
