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
