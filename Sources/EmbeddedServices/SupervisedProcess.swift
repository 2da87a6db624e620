import ServiceLifecycle

/// A server process as a `Service`: runs while the process runs; on graceful shutdown or
/// cancellation stops it with its own signal (PostgreSQL SIGINT = `pg_ctl stop -m fast`,
/// Redis SIGTERM) and returns once it has exited. An exit nobody asked for is an error,
/// so the group shuts down instead of serving without a database.
struct SupervisedProcess: Service, CustomStringConvertible {
    let process: ServerProcess
    let stopSignal: Int32
    let stopTimeout: Duration
    let escalation: Int32

    var description: String { process.name }

    func run() async throws {
        let status = await withTaskCancellationOrGracefulShutdownHandler {
            await process.waitForExit()
        } onCancelOrGracefulShutdown: {
            process.beginStop(signal: stopSignal, timeout: stopTimeout, escalation: escalation)
        }
        if !process.stopRequested {
            throw EmbeddedError.exitedUnexpectedly(name: process.name, status: status, log: process.logPath)
        }
    }

    /// Stops the process outside a group (startup failures, the final cleanup).
    func stop() async {
        await process.stop(signal: stopSignal, timeout: stopTimeout, escalation: escalation)
    }
}
