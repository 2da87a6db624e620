import Postgres
import TestSupport
import Testing

@Suite("Prepared statements")
struct PreparedStatementTests {
    @Test func aStatementIsPreparedOncePerConnectionAndRunsWithEachCallsValues() async throws {
        try await withTestDatabase("prepared", maxConnections: 1) { _, pool in
            let sql = "SELECT $1::int * 2 AS doubled, $2::text AS label"
            try await pool.withConnection { session in
                for value in 1...3 {
                    let row = try #require(try await session.query(prepared: sql, [value, "n\(value)"]).first)
                    #expect(try row.decode(Int.self, "doubled") == value * 2)
                    #expect(try row.decode(String.self, "label") == "n\(value)")
                }
                let prepared = try await session.query("SELECT count(*)::int FROM pg_prepared_statements WHERE statement = $1", [sql])
                let count = try prepared[0].decode(Int.self, at: 0)
                #expect(count == 1)
            }
        }
    }

    @Test func errorsLeaveThePreparedStatementUsable() async throws {
        try await withTestDatabase("prepared", maxConnections: 1) { _, pool in
            let sql = "SELECT 10 / $1::int AS quotient"
            try await pool.withConnection { session in
                await #expect(throws: PostgresError.self) { try await session.query(prepared: sql, [0]) }
                await #expect(throws: PostgresError.self) { try await session.query(prepared: sql, ["nul\u{0}byte"]) }
                let quotient = try await session.query(prepared: sql, [5])[0].decode(Int.self, "quotient")
                #expect(quotient == 2)
            }
        }
    }
}

@Suite("Prepared statements in a pipeline")
struct PreparedPipelineTests {
    @Test func aPipelineRunsPreparedAndPlainStatementsWithPerStatementOutcomes() async throws {
        try await withTestDatabase("prepared", maxConnections: 1) { _, pool in
            let sql = "SELECT 100 / $1::int AS quotient"
            let statements = [
                PostgresConnection.Statement(sql, [4], prepared: true),
                PostgresConnection.Statement(sql, [0], prepared: true),
                PostgresConnection.Statement("SELECT $1::text AS plain", ["unprepared"]),
                PostgresConnection.Statement(sql, [50], prepared: true),
            ]
            let outcomes = try await pool.pipeline(statements)
            #expect(try outcomes[0].get()[0].decode(Int.self, "quotient") == 25)
            #expect((try? outcomes[1].get()) == nil, "division by zero fails alone")
            #expect(try outcomes[2].get()[0].decode(String.self, "plain") == "unprepared")
            #expect(try outcomes[3].get()[0].decode(Int.self, "quotient") == 2)
            // Prepared once, and still usable outside the pipeline.
            try await pool.withConnection { session in
                let count = try await session.query("SELECT count(*)::int FROM pg_prepared_statements WHERE statement = $1", [sql])[0].decode(Int.self, at: 0)
                #expect(count == 1)
                let again = try await session.query(prepared: sql, [10])[0].decode(Int.self, "quotient")
                #expect(again == 10)
            }
        }
    }
}
