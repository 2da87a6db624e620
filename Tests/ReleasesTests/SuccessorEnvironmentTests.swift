import Testing
@testable import SocketHandover

/// What a handover successor starts with: the old process's environment with the reload
/// command's (the env files as they are now) laid over it.
@Suite struct SuccessorEnvironmentTests {
    @Test func theReloadCommandsValuesWinAndProcessPlumbingIsDropped() {
        let current = ["PATH=/usr/bin", "ADMIN_TOKEN=old", "MAINPID=41", "LISTEN_FDS=1", "NOTIFY_SOCKET=/run/systemd/notify"]
        let refreshed = ["ADMIN_TOKEN=new", "LAB_FEATURE_KEY=k=v", "MAINPID=41", "PWD=/", "SHLVL=1", "_=/usr/bin/env", "MOLECULE_LISTEN_FD=3"]
        #expect(Successor.successorEnvironment(current: current, refreshed: refreshed)
            == ["PATH=/usr/bin", "ADMIN_TOKEN=new", "NOTIFY_SOCKET=/run/systemd/notify", "LAB_FEATURE_KEY=k=v"])
    }

    @Test func withoutAReloadCommandTheOldEnvironmentCarriesOver() {
        let current = ["PATH=/usr/bin", "DATABASE_URL=postgres://x", "LISTEN_PID=7"]
        #expect(Successor.successorEnvironment(current: current, refreshed: []) == ["PATH=/usr/bin", "DATABASE_URL=postgres://x"])
    }
}
