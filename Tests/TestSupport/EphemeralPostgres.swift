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

/// A TCP port nobody listens on right now (bind to 0, read it back, close).
public func freeTCPPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
