import Installer
import Testing

@Suite("Installer parsing")
struct DiffAndParsingTests {
    @Test func aDiffShowsOnlyChangedLinesAndMasksSecrets() {
        let diff = TextDiff.render(path: "/x.env", old: "A=1\nTOKEN=old\nB=2\n", new: "A=1\nTOKEN=new\nB=2\nC=3\n", mask: { $0.hasPrefix("TOKEN=") ? "TOKEN=<secret>" : $0 })
        #expect(diff == "--- /x.env\n+++ /x.env\n+C=3")
        #expect(TextDiff.render(path: "/y", old: nil, new: "a\n") == "--- /dev/null\n+++ /y\n+a")
        #expect(TextDiff.render(path: "/y", old: "a\nb\n", new: "b\n") == "--- /y\n+++ /y\n-a")
    }

    @Test func dpkgStatusKnowsInstalledAndInterruptedPackages() {
        let status = DpkgStatus("""
            Package: libpq5
            Status: install ok installed

            Package: postgresql-17
            Status: install ok half-configured

            Package: old
            Status: deinstall ok config-files
            """)
        #expect(status.isInstalled("libpq5"))
        #expect(!status.isInstalled("postgresql-17"))
        #expect(status.interrupted == ["postgresql-17"])
    }

    @Test func osReleaseSelectsThePlatform() throws {
        let release = OSRelease.parse("ID=debian\nVERSION_ID=\"13\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n")
        let platform = try Platform.detect(release)
        #expect(platform.postgresPackages == ["postgresql-17", "postgresql-17-pgvector"])
        #expect(platform.postgresSource == .distribution)
        #expect(platform.libarchivePackage == "libarchive13t64")
    }

    @Test func platformURLsMustBeHTTPSExceptOnLoopback() {
        #expect(throws: InstallError.self) { try PlatformClient.validate("http://platform.example") }
        #expect(throws: InstallError.self) { try PlatformClient.validate("https://169.254.169.254/") }
        #expect(throws: InstallError.self) { try PlatformClient.validate("ftp://x") }
        #expect((try? PlatformClient.validate("https://platform.example")) != nil)
        #expect((try? PlatformClient.validate("http://127.0.0.1:8999")) != nil)
    }

    @Test func httpTargetsParseHostPortAndPath() {
        #expect(HTTPCall.Target.parse("http://127.0.0.1:9100/v1/health") == .init(secure: false, host: "127.0.0.1", port: 9100, path: "/v1/health"))
        #expect(HTTPCall.Target.parse("https://[::1]/x") == .init(secure: true, host: "::1", port: 443, path: "/x"))
        #expect(HTTPCall.Target.parse("http://user@host/") == nil)
    }
}
