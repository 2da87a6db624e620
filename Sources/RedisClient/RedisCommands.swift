import NIOCore

/// Something that can run Redis commands: a `RedisClient` (pooled) or a single `RedisConnection`.
///
/// The typed helpers below are built on the two requirements, so both types offer the same API.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command whose arguments are arbitrary bytes.
    /// - Throws: `RedisError.server` for an error reply.
    @discardableResult
    func send(_ arguments: [ByteBuffer]) async throws -> RESPValue

    /// Sends commands in one write; replies come back in order, error replies in place as `.error`.
    func pipeline(_ commands: [[ByteBuffer]]) async throws -> [RESPValue]
}

extension RedisConnection: RedisCommandExecutor {}

/// The remaining lifetime of a key, as reported by `TTL`.
public enum RedisKeyTTL: Sendable, Hashable {
    /// The key does not exist.
    case missingKey
    /// The key exists and never expires.
    case noExpiry
    /// The key expires in this many seconds.
    case seconds(Int)
}

extension RedisCommandExecutor {
    /// Sends one command given as UTF-8 strings, e.g. `["HSET", "user:1", "name", "Ada"]`.
    @discardableResult
    public func send(_ arguments: [String]) async throws -> RESPValue {
        try await send(arguments.map { ByteBuffer(string: $0) })
    }

    /// Sends one command whose arguments are byte arrays.
    @discardableResult
    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await send(arguments.map { ByteBuffer(bytes: $0) })
    }

    /// Sends commands given as UTF-8 strings in one write.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        try await pipeline(commands.map { $0.map { ByteBuffer(string: $0) } })
    }

    /// `PING`: returns `"PONG"`.
    @discardableResult
    public func ping() async throws -> String {
        try await send(["PING"]).expectString("PING")
    }

    /// `GET key`: the value, or `nil` if the key does not exist.
    public func get(_ key: String) async throws -> String? {
        let reply = try await send(["GET", key])
        return reply.isNull ? nil : try reply.expectString("GET")
    }

    /// `GET key` for binary values.
    public func getBytes(_ key: String) async throws -> ByteBuffer? {
        switch try await send(["GET", key]) {
        case .null: return nil
        case .bulkString(let bytes): return bytes
        case let other: throw RedisError.unexpectedReply("GET returned \(other.kind)")
        }
    }

    /// `SET key value [EX seconds] [NX]`.
    ///
    /// - Parameters:
    ///   - expireSeconds: Time to live; `nil` keeps the key until deleted.
    ///   - onlyIfNotExists: Sets only when the key is absent (`NX`), the building block of locks.
    /// - Returns: `false` when `onlyIfNotExists` prevented the write.
    @discardableResult
    public func set(
        _ key: String, _ value: String, expireSeconds: Int? = nil, onlyIfNotExists: Bool = false
    ) async throws -> Bool {
        try await set(key, ByteBuffer(string: value), expireSeconds: expireSeconds, onlyIfNotExists: onlyIfNotExists)
    }

    /// `SET` for binary values.
    @discardableResult
    public func set(
        _ key: String, _ value: ByteBuffer, expireSeconds: Int? = nil, onlyIfNotExists: Bool = false
    ) async throws -> Bool {
        var arguments = [ByteBuffer(string: "SET"), ByteBuffer(string: key), value]
        if let expireSeconds {
            arguments += [ByteBuffer(string: "EX"), ByteBuffer(string: String(expireSeconds))]
        }
        if onlyIfNotExists {
            arguments.append(ByteBuffer(string: "NX"))
        }
        let reply = try await send(arguments)
        return !reply.isNull
    }

    /// `DEL key...`: the number of keys removed.
    @discardableResult
    public func del(_ keys: String...) async throws -> Int {
        try await del(keys)
    }

    /// `DEL key...`: the number of keys removed.
    @discardableResult
    public func del(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await send(["DEL"] + keys).expectInteger("DEL")
    }

    /// `EXISTS key...`: how many of the keys exist (a key named twice counts twice).
    public func exists(_ keys: String...) async throws -> Int {
        try await send(["EXISTS"] + keys).expectInteger("EXISTS")
    }

    /// `EXPIRE key seconds`: `false` when the key does not exist.
    @discardableResult
    public func expire(_ key: String, seconds: Int) async throws -> Bool {
        try await send(["EXPIRE", key, String(seconds)]).expectInteger("EXPIRE") == 1
    }

    /// `TTL key`.
    public func ttl(_ key: String) async throws -> RedisKeyTTL {
        switch try await send(["TTL", key]).expectInteger("TTL") {
        case -2: .missingKey
        case -1: .noExpiry
        case let seconds: .seconds(seconds)
        }
    }

    /// `INCR key`: the value after incrementing; a missing key counts as 0.
    @discardableResult
    public func incr(_ key: String) async throws -> Int {
        try await send(["INCR", key]).expectInteger("INCR")
    }

    /// `INCRBY key increment`: the value after adding `increment` (which may be negative).
    @discardableResult
    public func incrby(_ key: String, _ increment: Int) async throws -> Int {
        try await send(["INCRBY", key, String(increment)]).expectInteger("INCRBY")
    }

    /// `EVAL script numkeys key... arg...`: runs a Lua script atomically and returns its result.
    ///
    /// Keys and arguments are passed separately so the script reads them as `KEYS[i]` and `ARGV[i]`.
    public func eval(_ script: String, keys: [String] = [], arguments: [String] = []) async throws -> RESPValue {
        try await send(["EVAL", script, String(keys.count)] + keys + arguments)
    }

    /// `PUBLISH channel message`: the number of subscribers that received it.
    @discardableResult
    public func publish(_ channel: String, _ message: String) async throws -> Int {
        try await send(["PUBLISH", channel, message]).expectInteger("PUBLISH")
    }

    /// One `SCAN` step. Start with cursor 0; the iteration is complete when the returned cursor is 0.
    /// A step may return no keys while the iteration is not finished.
    public func scan(cursor: UInt64 = 0, match: String? = nil, count: Int? = nil) async throws -> (cursor: UInt64, keys: [String]) {
        var arguments = ["SCAN", String(cursor)]
        if let match { arguments += ["MATCH", match] }
        if let count { arguments += ["COUNT", String(count)] }
        let reply = try await send(arguments)
        guard let parts = reply.array, parts.count == 2,
            let cursorText = parts[0].string, let nextCursor = UInt64(cursorText),
            let keys = parts[1].array
        else {
            throw RedisError.unexpectedReply("SCAN returned \(reply.kind)")
        }
        return (nextCursor, keys.compactMap(\.string))
    }

    /// All keys matching `match`, fetched lazily with `SCAN` as the sequence is iterated.
    ///
    /// Like `SCAN` itself, a key may be returned more than once if the keyspace changes meanwhile.
    public func scanKeys(match: String? = nil, count: Int? = nil) -> RedisScanSequence {
        RedisScanSequence(executor: self, match: match, count: count)
    }
}

/// Keys produced by successive `SCAN` calls; see `RedisCommandExecutor.scanKeys(match:count:)`.
public struct RedisScanSequence: AsyncSequence, Sendable {
    public typealias Element = String

    let executor: any RedisCommandExecutor
    let match: String?
    let count: Int?

    /// Starts a new iteration at cursor 0.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(executor: executor, match: match, count: count)
    }

    /// Fetches one `SCAN` page whenever the keys of the previous one are used up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let executor: any RedisCommandExecutor
        let match: String?
        let count: Int?
        private var cursor: UInt64 = 0
        private var buffered: [String] = []
        private var finished = false

        init(executor: any RedisCommandExecutor, match: String?, count: Int?) {
            self.executor = executor
            self.match = match
            self.count = count
        }

        /// The next key, or `nil` once the cursor has come back to 0.
        public mutating func next() async throws -> String? {
            while buffered.isEmpty {
                if finished { return nil }
                let step = try await executor.scan(cursor: cursor, match: match, count: count)
                cursor = step.cursor
                finished = step.cursor == 0
                buffered = step.keys.reversed()
            }
            return buffered.popLast()
        }
    }
}

extension RESPValue {
    /// The case name, for error messages that must not show contents.
    var kind: String {
        switch self {
        case .simpleString: "simple string"
        case .error: "error"
        case .integer: "integer"
        case .bulkString: "bulk string"
        case .null: "null"
        case .array: "array"
        case .nullArray: "null array"
        }
    }

    func expectInteger(_ command: String) throws -> Int {
        guard case .integer(let number) = self else {
            throw RedisError.unexpectedReply("\(command) returned \(kind), expected integer")
        }
        return number
    }

    func expectString(_ command: String) throws -> String {
        guard let text = string, !isInteger else {
            throw RedisError.unexpectedReply("\(command) returned \(kind), expected string")
        }
        return text
    }

    private var isInteger: Bool {
        if case .integer = self { return true }
        return false
    }
}
