import Synchronization

/// Namespaces this process has seen exist, so a commit into one can skip the statement
/// that creates a missing namespace (about a fifth of a commit's database time). Only a
/// hint: a namespace deleted elsewhere makes the short insert fail on its foreign key,
/// and the commit then takes the full statement, which recreates it.
final class KnownNamespaces: Sendable {
    /// Bounds memory on a tenant with very many namespaces; past it the set starts over.
    static let capacity = 10_000
    private let names = Mutex(Set<String>())

    func contains(_ name: String) -> Bool { names.withLock { $0.contains(name) } }

    func insert(_ name: String) {
        names.withLock { names in
            if names.count >= Self.capacity { names.removeAll(keepingCapacity: true) }
            names.insert(name)
        }
    }

    func remove(_ name: String) { _ = names.withLock { $0.remove(name) } }
}
