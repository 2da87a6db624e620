import RedisClient
import Testing

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test("the default points at database 0 on localhost:6379")
    func defaults() {
        let configuration = RedisConfiguration.default
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.password == nil)
        #expect(configuration.poolSize == 4)
        #expect(configuration.description == "redis://127.0.0.1:6379/0")
    }

    @Test("a full URL yields user, password, host, port and database")
    func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://app:s3cret@cache.internal:6380/3")
        #expect(configuration.username == "app")
        #expect(configuration.password == "s3cret")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.database == 3)
    }

    @Test("port and database are optional")
    func minimalURL() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
    }

    @Test("a password without user name authenticates as the default user")
    func passwordOnly() throws {
        let configuration = try RedisConfiguration(url: "redis://:pw@localhost:6379/0")
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
    }

    @Test("percent-encoded credentials are decoded")
    func percentEncoding() throws {
        let configuration = try RedisConfiguration(url: "redis://us%40er:p%40ss%2Fw%3Ard@localhost/1")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p@ss/w:rd")
    }

    @Test("an IPv6 host is written in brackets")
    func ipv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000/2")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.description == "redis://[::1]:7000/2")
    }

    @Test("an explicit password wins over the URL's, an empty one is ignored")
    func explicitPassword() throws {
        #expect(try RedisConfiguration(url: "redis://:old@localhost", password: "new").password == "new")
        #expect(try RedisConfiguration(url: "redis://localhost", password: "env").password == "env")
        #expect(try RedisConfiguration(url: "redis://:old@localhost", password: "").password == "old")
        #expect(try RedisConfiguration(url: "redis://user@localhost", password: "env").username == "user")
    }

    @Test("rediss is refused with an error that says TLS is not supported")
    func tlsRefused() {
        #expect(throws: RedisConfigurationError.tlsNotSupported) {
            try RedisConfiguration(url: "rediss://localhost:6380/0")
        }
        #expect(RedisConfigurationError.tlsNotSupported.description.contains("TLS"))
    }

    @Test(
        "invalid URLs are refused with messages that never contain the password",
        arguments: [
            ("redis://:s3cret", RedisConfigurationError.missingHost),
            ("redis://host:s3cret/0", .invalidPort),
            ("redis://u:s3cret@host:99999/0", .invalidPort),
            ("redis://u:s3cret@host/s3cret", .invalidDatabase),
            ("redis://u:s3cret@host/-1", .invalidDatabase),
            ("rediss://u:s3cret@host", .tlsNotSupported),
            ("http://u:s3cret@host", .unsupportedScheme("http")),
            ("redis:/u:s3cret@host", .malformedURL("expected a URL of the form redis://[user:password@]host:port/db")),
            ("redis://u:s3cret@host/0?timeout=1", .malformedURL("query parameters and fragments are not supported; put the database in the path")),
            ("redis://user@host", .usernameWithoutPassword),
        ])
    func invalidURLs(url: String, expected: RedisConfigurationError) {
        #expect(throws: expected) { try RedisConfiguration(url: url) }
        #expect(!expected.description.contains("s3cret"))
    }

    @Test("the description redacts the password")
    func redaction() throws {
        let configuration = try RedisConfiguration(url: "redis://app:s3cret@localhost:6379/1")
        #expect(configuration.description == "redis://app:***@localhost:6379/1")
        #expect(!"\(configuration)".contains("s3cret"))
    }

    @Test("member-wise values are validated too")
    func validation() {
        #expect(throws: RedisConfigurationError.invalidPoolSize) {
            try RedisConfiguration(poolSize: 0).validate()
        }
        #expect(throws: RedisConfigurationError.invalidTimeout) {
            try RedisConfiguration(commandTimeout: .zero).validate()
        }
        #expect(throws: RedisConfigurationError.invalidPoolSize) {
            try RedisClient(configuration: RedisConfiguration(poolSize: 0))
        }
    }
}
