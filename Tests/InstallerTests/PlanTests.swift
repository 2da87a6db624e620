import Foundation
import TestSupport
import Testing

/// `install --plan` on fake fresh hosts: what would change, per release, with secrets
/// masked. No root, no network, nothing on the machine running the tests is read.
@Suite("Install plan")
struct PlanTests {
    @Test func aFreshDebian12GetsPostgresFromTheProjectRepositoryAndExitsTwo() throws {
        let host = try FakeHost(osRelease: FakeHost.debian12)
        defer { host.remove() }
        let plan = try host.plan()
        #expect(plan.status == 2, "\(plan.stderr)")
        let order = plan.events.compactMap { $0["step"] as? String }
        #expect(order == ["preflight", "inputs", "sandbox-compat", "packages", "system-user", "config", "database", "redis",
                          "binary", "units", "migrations", "registration", "start"])
        let packages = plan.events.changeSummaries("packages")
        #expect(packages.contains { $0.contains("PostgreSQL project's apt repository") })
        #expect(packages.contains("install libpq5, libarchive13, ca-certificates, curl, postgresql-17, postgresql-17-pgvector, redis-server"))
        #expect(plan.events.changeSummaries("system-user").first == "create system user molecule")
        let preflightNotes = (plan.events.step("preflight")?["notes"] as? [String]) ?? []
        #expect(preflightNotes.contains { $0.hasPrefix("Debian 12") })
        #expect(preflightNotes.contains("memory: 3906 MiB (needs 1024 MiB)"))
        let result = try #require(plan.events.last)
        #expect(result["event"] as? String == "result")
        #expect((result["changes"] as? Int ?? 0) > 10)
    }

    @Test func ubuntu2404UsesItsOwnPgvectorPackage() throws {
        let host = try FakeHost(osRelease: FakeHost.ubuntu2404)
        defer { host.remove() }
        let plan = try host.plan()
        #expect(plan.status == 2, "\(plan.stderr)")
        let packages = plan.events.changeSummaries("packages")
        #expect(packages == ["install libpq5, libarchive13t64, ca-certificates, curl, postgresql-16, postgresql-16-pgvector, redis-server"])
    }

    @Test func secretsAppearOnlyMaskedInThePlan() throws {
        let host = try FakeHost(osRelease: FakeHost.ubuntu2404)
        defer { host.remove() }
        let plan = try host.plan()
        let config = plan.events.changeDetails("config")
        #expect(config.contains("+++ /etc/molecule-tenant/secrets.env"))
        #expect(config.contains("+ADMIN_TOKEN=<secret>"))
        #expect(config.contains("+SECRETS_ENCRYPTION_KEY=<secret>"))
        #expect(config.contains("+REDIS_PASSWORD=<secret>"))
        #expect(config.contains("+PORT=8080"))
        #expect(plan.events.changeDetails("redis").contains("+requirepass <secret>"))
        // No generated value anywhere: every assignment of a secret is masked.
        for key in ["ADMIN_TOKEN", "SECRETS_ENCRYPTION_KEY", "REDIS_PASSWORD"] {
            let assignments = plan.stdout.ranges(of: key + "=")
            #expect(!assignments.isEmpty)
            for range in assignments {
                #expect(plan.stdout[range.upperBound...].hasPrefix("<secret>"), "\(key) is not masked")
            }
        }
    }

    @Test func anExistingSecretsFileIsKeptAndNotPlannedAgain() throws {
        let host = try FakeHost(osRelease: FakeHost.ubuntu2404)
        defer { host.remove() }
        let first = try host.plan()
        #expect(first.events.changeSummaries("config").contains("write /etc/molecule-tenant/secrets.env (mode 0600)"))
        // Only the generated keys exist already; the plan keeps their values.
        try host.write("/etc/molecule-tenant/secrets.env", "ADMIN_TOKEN=kept-admin-token-value\n")
        let second = try host.plan()
        let details = second.events.changeDetails("config")
        #expect(!details.contains("kept-admin-token-value"))
        #expect(!details.contains("-ADMIN_TOKEN"))
        #expect(details.contains("+REDIS_PASSWORD=<secret>"))
    }

    @Test func registrationIsPlannedWithOrgAndPlatform() throws {
        let host = try FakeHost(osRelease: FakeHost.debian12)
        defer { host.remove() }
        let plan = try host.plan(["--org-id", "org-1", "--platform-url", "http://127.0.0.1:9/", "--public-url", "https://tenant.example"])
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.events.changeSummaries("registration") == ["register https://tenant.example with http://127.0.0.1:9/ as org org-1"])
        #expect(plan.events.changeDetails("config").contains("+MOLECULE_ORG_ID=org-1"))
    }

    @Test func anUnsupportedReleaseIsRefusedNamingTheSupportedOnes() throws {
        let host = try FakeHost(osRelease: FakeHost.fedora)
        defer { host.remove() }
        let plan = try host.plan()
        #expect(plan.status == 1)
        #expect(plan.stderr == "molecule-tenant: Fedora Linux 40 (Server Edition) is not supported: use Debian 12, Debian 13, Ubuntu 22.04, Ubuntu 24.04\n")
    }

    @Test func memoryBelowTheFloorIsRefusedWithTheMeasuredValueUnlessForced() throws {
        let host = try FakeHost(osRelease: FakeHost.debian12, memoryKiB: 512 * 1024)
        defer { host.remove() }
        let refused = try host.plan()
        #expect(refused.status == 1)
        let error = refused.events.error(of: "preflight")
        #expect(error.contains("memory is 512 MiB, below the 1024 MiB floor"), "\(error)")
        #expect(error.contains("--force"))
        let forced = try host.plan(["--force"])
        #expect(forced.status == 2, "\(forced.stderr)")
        let notes = (forced.events.step("preflight")?["notes"] as? [String]) ?? []
        #expect(notes.contains { $0.hasPrefix("warning: memory is 512 MiB") })
    }

    @Test func aForeignPostgresIsRefusedUnlessAdoptedWithItsURL() throws {
        let status = """
            Package: postgresql-15
            Status: install ok installed

            """
        let host = try FakeHost(osRelease: FakeHost.debian12, dpkgStatus: status)
        defer { host.remove() }
        let refused = try host.plan()
        #expect(refused.status == 1)
        #expect(refused.events.error(of: "preflight").contains("PostgreSQL (postgresql-15) is already installed here: use it with --database-url URL"))
        let adopted = try host.plan(["--database-url", "postgres://molecule:pw-in-url@db.internal/molecule"])
        #expect(adopted.status == 2, "\(adopted.stderr)")
        #expect(!adopted.stdout.contains("pw-in-url"))
        #expect(adopted.events.changeSummaries("packages") == ["install libpq5, libarchive13, ca-certificates, curl, redis-server"])
        #expect(adopted.events.changeDetails("config").contains("+DATABASE_URL=<secret>"))
    }

    @Test func humanPlanListsNumberedStepsAndExitsTwo() throws {
        let host = try FakeHost(osRelease: FakeHost.debian12)
        defer { host.remove() }
        let outcome = try MoleculeTenantBinary.run(["install", "--plan", "--root", host.root])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.contains("1. inputs: Remember the install's inputs"))
        #expect(outcome.stdout.contains("+++ /etc/molecule-tenant/tenant.env"))
        #expect(outcome.stdout.contains("plan: "))
    }
}
