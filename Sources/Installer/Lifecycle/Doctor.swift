import FoundationEssentials
import TenantConfig

/// `doctor`: checks an installed tenant and says, for each problem, how to fix it.
public enum Doctor {
    public struct Finding: Encodable, Sendable {
        public let check: String
        /// "ok", "warning" (worth knowing, not failing) or "problem" (exit 3)
        public let status: String
        public let detail: String
        public let fix: String?
    }

    public static func run(_ files: HostFiles) -> [Finding] {
        var findings: [Finding] = []
        let inputs = InstallInputs.load(files) ?? InstallInputs()
        guard InstallInputs.load(files) != nil else {
            return [Finding(check: "install", status: "problem", detail: "no install found (\(InstallInputs.path) is missing)",
                            fix: "run `molecule-tenant install`")]
        }
        findings += units(files, inputs)
        findings += database(files, inputs)
        findings += redis(files, inputs)
        findings += ports(files, inputs)
        findings.append(health(inputs))
        findings.append(clock())
        findings += disk(files)
        if !SandboxCompatibilityStep.userNamespacesWork(InstallContext.probe(files)) {
            findings.append(Finding(check: "sandbox", status: "ok",
                                    detail: "this host cannot create user namespaces; Redis runs with PrivateUsers=false (drop-in written by install)", fix: nil))
        }
        return findings
    }

    static func ok(_ check: String, _ detail: String) -> Finding { Finding(check: check, status: "ok", detail: detail, fix: nil) }
    static func problem(_ check: String, _ detail: String, fix: String) -> Finding { Finding(check: check, status: "problem", detail: detail, fix: fix) }

    static func units(_ files: HostFiles, _ inputs: InstallInputs) -> [Finding] {
        var wanted = [SystemdUnits.plugin, SystemdUnits.server]
        if !inputs.externalDatabase { wanted.append("postgresql.service") }
        if !inputs.externalRedis { wanted.append(RedisStep.flavor(files).unit) }
        return wanted.map { unit in
            let active = HostCommand(["systemctl", "is-active", unit], timeoutSeconds: 10).run().output.trimmingNewlines()
            let name = unit == "postgresql.service" ? "PostgreSQL (postgresql.service)" : unit
            guard active == "active" else {
                return problem("unit \(unit)", "\(name) is \(active.isEmpty ? "unknown" : active)",
                               fix: "systemctl start \(unit); see journalctl -u \(unit == "postgresql.service" ? "'postgresql@*'" : unit)")
            }
            return ok("unit \(unit)", "\(name) is active")
        }
    }

    static func database(_ files: HostFiles, _ inputs: InstallInputs) -> [Finding] {
        guard !inputs.externalDatabase else { return [] }
        guard HostCommand(["pg_isready", "-q"], timeoutSeconds: 10).run().succeeded else {
            return [problem("postgresql", "PostgreSQL does not accept connections on its local socket",
                            fix: "systemctl start postgresql.service; see journalctl -u 'postgresql@*'")]
        }
        var findings: [Finding] = []
        let sql = """
            SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), '-')
                || ',' || (SELECT count(*) FROM pg_namespace WHERE nspname = 'memory_plugin')
                || ',' || coalesce((SELECT array_to_string(setconfig, ' ') FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                                    WHERE r.rolname = 'molecule' AND s.setdatabase = 0), '');

            """
        let outcome = HostCommand(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-t", "-A", "-d", "molecule"], input: sql, timeoutSeconds: 30).run()
        let fields = outcome.output.trimmingNewlines().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard outcome.succeeded, fields.count >= 3 else {
            return [problem("database", "cannot read database molecule as the postgres superuser", fix: "run `molecule-tenant install` again")]
        }
        if fields[0] == "-" {
            findings.append(problem("pgvector", "the vector extension is not enabled in database molecule",
                                    fix: "runuser -u postgres -- psql -d molecule -c 'CREATE EXTENSION vector' (package postgresql-N-pgvector)"))
        } else {
            findings.append(ok("pgvector", "pgvector \(fields[0])"))
        }
        findings.append(fields[1] == "1" ? ok("schema", "schema memory_plugin exists")
                        : problem("schema", "schema memory_plugin is missing", fix: "run `molecule-tenant install` again"))
        // Our SQL is schema-qualified, but the vector type lives in public: a role-level
        // search_path without public breaks embedding casts.
        let searchPath = fields[2...].joined(separator: ",")
        if searchPath.contains("search_path="), !searchPath.contains("public") {
            findings.append(problem("search_path", "role molecule has \(searchPath), which hides schema public (pgvector's types)",
                                    fix: "runuser -u postgres -- psql -c 'ALTER ROLE molecule RESET search_path'"))
        } else {
            findings.append(ok("search_path", searchPath.isEmpty ? "role molecule uses the default search_path" : searchPath))
        }
        return findings
    }

    static func redis(_ files: HostFiles, _ inputs: InstallInputs) -> [Finding] {
        guard !inputs.externalRedis else { return [] }
        let password = ConfigStep.secret(files, "REDIS_PASSWORD") ?? ""
        let outcome = HostCommand(["redis-cli", "--no-auth-warning", "-h", "127.0.0.1", "-p", "6379", "CONFIG", "GET", "notify-keyspace-events"],
                                  environment: ["REDISCLI_AUTH": password], timeoutSeconds: 10).run()
        guard outcome.succeeded, !outcome.output.contains("ERR"), !outcome.output.contains("NOAUTH"), !outcome.output.contains("refused") else {
            return [problem("redis", "Redis does not answer on 127.0.0.1:6379 with the password in secrets.env",
                            fix: "systemctl restart \(RedisStep.flavor(files).unit); run `molecule-tenant install` again if it persists")]
        }
        let value = outcome.output.split(separator: "\n").last.map(String.init)?.trimmingNewlines() ?? ""
        // "AKE" or any spelling that covers all classes (A), keyspace (K) and keyevent (E).
        guard value.contains("A") && value.contains("K") && value.contains("E") else {
            return [problem("keyspace events", "notify-keyspace-events is \"\(value)\"; liveness needs KEA",
                            fix: "run `molecule-tenant install` again (it writes \(RedisStep.flavor(files).dropIn))")]
        }
        return [ok("keyspace events", "notify-keyspace-events \(value)")]
    }

    static func ports(_ files: HostFiles, _ inputs: InstallInputs) -> [Finding] {
        let table = ListeningPorts(files: files)
        var wanted: [(Int, String, String)] = [(inputs.port, "molecule-tenant", "server"), (9100, "molecule-tenant", "memory plugin")]
        if !inputs.externalDatabase { wanted.append((5432, "postgres", "PostgreSQL")) }
        if !inputs.externalRedis { wanted.append((6379, RedisStep.flavor(files).group, "Redis")) }
        return wanted.map { port, command, what in
            guard let holder = table.holder(of: port) else {
                return problem("port \(port)", "nothing listens on \(port) (\(what))", fix: "see `molecule-tenant status` and the unit's journal")
            }
            if let name = holder.command, !name.hasPrefix(command) {
                return problem("port \(port)", "\(port) is held by \(holder.description), not the \(what)", fix: "stop \(name) or move it to another port")
            }
            return ok("port \(port)", "the \(what) listens on \(port)")
        }
    }

    static func health(_ inputs: InstallInputs) -> Finding {
        let plugin = HealthGate.probe("http://127.0.0.1:9100/v1/health")
        let server = HealthGate.probe("http://127.0.0.1:\(inputs.port)/health")
        guard plugin == "ok", server == "ok" else {
            return problem("health", "plugin /v1/health: \(plugin); server /health: \(server)",
                           fix: "journalctl -u \(SystemdUnits.plugin) -u \(SystemdUnits.server) -n 50")
        }
        return ok("health", "plugin and server report ok")
    }

    static func clock() -> Finding {
        let synced = HostCommand(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], timeoutSeconds: 10).run()
        let value = synced.output.trimmingNewlines()
        if synced.succeeded, value == "yes" { return ok("clock", "synchronised (NTP)") }
        return Finding(check: "clock", status: "warning", detail: "the clock is not known to be synchronised (timedatectl: \(value.isEmpty ? "unavailable" : value))",
                       fix: "enable time sync: apt-get install systemd-timesyncd (token expiry and TTLs use the clock)")
    }

    static func disk(_ files: HostFiles) -> [Finding] {
        ["/var/lib/postgresql", "/var/lib/molecule-tenant"].compactMap { path in
            guard files.isDirectory(path), let free = HostResources.freeDiskMiB(files, at: path) else { return nil }
            guard free >= 1024 else {
                return problem("disk \(path)", "\(free) MiB free under \(path)", fix: "free space or grow the disk (PostgreSQL stops writing when full)")
            }
            return ok("disk \(path)", "\(free) MiB free")
        }
    }
}

extension InstallContext {
    /// A context for read-only probes outside an install.
    static func probe(_ files: HostFiles) -> InstallContext {
        InstallContext(files: files, platform: Platform.supported[0], inputs: InstallInputs(), secrets: InstallSecrets(),
                       binaryPath: BinaryStep.path, canQueryHost: files.root == "/", log: InstallLog(discarding: ()))
    }
}
