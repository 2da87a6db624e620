/// A release version ordered as semantic versioning orders it: numeric core first, a
/// pre-release (`1.2.0-rc.1`) before its release, build metadata (`+...`) ignored.
public struct ReleaseVersion: Comparable, Sendable, CustomStringConvertible {
    public let text: String
    private let core: [Int]
    private let preRelease: [Substring]

    public init?(_ text: String) {
        let withoutBuild = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = withoutBuild.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.count <= 4, numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        self.text = text
        core = numbers.map { $0! } + [Int](repeating: 0, count: 4 - numbers.count)
        preRelease = parts.count > 1 ? parts[1].split(separator: ".", omittingEmptySubsequences: false) : []
    }

    public var description: String { text }

    public static func == (lhs: Self, rhs: Self) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.core != rhs.core { return lhs.core.lexicographicallyPrecedes(rhs.core) }
        switch (lhs.preRelease.isEmpty, rhs.preRelease.isEmpty) {
        case (true, true), (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (left, right) in zip(lhs.preRelease, rhs.preRelease) where left != right {
            switch (Int(left), Int(right)) {
            case let (l?, r?): return l < r
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return left < right
            }
        }
        return lhs.preRelease.count < rhs.preRelease.count
    }
}
