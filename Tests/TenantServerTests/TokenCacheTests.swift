import Foundation
import Postgres
import TestSupport
import Testing

/// The verified-token cache (`AUTH_CACHE_TTL`) must never outlive what it caches by more
/// than its bound: a change made through one replica's API reaches every replica at once
/// (Redis pub/sub), a change it was not told about (a row changed straight in the
/// database) within the TTL, and a replica that cannot hear the channel stops caching.
/// Each test has a Redis of its own: other tests' servers publish on the shared one.
@Suite("Verified-token cache", .serialized)
struct TokenCacheTests {
    /// Two replicas on one database and one Redis with a long TTL, so only the
    /// invalidation channel can explain a prompt refusal.
    @Test func aTokenRevokedOnOneReplicaIsRefusedOnTheOtherAtOnce() async throws {
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let environment = ["REDIS_URL": redis.url, "AUTH_CACHE_TTL": "60s"]
        let first = try await RunningServer(extra: environment)
        defer { _ = first.stop() }
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: environment)
        defer { _ = second.stop() }
        let (revoked, revokedToken) = try first.agent("revoked on the first")
        let (witness, witnessToken) = try await cachedWitness(on: second, madeOn: first, beside: [(revoked, revokedToken)])

        // Revoked through the first replica's API: the second refuses at once, and the
        // witness with it (every replica forgets everything it cached).
        let listed = try first.send("GET", "/workspaces/\(revoked)/tokens", token: revokedToken).array()
        let tokenID = try #require(listed.first?["id"] as? String)
        #expect(try first.send("DELETE", "/workspaces/\(revoked)/tokens/\(tokenID)", token: revokedToken).status == 200)
        #expect(try await refusedWithin(.seconds(2), second, revoked, revokedToken))
        #expect(try namespaces(second, witness, witnessToken) == 401)
    }

    @Test func aWorkspaceMovedOnOneReplicaHasItsNewTeamOnTheOtherAtOnce() async throws {
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let environment = ["REDIS_URL": redis.url, "AUTH_CACHE_TTL": "60s"]
        let first = try await RunningServer(extra: environment)
        defer { _ = first.stop() }
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: environment)
        defer { _ = second.stop() }
        let lead = try first.createWorkspace("lead")
        let (member, token) = try first.agent("member")
        try await warm(second, [(member, token)])
        #expect(try teamNamespace(second, member, token) == "team:\(member)")

        #expect(try first.send("PATCH", "/workspaces/\(member)", #"{"parent_id":"\#(lead)"}"#, token: first.adminToken).status == 200)
        let deadline = ContinuousClock.now + .seconds(2)
        var team = ""
        while ContinuousClock.now < deadline {
            team = try teamNamespace(second, member, token)
            if team == "team:\(lead)" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(team == "team:\(lead)")

        // Removed on the first: its token stops working on the second at once.
        #expect(try first.send("DELETE", "/workspaces/\(member)", token: first.adminToken).status == 200)
        #expect(try await refusedWithin(.seconds(2), second, member, token))
    }

    /// Nobody announces a change made in the database by hand; the TTL bounds it.
    @Test func aTokenRevokedInTheDatabaseStopsWorkingWithinTheTTL() async throws {
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let server = try await RunningServer(extra: ["REDIS_URL": redis.url, "AUTH_CACHE_TTL": "2s"])
        defer { _ = server.stop() }
        let (id, token) = try server.agent("revoked by hand")
        try await warm(server, [(id, token)])
        try await revokeInDatabase(server, id)
        // 2 s from the last database read, plus room for a loaded machine (a full parallel
        // run once needed more than 4 s in all); without the TTL it would take forever.
        #expect(try await refusedWithin(.seconds(10), server, id, token))
    }

    /// Fail closed: while the invalidation channel is silent, every request reads the database.
    @Test func withItsRedisGoneAReplicaStopsUsingItsCache() async throws {
        let redis = try await PrivateRedis()
        defer { redis.stop() }
        let server = try await RunningServer(extra: ["REDIS_URL": redis.url, "AUTH_CACHE_TTL": "60s"])
        defer { _ = server.stop() }
        let (id, token) = try server.agent("cached, then unheard")
        let (witness, witnessToken) = try await cachedWitness(on: server, madeOn: server, beside: [(id, token)])

        redis.stop()
        // Three seconds without a tick, and the cache is no longer used.
        try await Task.sleep(for: .seconds(4))
        try await revokeInDatabase(server, id)
        #expect(try namespaces(server, id, token) == 401)
        #expect(try namespaces(server, witness, witnessToken) == 401)
    }

    // MARK: - Helpers

    /// A witness workspace, read through `replica` with the `beside` tokens until all are
    /// cached there, then revoked straight in the database (nobody announces that): the
    /// replica still serving it proves it answers these tokens from its cache.
    private func cachedWitness(
        on replica: RunningServer, madeOn creator: RunningServer, beside tokens: [(id: String, token: String)]
    ) async throws -> (id: String, token: String) {
        let witness = try creator.agent("witness")
        try await warm(replica, tokens + [witness])
        try await revokeInDatabase(creator, witness.id)
        #expect(try namespaces(replica, witness.id, witness.token) == 200, "the replica should have served the witness from its cache")
        return witness
    }

    /// Reads with each token until the replica has heard its channel (ticks every second)
    /// and cached them.
    private func warm(_ server: RunningServer, _ tokens: [(id: String, token: String)]) async throws {
        for _ in 0..<12 {
            for (id, token) in tokens { #expect(try namespaces(server, id, token) == 200) }
            try await Task.sleep(for: .milliseconds(200))
        }
        for (id, token) in tokens { #expect(try namespaces(server, id, token) == 200) }
    }

    private func namespaces(_ server: RunningServer, _ id: String, _ token: String) throws -> Int {
        try server.send("GET", "/workspaces/\(id)/v2/namespaces", token: token).status
    }

    private func teamNamespace(_ server: RunningServer, _ id: String, _ token: String) throws -> String {
        let readable = try server.send("GET", "/workspaces/\(id)/v2/namespaces", token: token).object()["readable"] as? [[String: Any]] ?? []
        return readable.compactMap { $0["name"] as? String }.first { $0.hasPrefix("team:") } ?? ""
    }

    private func refusedWithin(_ bound: Duration, _ server: RunningServer, _ id: String, _ token: String) async throws -> Bool {
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if try namespaces(server, id, token) == 401 { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// As an operator with psql would: no replica hears of it.
    private func revokeInDatabase(_ server: RunningServer, _ id: String) async throws {
        let pool = server.database.pool(maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        try await pool.query("UPDATE public.workspace_auth_tokens SET revoked_at = now() WHERE workspace_id = $1", [id])
    }
}
