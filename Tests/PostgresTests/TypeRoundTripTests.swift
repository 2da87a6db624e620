import Foundation
import Postgres
import TestSupport
import Testing

@Suite("PostgreSQL value types")
struct TypeRoundTripTests {
    @Test func textIntegersFloatsAndBoolsRoundTrip() async throws {
        try await withTestDatabase("types") { _, pool in
            let row = try await pool.query(
                "SELECT $1::text AS t, $2::int4 AS i4, $3::int8 AS i8, $4::float8 AS f8, $5::float4 AS f4, $6::bool AS b, $7::text AS unicode",
                ["héllo 'quoted' \"double\" \\ back", Int32(-42), Int64.max, 3.141592653589793, Float(1.5), true, "日本語 🚀"]
            ).first!
            #expect(try row.decode(String.self, "t") == "héllo 'quoted' \"double\" \\ back")
            #expect(try row.decode(Int32.self, "i4") == -42)
            #expect(try row.decode(Int64.self, "i8") == Int64.max)
            #expect(try row.decode(Double.self, "f8") == 3.141592653589793)
            #expect(try row.decode(Float.self, "f4") == 1.5)
            #expect(try row.decode(Bool.self, "b") == true)
            #expect(try row.decode(String.self, "unicode") == "日本語 🚀")
        }
    }

    @Test func nullDecodesAsNilAndFailsForNonOptionals() async throws {
        try await withTestDatabase("types") { _, pool in
            let row = try await pool.query("SELECT NULL::text AS missing, $1::int AS absent", [Int?.none]).first!
            #expect(try row.decode(String?.self, "missing") == nil)
            #expect(try row.decode(Int?.self, "absent") == nil)
            #expect(throws: PostgresError.self) { try row.decode(String.self, "missing") }
        }
    }

    @Test func uuidAndTimestampKeepEveryMicrosecond() async throws {
        try await withTestDatabase("types") { _, pool in
            let id = UUID()
            let stamp = PostgresTimestamp(rfc3339: "2024-02-29T23:59:58.123456Z")!
            let row = try await pool.query(
                "SELECT $1::uuid AS id, $2::timestamptz AS at, '1999-12-31 23:00:00.000001-05'::timestamptz AS offset_at",
                [id, stamp]
            ).first!
            #expect(try row.decode(UUID.self, "id") == id)
            #expect(try row.decode(PostgresTimestamp.self, "at") == stamp)
            #expect(try row.decode(PostgresTimestamp.self, "offset_at").rfc3339 == "2000-01-01T04:00:00.000001Z")
        }
    }

    @Test func jsonbArraysByteaAndVectorsRoundTrip() async throws {
        try await withTestDatabase("types") { _, pool in
            let tags = ["plain", "with space", "comma,inside", "quote\"inside", "back\\slash", "NULL", ""]
            let row = try await pool.query(
                "SELECT $1::jsonb AS doc, $2::text[] AS tags, $3::float8[] AS scores, $4::bytea AS raw, ARRAY['a', NULL]::text[] AS with_null, '{}'::text[] AS empty",
                [PostgresJSON(#"{"b": [1, 2], "a": "x"}"#), tags, [1.5, -2.25, 1e-10], PostgresBytes([0, 1, 254, 255])]
            ).first!
            struct Doc: Decodable, Equatable { let a: String; let b: [Int] }
            #expect(try row.decode(PostgresJSON.self, "doc").decode(Doc.self) == Doc(a: "x", b: [1, 2]))
            #expect(try row.decode([String].self, "tags") == tags)
            #expect(try row.decode([Double].self, "scores") == [1.5, -2.25, 1e-10])
            #expect(try row.decode(PostgresBytes.self, "raw").bytes == [0, 1, 254, 255])
            #expect(try row.decode([String].self, "empty") == [])
            #expect(throws: PostgresError.self) { try row.decode([String].self, "with_null") }
        }
    }

    @Test func nulBytesInParametersAreRefusedNotTruncated() async throws {
        try await withTestDatabase("types") { _, pool in
            try await pool.query("CREATE TABLE notes (body text)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.query("INSERT INTO notes VALUES ($1)", ["before\u{0}after"])
            }
            #expect(error?.sqlState == .untranslatableCharacter)
            #expect(try await pool.query("SELECT count(*) FROM notes").first!.decode(Int.self, at: 0) == 0)
        }
    }
}
