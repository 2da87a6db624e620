import MemoryPluginClient
import Testing

@Suite("Memory plugin client configuration")
struct ConfigurationTests {
    @Test func theDefaultIsTheLoopbackPlugin() throws {
        let configuration = try MemoryPluginClientConfiguration()
        #expect(configuration.host == "127.0.0.1" && configuration.port == 9100)
        #expect(configuration.timeout == .seconds(2))
        #expect(configuration.maxConnections == 16)
    }

    @Test(arguments: [
        ("http://127.0.0.1:9100", "127.0.0.1", 9100),
        ("http://127.0.0.1:9100/", "127.0.0.1", 9100),
        ("http://memory-plugin:80", "memory-plugin", 80),
        ("http://[::1]:9100", "::1", 9100),
    ])
    func httpHostPortIsAccepted(url: String, host: String, port: Int) throws {
        let configuration = try MemoryPluginClientConfiguration(baseURL: url)
        #expect(configuration.host == host && configuration.port == port)
    }

    @Test(arguments: [
        ("https://127.0.0.1:9100", "https"),
        ("127.0.0.1:9100", "not an http:// URL"),
        ("http://127.0.0.1", "no port"),
        ("http://127.0.0.1:0", "no valid port"),
        ("http://127.0.0.1:99999", "no valid port"),
        ("http://127.0.0.1:9100/v1", "path"),
        ("http://127.0.0.1:9100?x=1", "path, query"),
        ("http://user:secret@127.0.0.1:9100", "credentials"),
        ("http://:9100", "no host"),
        ("", "not an http:// URL"),
    ])
    func anythingElseIsAClearInitError(url: String, fragment: String) {
        do {
            _ = try MemoryPluginClientConfiguration(baseURL: url)
            Issue.record("\(url) was accepted")
        } catch {
            guard case .invalidConfiguration(let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(message.contains("MEMORY_PLUGIN_URL"))
            #expect(message.contains(fragment), "\(message)")
            #expect(!message.contains("secret"), "credentials must not be echoed")
        }
    }

    @Test func aZeroTimeoutIsRefused() {
        #expect(throws: MemoryPluginClientError.self) { try MemoryPluginClientConfiguration(timeout: .zero) }
        #expect(throws: MemoryPluginClientError.self) { try MemoryPluginClientConfiguration(maxConnections: 0) }
    }
}
