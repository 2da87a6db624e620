import NIOCore
import NIOPosix
import RedisClient
import Testing

/// Commands against the shared test server (`REDIS_URL`, default `redis://127.0.0.1:56380/0`).
@Suite("Redis client against a live server")
struct RedisClientTests {
    private func withClient(
        configuring configure: (inout RedisConfiguration) -> Void = { _ in },
        _ body: (RedisClient) async throws -> Void
    ) async throws {
        var configuration = testConfiguration
        configure(&configuration)
        let client = try RedisClient(configuration: configuration)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("ping answers PONG")
    func ping() async throws {
        try await withClient { client async throws in
            #expect(try await client.ping() == "PONG")
        }
    }

    @Test("set, get and del store, read and remove a value")
    func setGetDel() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            #expect(try await client.set(key, "héllo"))
            #expect(try await client.get(key) == "héllo")
            #expect(try await client.exists(key, uniqueKey()) == 1)
            #expect(try await client.del(key) == 1)
            #expect(try await client.get(key) == nil)
            #expect(try await client.del(key) == 0)
        }
    }

    @Test("set with onlyIfNotExists refuses to overwrite")
    func setNX() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            #expect(try await client.set(key, "first", onlyIfNotExists: true))
            #expect(try await client.set(key, "second", onlyIfNotExists: true) == false)
            #expect(try await client.get(key) == "first")
            try await client.del(key)
        }
    }

    @Test("expire and ttl report the remaining lifetime")
    func expireAndTTL() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            #expect(try await client.ttl(key) == .missingKey)
            #expect(try await client.expire(key, seconds: 10) == false)
            try await client.set(key, "v")
            #expect(try await client.ttl(key) == .noExpiry)
            #expect(try await client.expire(key, seconds: 100))
            guard case .seconds(let remaining) = try await client.ttl(key) else {
                Issue.record("expected a TTL in seconds")
                return
            }
            #expect((95...100).contains(remaining))
            try await client.set(key, "v", expireSeconds: 30)
            #expect(try await client.ttl(key) != .noExpiry)
            try await client.del(key)
        }
    }

    @Test("incr and incrby count from zero")
    func counters() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            #expect(try await client.incr(key) == 1)
            #expect(try await client.incrby(key, 41) == 42)
            #expect(try await client.incrby(key, -2) == 40)
            #expect(try await client.get(key) == "40")
            try await client.del(key)
        }
    }

    @Test("an error reply becomes RedisError.server with the server's message")
    func serverError() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            try await client.send(["LPUSH", key, "x"])
            await #expect {
                try await client.incr(key)
            } throws: { error in
                guard case RedisError.server(let message) = error else { return false }
                return message.hasPrefix("WRONGTYPE")
            }
            // The connection stays usable after an error reply.
            #expect(try await client.del(key) == 1)
        }
    }

    @Test("binary values with NUL, CR and LF bytes survive unchanged")
    func binarySafety() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            let bytes: [UInt8] = [0, 13, 10, 255, 0, 36, 13, 10]
            try await client.send([Array("SET".utf8), Array(key.utf8), bytes])
            #expect(try await client.send(["GET", key]).bytes == bytes)
            #expect(try await client.getBytes(key) == ByteBuffer(bytes: bytes))
            try await client.set(key, ByteBuffer(bytes: [1, 2, 3]))
            #expect(try await client.getBytes(key) == ByteBuffer(bytes: [1, 2, 3]))
            try await client.del(key)
        }
    }

    @Test("a pipeline of 1000 commands returns 1000 replies in order")
    func pipelineOfAThousand() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            let replies = try await client.pipeline(Array(repeating: ["INCR", key], count: 1000))
            #expect(replies.count == 1000)
            #expect(replies.map(\.int) == (1...1000).map { Optional($0) })
            try await client.del(key)
        }
    }

    @Test("an error inside a pipeline is returned in place without hiding the other replies")
    func pipelineWithError() async throws {
        try await withClient { client async throws in
            let key = uniqueKey()
            let replies = try await client.pipeline([["SET", key, "text"], ["INCR", key], ["GET", key]])
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1].errorMessage?.hasPrefix("ERR") == true)
            #expect(replies[2].string == "text")
            try await client.del(key)
        }
    }

    @Test("200 concurrent tasks share a pool of 4 connections")
    func concurrentTasks() async throws {
        try await withClient(configuring: { $0.poolSize = 4 }) { client async throws in
            let prefix = uniqueKey("concurrent")
            let connectionIDs = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let key = "\(prefix):\(index)"
                        try await client.set(key, String(index), expireSeconds: 60)
                        #expect(try await client.get(key) == String(index))
                        return try await client.send(["CLIENT", "ID"]).int ?? -1
                    }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect((1...4).contains(connectionIDs.count))
            #expect(!connectionIDs.contains(-1))
        }
    }

    @Test("eval runs a rate-limit script atomically")
    func evalRateLimit() async throws {
        try await withClient { client async throws in
            let script = """
                local count = redis.call('INCR', KEYS[1])
                if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
                return count
                """
            let key = uniqueKey("rate")
            #expect(try await client.eval(script, keys: [key], arguments: ["60"]) == .integer(1))
            #expect(try await client.eval(script, keys: [key], arguments: ["60"]) == .integer(2))
            guard case .seconds = try await client.ttl(key) else {
                Issue.record("the script should have set an expiry")
                return
            }
            try await client.del(key)
        }
    }

    @Test("scan iterates every matching key across cursor pages")
    func scanIteration() async throws {
        try await withClient { client async throws in
            let prefix = uniqueKey("scan")
            let keys = (0..<25).map { "\(prefix):\($0)" }
            _ = try await client.pipeline(keys.map { ["SET", $0, "v", "EX", "60"] })
            var seen = Set<String>()
            for try await key in client.scanKeys(match: "\(prefix):*", count: 5) {
                seen.insert(key)
            }
            #expect(seen == Set(keys))
            let page = try await client.scan(cursor: 0, match: "\(prefix):*", count: 1000)
            #expect(page.keys.allSatisfy { $0.hasPrefix(prefix) })
            try await client.del(keys)
        }
    }

    @Test("publish reports how many subscribers received the message")
    func publishWithoutSubscribers() async throws {
        try await withClient { client async throws in
            #expect(try await client.publish(uniqueKey("channel"), "nobody listens") == 0)
        }
    }

    @Test("the database from the URL is selected on every connection")
    func selectDatabase() async throws {
        let key = uniqueKey("db")
        try await withClient(configuring: { $0.database = 1 }) { databaseOne async throws in
            try await databaseOne.set(key, "in db 1", expireSeconds: 60)
            try await withClient(configuring: { $0.database = 0 }) { databaseZero async throws in
                #expect(try await databaseZero.get(key) == nil)
            }
            #expect(try await databaseOne.get(key) == "in db 1")
            try await databaseOne.del(key)
        }
    }

    @Test("a reply slower than the command timeout fails with timeout and the next command succeeds")
    func commandTimeout() async throws {
        try await withClient(configuring: { $0.commandTimeout = .milliseconds(300); $0.poolSize = 1 }) { client async throws in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: RedisError.timeout) {
                try await client.send(["BLPOP", uniqueKey("never"), "20"])
            }
            // Far below the 20 s the server would wait; generous because CI machines are busy.
            #expect(clock.now - start < .seconds(10))
            #expect(try await client.ping() == "PONG")
        }
    }

    @Test("commands after shutdown fail with shutdown")
    func afterShutdown() async throws {
        let client = try RedisClient(configuration: testConfiguration)
        try await client.ping()
        await client.shutdown()
        await #expect(throws: RedisError.shutdown) { try await client.ping() }
    }
}

@Suite("Single Redis connection")
struct RedisConnectionTests {
    @Test("a dropped connection fails the commands in flight with connectionClosed")
    func droppedConnection() async throws {
        let victim = try await RedisConnection.connect(configuration: testConfiguration)
        let admin = try await RedisConnection.connect(configuration: testConfiguration)
        let victimID = try #require(try await victim.send(["CLIENT", "ID"]).int)
        let blocked = Task { try await victim.send(["BLPOP", uniqueKey("never"), "5"]) }
        try await Task.sleep(for: .milliseconds(200))
        _ = try await admin.send(["CLIENT", "KILL", "ID", String(victimID)])
        await #expect(throws: RedisError.connectionClosed) { try await blocked.value }
        #expect(!victim.isActive)
        await #expect(throws: RedisError.connectionClosed) { try await victim.ping() }
        await admin.close()
    }

    @Test("close waits for the replies in flight, then refuses new commands")
    func gracefulClose() async throws {
        let connection = try await RedisConnection.connect(configuration: testConfiguration)
        let key = uniqueKey()
        let pending = Task { try await connection.pipeline(Array(repeating: ["INCR", key], count: 100)) }
        try await Task.sleep(for: .milliseconds(5))
        await connection.close()
        // Either the pipeline was written before close (then all replies arrived) or after (then it was refused).
        switch await pending.result {
        case .success(let replies): #expect(replies.last == .integer(100))
        case .failure(let error): #expect(error as? RedisError == .connectionClosed)
        }
        #expect(!connection.isActive)
        let cleanup = try RedisClient(configuration: testConfiguration)
        try await cleanup.del(key)
        await cleanup.shutdown()
    }
}

/// A server that answers every read with the same bytes, to feed the client broken replies.
private final class CannedReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let reply: String

    init(reply: String) { self.reply = reply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
    }
}

@Suite("Protocol violations")
struct ProtocolViolationTests {
    @Test(
        "a malformed or oversized reply fails the command with a protocol error and closes the connection",
        arguments: ["?garbage\r\n", "$\(600 * 1024 * 1024)\r\n", "*\(2 * 1024 * 1024)\r\n"])
    func brokenReply(reply: String) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CannedReplyHandler(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let connection = try await RedisConnection.connect(configuration: RedisConfiguration(host: "127.0.0.1", port: port))
        await #expect {
            try await connection.ping()
        } throws: { error in
            guard case RedisError.protocolError = error else { return false }
            return true
        }
        try await connection.channelClosed()
        #expect(!connection.isActive)
        try await server.close()
    }
}

extension RedisConnection {
    /// Waits (briefly) for the connection to be closed.
    fileprivate func channelClosed() async throws {
        try await withTimeout(.seconds(10)) { [self] in
            while self.isActive { try await Task.sleep(for: .milliseconds(10)) }
        }
    }
}
