import Installer
import Testing

@Suite("Host commands")
struct HostCommandTests {
    @Test func outputStatusStdinAndEnvironmentPassThrough() {
        let outcome = HostCommand(["sh", "-c", "read line; echo \"got $line $EXTRA\"; echo oops >&2; exit 7"],
                                  environment: ["EXTRA": "x"], input: "hello\n").run()
        #expect(outcome.status == 7)
        #expect(outcome.output == "got hello x\noops\n")
    }

    @Test func programsResolveOnTheFixedPathAndMissingOnesAre127() {
        #expect(HostCommand(["true"]).run().succeeded)
        let missing = HostCommand(["molecule-no-such-program"]).run()
        #expect(missing.status == 127)
    }

    @Test func aCommandOverItsTimeIsStoppedWith124() {
        let outcome = HostCommand(["sh", "-c", "sleep 30 & wait"], timeoutSeconds: 1).run()
        #expect(outcome.status == 124)
        #expect(outcome.output.contains("stopped after 1 s"))
    }
}
