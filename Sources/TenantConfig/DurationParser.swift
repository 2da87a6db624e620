/// Parses Go-style durations ("500ms", "2s", "1m30s", "1h", "250us"), because the
/// reference's env vars (e.g. MEMORY_PLUGIN_TIMEOUT=2s) are written that way, plus days
/// ("7d", which Go lacks) for retention periods. A bare number is taken as seconds.
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        let input = Array(text.utf8)
        guard !input.isEmpty else { return nil }
        // Digits only ("90"): seconds. Double(text) alone would also take "inf", "nan",
        // hex and exponents.
        if input.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: ".") }) {
            guard let seconds = Double(text) else { return nil }
            return nanoseconds(seconds * 1e9)
        }
        var total: Double = 0
        var index = 0
        while index < input.count {
            let numberStart = index
            while index < input.count, (input[index] >= 48 && input[index] <= 57) || input[index] == UInt8(ascii: ".") { index += 1 }
            guard index > numberStart, let number = Double(String(decoding: input[numberStart..<index], as: UTF8.self)) else { return nil }
            let unitStart = index
            while index < input.count, input[index] >= 97 && input[index] <= 122 || input[index] == 0xC2 || input[index] == 0xB5 { index += 1 }
            let unit = String(decoding: input[unitStart..<index], as: UTF8.self)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86400e9
            default: return nil
            }
            total += number * scale
        }
        return nanoseconds(total)
    }

    /// Nil past what a Duration of Int64 nanoseconds holds (about 292 years).
    private static func nanoseconds(_ value: Double) -> Duration? {
        guard value.isFinite, value >= 0, value < 9.2e18 else { return nil }
        return .nanoseconds(Int64(value))
    }
}

extension Duration {
    /// The duration in seconds as a Double (for timeouts handed to C APIs).
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
