#if canImport(Glibc)
import Glibc
#endif

/// `UPDATE_WINDOW`: the local time of day automatic upgrades may start in, `HH:MM-HH:MM`
/// (`02:00-05:00`; `22:00-04:00` wraps past midnight; `24:00` may end one). The start is
/// inside the window, the end is not.
public struct UpdateWindow: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after local midnight.
    public let start: Int
    public let end: Int

    public init(parsing text: String) throws(UpdateWindowError) {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Self.minutes(bounds[0], allowMidnightEnd: false),
              let end = Self.minutes(bounds[1], allowMidnightEnd: true) else { throw UpdateWindowError(text: text) }
        guard start != end % (24 * 60) else { throw UpdateWindowError(text: text) }
        self.start = start
        self.end = end
    }

    public var description: String { Self.clock(start) + "-" + Self.clock(end) }

    public func contains(minuteOfDay minute: Int) -> Bool {
        start < end ? (start <= minute && minute < end) : (minute >= start || minute < end)
    }

    /// Whether `time` (seconds since the epoch) falls in the window, in this host's time zone.
    public func contains(time: Int) -> Bool { contains(minuteOfDay: Self.localMinuteOfDay(time)) }

    public static func localMinuteOfDay(_ time: Int) -> Int {
        var seconds = time_t(time)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return Int(parts.tm_hour) * 60 + Int(parts.tm_min)
    }

    private static func minutes(_ text: Substring, allowMidnightEnd: Bool) -> Int? {
        let parts = text.trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...59).contains(minutes) else { return nil }
        if hours == 24 && minutes == 0 && allowMidnightEnd { return 24 * 60 }
        guard (0...23).contains(hours) else { return nil }
        return hours * 60 + minutes
    }

    private static func clock(_ minutes: Int) -> String {
        let hours = minutes / 60, rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }
}

public struct UpdateWindowError: Error, CustomStringConvertible {
    public let text: String
    public var description: String {
        "UPDATE_WINDOW=\(text) is not valid: expected local times HH:MM-HH:MM, e.g. 02:00-05:00 (22:00-04:00 wraps past midnight)"
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var slice = self
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}
