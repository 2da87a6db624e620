import Foundation
import MemoryContract
import MemoryPluginClient
import TestSupport
import Testing

/// Starts the memory plugin on a port of our choosing (RunningPlugin picks its own), so
/// a test can bring a plugin back where the client expects it.
func startPlugin(databaseURL: String, port: Int) async throws -> ChildProcess {
    let process = try MoleculeTenantBinary.start(["memory-plugin", "--config", "/dev/null"], environment: [
        "MEMORY_PLUGIN_DATABASE_URL": databaseURL, "MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:\(port)", "LOG_FORMAT": "json",
    ])
    for _ in 0..<200 {
        if let health = try? TestHTTP.request("GET", port: port, path: "/v1/health", timeout: .seconds(2)), health.status == 200 { return process }
        try await Task.sleep(for: .milliseconds(50))
    }
    process.signal(SIGKILL)
    throw TestSupportError("memory plugin did not come back on port \(port): \(process.wait().stderr)")
}

/// The default timeout is generous: with the whole suite running, a healthy plugin on this
/// 2-core machine can take seconds to answer; tests about timeouts pass their own.
func makeClient(
    port: Int, timeout: Duration = .seconds(15), maxConnections: Int = 16, maxResponseBytes: Int = 16 << 20,
    threshold: Int = 5, cooldown: Duration = .seconds(5)
) throws -> MemoryPluginClient {
    MemoryPluginClient(configuration: try MemoryPluginClientConfiguration(
        baseURL: "http://127.0.0.1:\(port)", timeout: timeout, maxConnections: maxConnections,
        maxResponseBytes: maxResponseBytes, breakerFailureThreshold: threshold, breakerCooldown: cooldown))
}

/// Tests share two cooperative threads on this machine; a blocking wait for a child
/// process there would stall every other test's timing. These run on threads of their own.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// SIGTERM, reaped on a thread of its own; for `defer`, where we cannot await.
func stopInBackground(_ plugin: RunningPlugin) {
    Thread { _ = plugin.stop() }.start()
}

func stopInBackground(_ process: ChildProcess) {
    Thread {
        process.signal(SIGTERM)
        _ = process.wait()
    }.start()
}

/// SIGKILL, and wait until the process is gone.
func kill(_ plugin: RunningPlugin) async {
    plugin.process.signal(SIGKILL)
    _ = await offThePool { plugin.process.wait() }
}

/// Runs `body` and returns its error (nil on success) and how long it took.
func timed<T>(_ body: () async throws -> T) async -> (MemoryPluginClientError?, Duration) {
    let started = ContinuousClock.now
    do {
        _ = try await body()
        return (nil, ContinuousClock.now - started)
    } catch let error as MemoryPluginClientError {
        return (error, ContinuousClock.now - started)
    } catch {
        Issue.record("the client threw an untyped error: \(error)")
        return (.protocolViolation("untyped \(error)"), ContinuousClock.now - started)
    }
}

extension MemoryPluginClientError {
    var isUnavailable: Bool { if case .unavailable = self { true } else { false } }

    var unavailableMessage: String? { if case .unavailable(let message) = self { message } else { nil } }

    var rejection: (code: String, status: Int)? {
        if case .rejected(let error) = self { (error.code.rawValue, error.status) } else { nil }
    }
}

/// A loopback TCP listener that accepts connections and never answers: the plugin
/// hung, or something else squatting on its port.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var accepted: [Int32] = []

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        guard descriptor >= 0 else { throw TestSupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else { throw TestSupportError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                if connection < 0 { return }
                lock.withLock { accepted.append(connection) }
            }
        }
        thread.start()
    }

    var acceptedCount: Int { lock.withLock { accepted.count } }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
        for connection in lock.withLock({ accepted }) { _ = Glibc.close(connection) }
    }
}
