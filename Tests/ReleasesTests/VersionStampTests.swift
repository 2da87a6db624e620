import Releases
import Testing

@Suite struct VersionStampTests {
    @Test func stampingReplacesTheVersionAndKeepsTheSlotSize() throws {
        var binary = fakeBinary(version: "0.1.0-dev")
        let size = binary.count
        try VersionStamp.stamp(&binary, version: "10.20.30-rc.1+build.7")
        #expect(binary.count == size)
        #expect(try VersionStamp.read(binary) == "10.20.30-rc.1+build.7")
        try VersionStamp.stamp(&binary, version: "1.0.0")
        #expect(try VersionStamp.read(binary) == "1.0.0")
    }

    @Test func aMarkerThatIsNotUniqueIsRefused() {
        var twice = fakeBinary(markers: 2)
        #expect(throws: ReleaseError.markerCount(2)) { try VersionStamp.stamp(&twice, version: "1.0.0") }
        var none = fakeBinary(markers: 0)
        #expect(throws: ReleaseError.markerCount(0)) { try VersionStamp.stamp(&none, version: "1.0.0") }
    }

    @Test func versionsThatDoNotFitOrCarryOddCharactersAreRefused() throws {
        var binary = fakeBinary()
        for bad in ["", "1.0 beta", "1.0/2", String(repeating: "9", count: VersionStamp.maximumLength + 1)] {
            #expect(throws: ReleaseError.invalidVersion(bad)) { try VersionStamp.stamp(&binary, version: bad) }
        }
        #expect(try VersionStamp.read(binary) == "0.1.0-dev")
    }

    @Test func versionsOrderAsSemanticVersioning() throws {
        let ordered = ["0.1.0-dev", "0.9.9", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0", "1.0.1", "1.2", "1.10.0", "2.0.0"]
        let versions = try ordered.map { try #require(ReleaseVersion($0)) }
        for (lower, higher) in zip(versions, versions.dropFirst()) { #expect(lower < higher, "\(lower) < \(higher)") }
        #expect(ReleaseVersion("1.0.0+abc") == ReleaseVersion("1.0.0"))
        #expect(ReleaseVersion("banana") == nil)
    }
}
