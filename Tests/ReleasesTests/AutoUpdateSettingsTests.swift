import Testing
import Upgrades

/// UPDATE_WINDOW, AUTO_UPDATE, the platform URL rules and the timer units, without a host.
struct AutoUpdateSettingsTests {
    func minute(_ clock: String) -> Int {
        let parts = clock.split(separator: ":").map { Int($0)! }
        return parts[0] * 60 + parts[1]
    }

    @Test func aWindowIncludesItsStartAndExcludesItsEnd() throws {
        let window = try UpdateWindow(parsing: "02:00-05:00")
        #expect(window.contains(minuteOfDay: minute("02:00")))
        #expect(window.contains(minuteOfDay: minute("04:59")))
        #expect(!window.contains(minuteOfDay: minute("05:00")))
        #expect(!window.contains(minuteOfDay: minute("01:59")))
        #expect(!window.contains(minuteOfDay: minute("23:30")))
        #expect(window.description == "02:00-05:00")
    }

    @Test func aWindowMayWrapPastMidnightOrEndAtTwentyFour() throws {
        let night = try UpdateWindow(parsing: "22:00-04:00")
        #expect(night.contains(minuteOfDay: minute("23:00")))
        #expect(night.contains(minuteOfDay: minute("00:00")))
        #expect(night.contains(minuteOfDay: minute("03:59")))
        #expect(!night.contains(minuteOfDay: minute("04:00")))
        #expect(!night.contains(minuteOfDay: minute("21:59")))
        let evening = try UpdateWindow(parsing: "20:30-24:00")
        #expect(evening.contains(minuteOfDay: minute("23:59")))
        #expect(!evening.contains(minuteOfDay: minute("00:00")))
    }

    @Test(arguments: ["2-5", "02:00", "25:00-01:00", "02:00-02:00", "02:60-03:00", "2:00-5:00", "02:00-24:01", "24:00-02:00", ""])
    func malformedWindowsAreRefusedNamingTheVariable(_ text: String) {
        do {
            let window = try UpdateWindow(parsing: text)
            Issue.record("\(text) was accepted as \(window)")
        } catch {
            #expect(error.description.contains("UPDATE_WINDOW=\(text) is not valid"))
        }
    }

    @Test func autoUpdateIsOnByDefaultAndZeroTurnsItOff() throws {
        #expect(try AutoUpdateSettings(values: [:]).enabled)
        #expect(try AutoUpdateSettings(values: ["AUTO_UPDATE": "1"]).enabled)
        for off in ["0", "false", "off", "no"] { #expect(try !AutoUpdateSettings(values: ["AUTO_UPDATE": off]).enabled) }
        #expect(throws: AutoUpdateSettingsError.self) { try AutoUpdateSettings(values: ["AUTO_UPDATE": "sometimes"]) }
        #expect(throws: AutoUpdateSettingsError.self) { try AutoUpdateSettings(values: ["UPDATE_WINDOW": "nightly"]) }
        #expect(try AutoUpdateSettings(values: [:]).channel == "stable")
        #expect(try AutoUpdateSettings(values: ["MOLECULE_RELEASE_CHANNEL": "beta"]).channel == "beta")
    }

    @Test func thePlatformMustBeHTTPSExceptOnLoopbackAndNeedsTheSharedSecret() throws {
        let registered = ["MOLECULE_ORG_ID": "org-1", "MOLECULE_CP_SHARED_SECRET": "s3cret"]
        #expect(try AutoUpdateSettings(values: registered).platform == nil, "no platform URL: a standalone tenant")
        #expect(try AutoUpdateSettings(values: registered.merging(["MOLECULE_PLATFORM_URL": "https://cp.example.com/"]) { $1 }).platform?.baseURL
            == "https://cp.example.com")
        #expect(try AutoUpdateSettings(values: registered.merging(["MOLECULE_PLATFORM_URL": "http://127.0.0.1:9999"]) { $1 }).platform != nil)
        for refused in ["http://cp.example.com", "https://169.254.169.254", "https://[fe80::1]:443", "https://224.0.0.1", "ftp://cp.example.com"] {
            #expect(throws: AutoUpdateSettingsError.self, "\(refused)") {
                try AutoUpdateSettings(values: registered.merging(["MOLECULE_PLATFORM_URL": refused]) { $1 })
            }
        }
        let unregistered = ["MOLECULE_ORG_ID": "org-1", "MOLECULE_PLATFORM_URL": "https://cp.example.com"]
        #expect(throws: AutoUpdateSettingsError.self) { try AutoUpdateSettings(values: unregistered) }
    }

    @Test func theTimerRunsEveryFiveMinutesWithARandomDelayAndTheServiceRunsUpgradeAuto() {
        let files = AutoUpdateUnits.files()
        #expect(files.map(\.name) == ["molecule-tenant-update.timer", "molecule-tenant-update.service"])
        let timer = files[0].contents
        #expect(timer.contains("OnCalendar=*:0/5\n") && timer.contains("RandomizedDelaySec=") && timer.contains("WantedBy=timers.target"))
        #expect(timer.contains("Unit=molecule-tenant-update.service"))
        let service = files[1].contents
        #expect(service.contains("Type=oneshot\n"))
        #expect(service.contains("ExecStart=/usr/local/bin/molecule-tenant upgrade --auto\n"))
        #expect(service.contains("EnvironmentFile=-/etc/molecule-tenant/tenant.env\n") && service.contains("EnvironmentFile=-/etc/molecule-tenant/secrets.env\n"))
        #expect(!service.contains("\nProtectSystem="), "the service must be able to move /usr/local/bin/molecule-tenant")
        #expect(AutoUpdateUnits.files(binary: "/x/mt", configDirectory: "/x/etc")[1].contents.contains("ExecStart=/x/mt upgrade --auto"))
    }
}
