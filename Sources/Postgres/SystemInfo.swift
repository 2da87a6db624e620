import NIOCore

/// Facts about the host that sizing defaults depend on.
public enum System {
    /// Logical cores available to this process.
    public static var coreCount: Int { NIOCore.System.coreCount }
}

extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes 0 ("none").
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(millis)
    }
}
