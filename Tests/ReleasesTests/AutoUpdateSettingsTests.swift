import Testing
import Upgrades

/// UPDATE_WINDOW, AUTO_UPDATE and the timer units, without a host (the platform settings:
/// AutoUpdateCommandTests).
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
        #expect(try AutoUpdateSettings(values: [:], platform: nil).enabled)
        #expect(try AutoUpdateSettings(values: ["AUTO_UPDATE": "1"], platform: nil).enabled)
        for off in ["0", "false", "off", "no"] { #expect(try !AutoUpdateSettings(values: ["AUTO_UPDATE": off], platform: nil).enabled) }
        #expect(throws: AutoUpdateSettingsError.self) { try AutoUpdateSettings(values: ["AUTO_UPDATE": "sometimes"], platform: nil) }
        #expect(throws: AutoUpdateSettingsError.self) { try AutoUpdateSettings(values: ["UPDATE_WINDOW": "nightly"], platform: nil) }
        #expect(try AutoUpdateSettings(values: [:], platform: nil).channel == "stable")
        #expect(try AutoUpdateSettings(values: ["MOLECULE_RELEASE_CHANNEL": "beta"], platform: nil).channel == "beta")
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
