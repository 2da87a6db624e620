import NIOCore
import RedisClient
import TestSupport
import Testing

@Suite("Pub/sub against the shared server")
struct RedisSubscriberTests {
    @Test("a subscribed channel receives what is published to it")
    func subscribeAndPublish() async throws {
        let client = try RedisClient(configuration: testConfiguration)
        let subscriber = client.makeSubscriber()
        let channel = uniqueKey("channel")
        let stream = try await subscriber.subscribe([channel])
        #expect(try await client.publish(channel, "hello") == 1)
        let event = try await firstEvent(in: stream) { _ in true }
        #expect(event == .message(RedisPubSubMessage(channel: channel, payload: ByteBuffer(string: "hello"))))
        await subscriber.shutdown()
        await client.shutdown()
    }

    @Test("a pattern subscription reports the matching pattern")
    func patternSubscription() async throws {
        let client = try RedisClient(configuration: testConfiguration)
        let subscriber = client.makeSubscriber()
        let prefix = uniqueKey("events")
        let stream = try await subscriber.psubscribe(["\(prefix).*"])
        try await client.publish("\(prefix).created", "payload")
        guard case .message(let message) = try await firstEvent(in: stream, where: { _ in true }) else {
            Issue.record("expected a message")
            return
        }
        #expect(message.channel == "\(prefix).created")
        #expect(message.pattern == "\(prefix).*")
        #expect(message.payloadString == "payload")
        await subscriber.shutdown()
        await client.shutdown()
    }

    @Test("a key set with EX 1 shows up on the expired keyspace event channel")
    func keyspaceExpiredEvent() async throws {
        let client = try RedisClient(configuration: testConfiguration)
        try await client.send(["CONFIG", "SET", "notify-keyspace-events", "KEA"])
        let subscriber = client.makeSubscriber()
        let pattern = "__keyevent@\(testConfiguration.database)__:expired"
        let stream = try await subscriber.psubscribe([pattern])
        let key = uniqueKey("expiring")
        try await client.set(key, "soon gone", expireSeconds: 1)
        let event = try await firstEvent(in: stream, within: .seconds(10)) { event in
            guard case .message(let message) = event else { return false }
            return message.payloadString == key
        }
        guard case .message(let message) = event else { return }
        #expect(message.pattern == pattern)
        #expect(message.channel == pattern)
        await subscriber.shutdown()
        await client.shutdown()
    }

    @Test("ending a stream unsubscribes its channel on the server")
    func unsubscribeOnEnd() async throws {
        let client = try RedisClient(configuration: testConfiguration)
        let subscriber = client.makeSubscriber()
        let channel = uniqueKey("channel")
        let kept = try await subscriber.subscribe([uniqueKey("other")])
        var stream: AsyncStream<RedisPubSubEvent>? = try await subscriber.subscribe([channel])
        #expect(try await subscriberCount(client, channel) == 1)
        stream = nil  // dropping the last reference terminates the stream
        _ = stream
        try await withTimeout(.seconds(10)) {
            while try await subscriberCount(client, channel) != 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        _ = kept
        await subscriber.shutdown()
        await client.shutdown()
    }

    @Test("shutdown finishes every stream")
    func shutdownFinishesStreams() async throws {
        let subscriber = RedisSubscriber(configuration: testConfiguration)
        let stream = try await subscriber.subscribe([uniqueKey("channel")])
        await subscriber.shutdown()
        try await withTimeout(.seconds(10)) {
            for await _ in stream {}
        }
        await #expect(throws: RedisError.shutdown) { try await subscriber.subscribe(["late"]) }
    }

    @Test("subscribing while Redis is unreachable fails with unavailable instead of hanging")
    func subscribeWhileDown() async throws {
        // Nothing listens on port 1, so connecting is refused at once.
        let subscriber = RedisSubscriber(configuration: RedisConfiguration(host: "127.0.0.1", port: 1))
        try await withTimeout(.seconds(10)) {
            await #expect(throws: RedisError.unavailable) { try await subscriber.subscribe(["anything"]) }
        }
        await subscriber.shutdown()
    }

    private func subscriberCount(_ client: RedisClient, _ channel: String) async throws -> Int? {
        try await client.send(["PUBSUB", "NUMSUB", channel]).array?.last?.int
    }
}

/// Each test runs a redis-server of its own and restarts it.
@Suite(
    "Reconnecting after a Redis restart",
    .serialized,
    .enabled(if: RedisServerProcess.isAvailable, "redis-server binary not found; set REDIS_SERVER_BIN")
)
struct RedisReconnectTests {
    @Test("a command while Redis is down fails fast with unavailable, and the first command after it returns succeeds")
    func clientReconnects() async throws {
        let server = try await RedisServerProcess.start(port: freeTCPPort())
        defer { server.kill() }
        var configuration = server.configuration
        configuration.poolSize = 2
        let client = try RedisClient(configuration: configuration)
        try await client.set("survivor", "before")

        server.kill()
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock()
        for _ in 0..<3 {
            let start = clock.now
            await #expect(throws: RedisError.unavailable) { try await client.ping() }
            #expect(clock.now - start < .seconds(5))  // refused at once; margin for busy machines
        }

        try await server.start()
        #expect(try await client.ping() == "PONG")
        // Concurrent commands after the restart all succeed too.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask { try await client.set("k\(index)", "v") }
            }
            try await group.waitForAll()
        }
        await client.shutdown()
    }

    @Test("the pool reconnects in the background while idle")
    func backgroundReconnect() async throws {
        let server = try await RedisServerProcess.start(port: freeTCPPort())
        defer { server.kill() }
        let client = try RedisClient(configuration: server.configuration)
        try await client.ping()
        server.kill()
        try await Task.sleep(for: .milliseconds(300))
        try await server.start()
        // The backoff is capped at 2 s, so within ~2.5 s a connection is open again without any command.
        let admin = try await RedisConnection.connect(configuration: server.configuration)
        try await withTimeout(.seconds(10)) {
            while try await admin.send(["CLIENT", "LIST"]).string?.split(separator: "\n").count ?? 0 < 2 {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        await admin.close()
        await client.shutdown()
    }

    @Test("a subscriber re-subscribes after a restart and announces it with reconnected")
    func subscriberReconnects() async throws {
        let server = try await RedisServerProcess.start(port: freeTCPPort())
        defer { server.kill() }
        let subscriber = RedisSubscriber(configuration: server.configuration)
        let stream = try await subscriber.subscribe(["news"])

        server.kill()
        try await Task.sleep(for: .milliseconds(100))
        try await server.start()

        let publisher = try RedisClient(configuration: server.configuration)
        // The subscriber's reconnect backoff grows while a busy machine restarts the server.
        let event = try await withTimeout(.seconds(30)) {
            var sawReconnected = false
            for await event in stream {
                switch event {
                case .reconnected:
                    sawReconnected = true
                    try await publisher.publish("news", "after restart")
                case .message(let message) where sawReconnected:
                    return message
                case .message:
                    continue
                }
            }
            throw RedisError.connectionClosed
        }
        #expect(event.payloadString == "after restart")
        await publisher.shutdown()
        await subscriber.shutdown()
    }
}
