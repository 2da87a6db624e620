import Foundation

/// Runs the built `molecule-tenant` binary as a child process, as users and scripts do.
public enum MoleculeTenantBinary {
    /// `MOLECULE_TENANT_BINARY`, else `.build/debug/molecule-tenant` of this checkout
    /// (Tests/run.sh builds it before running the suite).
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["MOLECULE_TENANT_BINARY"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/molecule-tenant").path
    }

    /// Runs to completion with `environment` added to (or replacing entries of) ours.
    public static func run(_ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> ChildProcess.Outcome {
        try start(arguments, environment: environment, removing: removing).wait()
    }

    public static func start(_ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("\(path) does not exist: run `swift build` first (Tests/run.sh does)")
        }
        var env = ProcessInfo.processInfo.environment
        for key in removing { env.removeValue(forKey: key) }
        env.merge(environment) { _, new in new }
        return try ChildProcess([path] + arguments, environment: env)
    }
}
