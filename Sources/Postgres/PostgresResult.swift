import CLibPQ

/// The rows of one statement, owned until the last reference goes away. A PGresult
/// is immutable once created, so reading it from any thread is safe.
public final class PostgresResult: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Rows affected by INSERT/UPDATE/DELETE (0 for other statements).
    public let affectedRows: Int
    public let count: Int
    public let columnNames: [String]

    init(taking handle: OpaquePointer) {
        self.handle = handle
        self.count = Int(PQntuples(handle))
        self.affectedRows = Int(String(cString: PQcmdTuples(handle))) ?? 0
        self.columnNames = (0..<PQnfields(handle)).map { String(cString: PQfname(handle, $0)) }
    }

    deinit { PQclear(handle) }

    public var isEmpty: Bool { count == 0 }
    public var first: PostgresRow? { count > 0 ? PostgresRow(result: self, index: 0) : nil }

    public subscript(row: Int) -> PostgresRow {
        precondition(row >= 0 && row < count, "row \(row) out of range 0..<\(count)")
        return PostgresRow(result: self, index: row)
    }

    public var rows: [PostgresRow] { (0..<count).map { PostgresRow(result: self, index: $0) } }

    func columnIndex(_ name: String) -> Int? {
        columnNames.firstIndex(of: name)
    }

    func text(row: Int, column: Int) -> String? {
        if PQgetisnull(handle, Int32(row), Int32(column)) == 1 { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(PQgetvalue(handle, Int32(row), Int32(column))), count: length)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One row of a `PostgresResult`; columns are read by position or by name.
public struct PostgresRow: Sendable {
    let result: PostgresResult
    let index: Int

    /// Decodes a non-NULL column; NULL is a decoding error (use an Optional type to allow it).
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        guard column >= 0, column < result.columnNames.count else {
            throw PostgresError(kind: .usage, message: "column \(column) out of range")
        }
        guard let text = result.text(row: index, column: column) else {
            throw PostgresError(kind: .decoding, message: "column \"\(result.columnNames[column])\" is NULL")
        }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type = T?.self, at column: Int) throws(PostgresError) -> T? {
        guard column >= 0, column < result.columnNames.count else {
            throw PostgresError(kind: .usage, message: "column \(column) out of range")
        }
        guard let text = result.text(row: index, column: column) else { return nil }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: String) throws(PostgresError) -> T {
        try decode(type, at: try position(of: column))
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type = T?.self, _ column: String) throws(PostgresError) -> T? {
        try decode(type, at: try position(of: column))
    }

    /// True when the column is SQL NULL.
    public func isNull(_ column: String) throws(PostgresError) -> Bool {
        result.text(row: index, column: try position(of: column)) == nil
    }

    private func position(of name: String) throws(PostgresError) -> Int {
        guard let position = result.columnIndex(name) else {
            throw PostgresError(kind: .usage, message: "no column named \"\(name)\" in the result")
        }
        return position
    }
}
