import Foundation

/// A PostgreSQL cluster of a test's own, for tests that stop and restart the server
/// (which must not disturb the shared test server other tests are using).
public final class EphemeralPostgres: @unchecked Sendable {
    public let port: Int
    public let directory: String
    let binDirectory: String

    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// initdb + start on a free port; about a second.
    public static func start() throws -> EphemeralPostgres {
        let server = EphemeralPostgres(port: freeTCPPort(), directory: NSTemporaryDirectory() + "mt-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: server.directory, withIntermediateDirectories: true)
        try asServiceUser(["chmod", "755", server.directory], allowFailure: true)
        if getuid() == 0 { try run(["chown", "postgres:", server.directory]) }
        try asServiceUser([server.binDirectory + "/initdb", "-D", server.directory + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        try server.startServer()
        return server
    }

    init(port: Int, directory: String) {
        self.port = port
        self.directory = directory
        let newest = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last ?? "15"
        self.binDirectory = ProcessInfo.processInfo.environment["TEST_PG_BINDIR"] ?? "/usr/lib/postgresql/\(newest)/bin"
    }

    public func startServer() throws {
        try Self.asServiceUser([
            binDirectory + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "30",
            "-o", "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c fsync=off", "start",
        ])
    }

    /// Fast shutdown: clients get 57P01 and their sockets close, as in a real restart.
    public func stopServer() throws {
        try Self.asServiceUser([binDirectory + "/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    public func destroy() {
        try? stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func asServiceUser(_ arguments: [String], allowFailure: Bool = false) throws {
        if getuid() == 0 {
            try run(["runuser", "-u", "postgres", "--"] + arguments, allowFailure: allowFailure)
        } else {
            try run(arguments, allowFailure: allowFailure)
        }
    }

    static func run(_ arguments: [String], allowFailure: Bool = false) throws {
        let outcome = try ChildProcess.run(arguments)
        if outcome.status != 0 && !allowFailure {
            throw TestSupportError("\(arguments.joined(separator: " ")) failed: \(outcome.stderr)")
        }
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A TCP port nobody listens on right now, never handed out twice in this process, below
/// Linux's ephemeral range (32768 and up). Bind-to-0 ports came from that range: two tests
/// could get the same one (the second server then failed to bind while its health check
/// reached the first test's server), and another test's outgoing connection could take a
/// port while a test had its server down for a restart.
public func freeTCPPort() -> Int {
    PortAllocator.shared.next()
}

private final class PortAllocator: @unchecked Sendable {
    static let shared = PortAllocator()
    private let lock = NSLock()
    private var candidate = Int.random(in: 20_000..<26_000)

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        for _ in 0..<12_000 {
            let port = candidate
            candidate = candidate + 1 >= 32_000 ? 20_000 : candidate + 1
            if Self.canBind(port) { return port }
        }
        preconditionFailure("no free TCP port between 20000 and 32000")
    }

    private static func canBind(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
