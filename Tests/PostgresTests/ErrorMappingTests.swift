import Foundation
import Postgres
import TestSupport
import Testing

@Suite("SQLSTATE mapping")
struct ErrorMappingTests {
    @Test func constraintAndSyntaxErrorsCarryTheirSQLState() async throws {
        try await withTestDatabase("errors") { _, pool in
            try await pool.query("CREATE TABLE parent (id int PRIMARY KEY)")
            try await pool.query("CREATE TABLE child (parent_id int REFERENCES parent(id))")
            try await pool.query("INSERT INTO parent VALUES (1)")

            let duplicate = await #expect(throws: PostgresError.self) { try await pool.query("INSERT INTO parent VALUES ($1)", [1]) }
            #expect(duplicate?.sqlState == .uniqueViolation)
            #expect(duplicate?.kind == .server)

            let orphan = await #expect(throws: PostgresError.self) { try await pool.query("INSERT INTO child VALUES ($1)", [2]) }
            #expect(orphan?.sqlState == .foreignKeyViolation)

            let badUUID = await #expect(throws: PostgresError.self) { try await pool.query("SELECT $1::uuid", ["not-a-uuid"]) }
            #expect(badUUID?.sqlState == .invalidTextRepresentation)
            #expect(badUUID?.isConnectionProblem == false)

            let missing = await #expect(throws: PostgresError.self) { try await pool.query("SELECT * FROM no_such_table") }
            #expect(missing?.sqlState == .undefinedTable)
        }
    }

    @Test func terminatedBackendIsAConnectionProblemAndThePoolRecovers() async throws {
        try await withTestDatabase("errors", maxConnections: 2) { _, pool in
            let error = await #expect(throws: PostgresError.self) {
                try await pool.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            #expect(error?.isConnectionProblem == true)
            // The broken connection is dropped; the next query gets a new one.
            let one = try await pool.query("SELECT 1").first!.decode(Int.self, at: 0)
            #expect(one == 1)
        }
    }

    @Test func unreachableServerFailsFastAsConnectionProblem() async throws {
        let pool = PostgresPool(.init(conninfo: "postgres://postgres@127.0.0.1:\(freeTCPPort())/postgres", maxConnections: 2))
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .connection)
        #expect(error?.sqlState?.errorClass == "08")
        #expect(error?.isConnectionProblem == true)
        #expect(ContinuousClock.now - started < .seconds(10))  // no hang; busy CI machines are slow
        await pool.shutdown()
    }
}
