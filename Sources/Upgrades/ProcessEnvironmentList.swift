#if canImport(Glibc)
import Glibc
#endif

/// This process's environment as `KEY=VALUE` strings, for child processes.
enum ProcessEnvironmentList {
    static func current() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }
}
