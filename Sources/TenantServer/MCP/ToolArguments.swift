import MemoryContract

/// A tool call's `arguments`, read with the types its schema promises. A wrong type or
/// an argument the tool does not take is refused with its name, never guessed at.
struct ToolArguments: Sendable {
    let fields: [String: JSONValue]

    init(_ value: JSONValue?, allowed: Set<String>) throws {
        switch value {
        case nil, .null?: fields = [:]
        case .object(let object)?: fields = object
        default: throw APIError.badRequest("arguments must be an object")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("\(unknown) is not an argument of this tool; expected: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// A string argument; absent, null and "" are all nil.
    func string(_ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        default: throw APIError.badRequest("\(name) must be a string")
        }
    }

    func bool(_ name: String) throws -> Bool? {
        switch fields[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw APIError.badRequest("\(name) must be a boolean")
        }
    }

    func int(_ name: String) throws -> Int? {
        switch fields[name] {
        case nil, .null?: return nil
        case .number(let value)? where value.rounded() == value && abs(value) < 1e9: return Int(value)
        default: throw APIError.badRequest("\(name) must be an integer")
        }
    }

    func strings(_ name: String) throws -> [String] {
        switch fields[name] {
        case nil, .null?: return []
        case .array(let items)?:
            return try items.map { item in
                guard case .string(let text) = item else { throw APIError.badRequest("\(name) must be an array of strings") }
                return text
            }
        default: throw APIError.badRequest("\(name) must be an array of strings")
        }
    }
}
