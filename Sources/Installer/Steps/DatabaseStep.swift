/// Role `molecule` (peer authentication over the local socket: no password to keep),
/// database `molecule`, schema `memory_plugin`, and `CREATE EXTENSION vector` run as the
/// superuser (the tenant's role may not create extensions).
public struct DatabaseStep: InstallStep {
    public let name = "database"
    public let title = "Create the PostgreSQL role, database, schema and pgvector extension"

    static let database = "molecule"

    public init() {}

    /// SQL as the superuser over the socket; idempotent.
    static let setupSQL = """
        SELECT 'CREATE ROLE molecule LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'molecule') \\gexec
        SELECT 'CREATE DATABASE molecule OWNER molecule' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'molecule') \\gexec
        \\c molecule
        CREATE SCHEMA IF NOT EXISTS memory_plugin AUTHORIZATION molecule;
        CREATE EXTENSION IF NOT EXISTS vector;

        """

    static let probeSQL = """
        SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 'molecule')
            || ',' || (SELECT count(*) FROM pg_database WHERE datname = 'molecule');

        """

    static let probeDatabaseSQL = """
        SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'memory_plugin')
            || ',' || (SELECT count(*) FROM pg_extension WHERE extname = 'vector');

        """

    static func psql(_ database: String, _ sql: String) -> HostCommand {
        HostCommand(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", database],
                    environment: ["PGOPTIONS": "-c client_min_messages=warning"], input: sql, timeoutSeconds: 120)
    }

    static let allChanges = [
        Change("create role molecule (peer authentication over the local socket)"),
        Change("create database molecule owned by molecule"),
        Change("create schema memory_plugin owned by molecule"),
        Change("create extension vector (pgvector) as the superuser"),
    ]

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        guard !context.inputs.externalDatabase else {
            return StepCheck(notes: ["external database (DATABASE_URL in secrets.env): role, schema and extension are its owner's job"])
        }
        guard context.canQueryHost, Accounts(context.files).uid("postgres") != nil else { return StepCheck(changes: Self.allChanges) }
        let outcome = HostCommand.run(Self.psql("postgres", Self.probeSQL))
        guard outcome.succeeded else { return StepCheck(changes: Self.allChanges) }
        let counts = outcome.output.trimmingNewlines().split(separator: ",")
        var changes: [Change] = []
        if counts.first != "1" { changes.append(Self.allChanges[0]) }
        if counts.last != "1" { return StepCheck(changes: changes + Self.allChanges.dropFirst()) }
        let inside = HostCommand.run(Self.psql(Self.database, Self.probeDatabaseSQL))
        let found = inside.output.trimmingNewlines().split(separator: ",")
        if !inside.succeeded || found.first != "1" { changes.append(Self.allChanges[2]) }
        if !inside.succeeded || found.last != "1" { changes.append(Self.allChanges[3]) }
        return StepCheck(changes: changes)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        try PostgresService.ensureRunning(context)
        try context.require("setting up the database", Self.psql("postgres", Self.setupSQL))
    }
}

/// The local PostgreSQL cluster the packages created.
enum PostgresService {
    static func ensureRunning(_ context: InstallContext) throws(InstallError) {
        context.systemctl("enable", "--now", "postgresql.service")
        let deadline = MonotonicClock.seconds() + 60
        while MonotonicClock.seconds() < deadline {
            if HostCommand(["pg_isready", "-q"], timeoutSeconds: 10).run().succeeded { return }
            _ = HostCommand(["sleep", "0.5"]).run()
        }
        throw .message("PostgreSQL did not start within 60 s: see `journalctl -u postgresql@\(context.platform.postgresMajor)-main`")
    }
}

extension HostCommand {
    /// Runs without logging (read-only probes).
    static func run(_ command: HostCommand) -> Outcome { command.run() }
}

extension String {
    func trimmingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == " " || last == "\r" { text = text.dropLast() }
        while let first = text.first, first == "\n" || first == " " { text = text.dropFirst() }
        return String(text)
    }
}
