import MemoryContract
import Postgres

extension ContractError {
    /// The one mapping from database failures to contract answers. No SQL, driver or
    /// constraint text ever reaches a response body.
    static func from(_ error: PostgresError) -> ContractError {
        if error.isConnectionProblem { return .unavailable() }
        switch error.sqlState {
        case SQLState.foreignKeyViolation?: return .notFound("namespace not found")
        case SQLState.uniqueViolation?: return .conflict("a memory with this id or key already exists")
        case SQLState.invalidTextRepresentation?, SQLState.untranslatableCharacter?, SQLState.characterNotInRepertoire?,
            SQLState.numericValueOutOfRange?, SQLState.dataException?:
            return .badRequest("a value in the request cannot be stored")
        case SQLState.queryCanceled?: return .unavailable("the memory store did not answer in time; retry later")
        default: return .internal()
        }
    }
}

/// Runs a store operation, turning any database failure into a contract error.
func mapped<T>(_ body: () async throws -> T) async throws(ContractError) -> T {
    do {
        return try await body()
    } catch let error as ContractError {
        throw error
    } catch let error as PostgresError {
        throw ContractError.from(error)
    } catch is CancellationError {
        throw ContractError.unavailable("request cancelled")
    } catch {
        throw ContractError.internal()
    }
}
