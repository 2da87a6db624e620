import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Pipeline mode")
struct PipelineTests {
    @Test func aThousandInsertsRunInOnePipelineWithPerStatementOutcomes() async throws {
        try await withTestDatabase("pipeline") { _, pool in
            try await pool.query("CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL)")
            try await pool.query("INSERT INTO items VALUES (500, 'already here')")
            var statements = (0..<1000).map { index in
                PostgresConnection.Statement("INSERT INTO items VALUES ($1, $2) RETURNING id", [index, "item \(index)"])
            }
            // A NUL byte fails alone, before anything is sent.
            statements[7] = PostgresConnection.Statement("INSERT INTO items VALUES ($1, $2) RETURNING id", [7, "bad\u{0}"])
            let outcomes = try await pool.pipeline(statements)
            #expect(outcomes.count == 1000)
            for (index, outcome) in outcomes.enumerated() {
                switch (index, outcome) {
                case (500, .failure(let error)): #expect(error.sqlState == .uniqueViolation)
                case (7, .failure(let error)): #expect(error.sqlState == .untranslatableCharacter)
                case (_, .success(let result)): #expect(try result[0].decode(Int.self, at: 0) == index)
                default: Issue.record("unexpected outcome at \(index): \(outcome)")
                }
            }
            let count = try await pool.query("SELECT count(*) FROM items").first!.decode(Int.self, at: 0)
            #expect(count == 999)
            // The connection is back in normal mode afterwards.
            #expect(try await pool.query("SELECT body FROM items WHERE id = $1", [999]).first!.decode(String.self, at: 0) == "item 999")
        }
    }

    @Test func largeStatementsDoNotDeadlockThePipeline() async throws {
        try await withTestDatabase("pipeline", maxConnections: 1) { _, pool in
            try await pool.query("CREATE TABLE blobs (id int, body text)")
            let big = String(repeating: "x", count: 90_000)
            let statements = (0..<300).map { PostgresConnection.Statement("INSERT INTO blobs VALUES ($1, $2) RETURNING body", [$0, big]) }
            let outcomes = try await pool.pipeline(statements)
            #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
            #expect(try await pool.query("SELECT count(*) FROM blobs").first!.decode(Int.self, at: 0) == 300)
        }
    }
}
