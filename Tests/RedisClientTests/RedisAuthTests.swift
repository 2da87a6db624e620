import RedisClient
import Testing

/// Runs against a redis-server of its own on port 56381 started with `--requirepass`.
@Suite(
    "Authentication",
    .serialized,
    .enabled(if: RedisServerProcess.isAvailable, "redis-server binary not found; set REDIS_SERVER_BIN")
)
struct RedisAuthTests {
    static let port = 56381
    static let password = "test-pass-9f2c"

    @Test("the password from the URL authenticates the pool")
    func passwordFromURL() async throws {
        let server = try await RedisServerProcess.start(port: Self.port, arguments: ["--requirepass", Self.password])
        defer { server.kill() }
        let client = try RedisClient(configuration: RedisConfiguration(url: "redis://:\(Self.password)@127.0.0.1:\(Self.port)/0"))
        #expect(try await client.ping() == "PONG")
        await client.shutdown()
    }

    @Test("a password given separately (as from REDIS_PASSWORD) authenticates, with a database selected")
    func explicitPasswordAndDatabase() async throws {
        let server = try await RedisServerProcess.start(port: Self.port, arguments: ["--requirepass", Self.password])
        defer { server.kill() }
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(Self.port)/2", password: Self.password)
        let client = try RedisClient(configuration: configuration)
        let key = uniqueKey()
        try await client.set(key, "v")
        let info = try await client.send(["CLIENT", "INFO"]).string ?? ""
        #expect(info.contains("db=2"))
        await client.shutdown()
    }

    @Test("a user name and password authenticate as that ACL user")
    func aclUser() async throws {
        let server = try await RedisServerProcess.start(port: Self.port, arguments: ["--requirepass", Self.password])
        defer { server.kill() }
        let admin = try RedisClient(configuration: RedisConfiguration(url: "redis://:\(Self.password)@127.0.0.1:\(Self.port)"))
        try await admin.send(["ACL", "SETUSER", "worker", "on", ">worker-pass", "~*", "+@all"])
        await admin.shutdown()

        let client = try RedisClient(configuration: RedisConfiguration(url: "redis://worker:worker-pass@127.0.0.1:\(Self.port)"))
        #expect(try await client.send(["ACL", "WHOAMI"]).string == "worker")
        await client.shutdown()
    }

    @Test("a wrong password fails with authenticationFailed, and the message does not reveal it")
    func wrongPassword() async throws {
        let server = try await RedisServerProcess.start(port: Self.port, arguments: ["--requirepass", Self.password])
        defer { server.kill() }
        let client = try RedisClient(configuration: RedisConfiguration(url: "redis://:wrong-guess-77@127.0.0.1:\(Self.port)"))
        await #expect {
            try await client.ping()
        } throws: { error in
            guard case RedisError.authenticationFailed(let message) = error else { return false }
            return message.contains("WRONGPASS") && !"\(error)".contains("wrong-guess-77")
        }
        await client.shutdown()
    }

    @Test("without a password the server's NOAUTH error is reported")
    func missingPassword() async throws {
        let server = try await RedisServerProcess.start(port: Self.port, arguments: ["--requirepass", Self.password])
        defer { server.kill() }
        let client = try RedisClient(configuration: server.configuration)
        await #expect {
            try await client.ping()
        } throws: { error in
            guard case RedisError.server(let message) = error else { return false }
            return message.hasPrefix("NOAUTH")
        }
        await client.shutdown()
    }
}
