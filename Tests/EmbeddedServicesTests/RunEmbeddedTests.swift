import Foundation
import TestSupport
import Testing

/// `molecule-tenant run --embedded DIR` as users run it: the built binary as a child
/// process with its own PostgreSQL and Redis under a temporary directory. As root (CI)
/// both servers run as the `postgres` account, so that path is what these tests exercise.
@Suite struct RunEmbeddedTests {
    @Test func embeddedRunServesKeepsMemoriesAcrossRestartsAndStopsEverything() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let first = try await EmbeddedRun.start(directory.path)
        let committed = try first.plugin("POST", "/v1/namespaces/workspace:w1/memories",
                                         #"{"content":"the embedded release ships friday","kind":"fact","source":"agent"}"#)
        #expect(committed.status == 201)
        let secrets = try String(contentsOfFile: directory.path + "/secrets.env", encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: directory.path + "/secrets.env")[.posixPermissions] as? Int == 0o600)
        #expect(secrets.contains("ADMIN_TOKEN=") && secrets.contains("REDIS_PASSWORD="))

        // The server runs too, on the embedded PostgreSQL and Redis, with the generated admin token.
        let adminToken = try #require(secretValue("ADMIN_TOKEN", in: secrets))
        let health = try first.server("GET", "/health")
        #expect(health.status == 200, "\(health.text)")
        #expect(health.text.contains(#""status":"ok""#), "\(health.text)")
        #expect(try first.server("GET", "/workspaces").status == 401)
        let created = try first.server("POST", "/workspaces", #"{"name":"embedded"}"#, token: adminToken)
        #expect(created.status == 201, "\(created.text)")
        #expect(try first.server("GET", "/workspaces", token: adminToken).text.contains("embedded"))

        // A second run on a directory in use is refused, and leaves the first alone.
        let second = try MoleculeTenantBinary.run(["run", "--config", "/dev/null", "--embedded", directory.path])
        #expect(second.status == 1)
        #expect(second.stderr.contains("in use"))
        #expect(try first.plugin("GET", "/v1/health").status == 200)

        let servers = try first.serverPids()
        let stopped = first.stop()
        #expect(stopped.status == 0, "stderr: \(stopped.stderr)")
        for pid in servers { #expect(kill(pid, 0) == -1 && errno == ESRCH, "server \(pid) still runs after SIGTERM") }
        #expect(processes(mentioning: directory.path).isEmpty)
        // The admin token is printed, never logged.
        let token = try #require(secretValue("ADMIN_TOKEN", in: secrets))
        #expect(stopped.stdout.contains(token))
        #expect(!stopped.stderr.contains(token))

        // Same directory again: the cluster, its data and the secrets are reused.
        let again = try await EmbeddedRun.start(directory.path)
        let search = try again.plugin("POST", "/v1/search", #"{"namespaces":["workspace:w1"],"query":"release"}"#)
        #expect(search.status == 200)
        #expect(search.text.contains("the embedded release ships friday"))
        #expect(try String(contentsOfFile: directory.path + "/secrets.env", encoding: .utf8) == secrets)
        let pids = try again.serverPids()
        #expect(again.stop().status == 0)
        for pid in pids { #expect(kill(pid, 0) == -1 && errno == ESRCH) }
    }

    @Test func missingPostgresBinariesAreOneClearLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let outcome = try MoleculeTenantBinary.run(
            ["run", "--config", "/dev/null", "--embedded", directory.path],
            environment: ["EMBEDDED_PG_BINDIR": "/nonexistent/postgresql/bin"])
        #expect(outcome.status == 1)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("PostgreSQL server binaries"))
        #expect(outcome.stderr.contains("installer/packages.sh run"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/secrets.env"))
    }

    @Test func portFlagsWithoutEmbeddedAreAUsageError() throws {
        let outcome = try MoleculeTenantBinary.run(["run", "--pg-port", "5433"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--embedded"))
    }
}

/// One `run --embedded` child on free ports.
struct EmbeddedRun {
    let process: ChildProcess
    let directory: String
    let pluginPort: Int
    let serverPort: Int

    static func start(_ directory: String) async throws -> EmbeddedRun {
        let pluginPort = freeTCPPort()
        let serverPort = freeTCPPort()
        let process = try MoleculeTenantBinary.start(
            ["run", "--config", "/dev/null", "--embedded", directory,
             "--pg-port", String(freeTCPPort()), "--redis-port", String(freeTCPPort())],
            environment: ["MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:\(pluginPort)", "PORT": String(serverPort), "BIND_ADDR": "127.0.0.1", "LOG_FORMAT": "json"])
        let run = EmbeddedRun(process: process, directory: directory, pluginPort: pluginPort, serverPort: serverPort)
        // initdb on the first run takes a few seconds; a busy CI machine more.
        for _ in 0..<1200 {
            if process.hasExited { throw TestSupportError("run --embedded exited: \(process.wait().stderr)") }
            if let health = try? run.server("GET", "/health"), health.status == 200 { return run }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGKILL)
        throw TestSupportError("run --embedded did not become healthy: \(process.wait().stderr)")
    }

    func plugin(_ method: String, _ path: String, _ json: String? = nil) throws -> TestHTTP.Response {
        try TestHTTP.request(method, port: pluginPort, path: path, body: json.map { Data($0.utf8) }, timeout: .seconds(5))
    }

    func server(_ method: String, _ path: String, _ json: String? = nil, token: String? = nil) throws -> TestHTTP.Response {
        try TestHTTP.request(method, port: serverPort, path: path, body: json.map { Data($0.utf8) },
                             headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], timeout: .seconds(5))
    }

    /// The postmaster's and redis-server's pids, from their pid files.
    func serverPids() throws -> [pid_t] {
        try ["data/postgres/postmaster.pid", "data/redis/redis.pid"].map { file in
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            return try #require(pid_t(text.split(separator: "\n")[0].trimmingCharacters(in: .whitespaces)))
        }
    }

    func stop() -> ChildProcess.Outcome {
        process.signal(SIGTERM)
        return process.wait()
    }
}

struct TemporaryDirectory {
    let path: String

    init() throws {
        // Short: the PostgreSQL socket path inside it must stay under 107 bytes.
        path = "/tmp/mt-run-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Processes whose command line mentions `text` (the postmaster names its data directory).
func processes(mentioning text: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return line.contains(text) ? "\(pid): \(line)" : nil
    }
}

func secretValue(_ key: String, in text: String) -> String? {
    text.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
}
