/// Runs the install's steps in order: `plan` checks every step and reports what would
/// change; `install` checks and applies each step, then gates on health. A failed gate
/// puts back the files this run changed and the services as they were.
public struct Installer: Sendable {
    public enum Event: Sendable {
        case stepStarted(name: String, title: String)
        case stepFinished(StepResult)
        case health(HealthGate.Result, seconds: Double)
    }

    public struct StepResult: Sendable, Encodable {
        public let step: String
        public let title: String
        /// "ok" (nothing to do), "changed", "planned", "failed"
        public let status: String
        public let changes: [Change]
        public let notes: [String]
        public let seconds: Double
        public let error: String?
    }

    public struct Report: Sendable {
        public var steps: [StepResult] = []
        public var changeCount: Int { steps.reduce(0) { $0 + $1.changes.count } }
        public var healthy: Bool?
        public var rolledBack = false
        public var failure: String?
    }

    public let context: InstallContext
    public let steps: [any InstallStep]

    public init(context: InstallContext, steps: [any InstallStep]) {
        self.context = context
        self.steps = steps
    }

    /// The standard order (DESIGN section 7). Registration sits before start, so the
    /// services boot with the platform's shared secret already in place.
    public static func standardSteps(force: Bool, planOnly: Bool) -> [any InstallStep] {
        [
            PreflightStep(force: force, planOnly: planOnly),
            InputsStep(),
            SandboxCompatibilityStep(),
            PackagesStep(),
            SystemUserStep(),
            ConfigStep(),
            DatabaseStep(),
            RedisStep(),
            BinaryStep(),
            UnitsStep(),
            MigrationsStep(),
            RegistrationStep(),
            StartStep(),
        ]
    }

    /// Checks every step without changing anything.
    public func plan(_ events: (Event) -> Void) async -> Report {
        var report = Report()
        for step in steps {
            events(.stepStarted(name: step.name, title: step.title))
            let started = MonotonicClock.seconds()
            do {
                let check = try await step.check(context)
                let result = StepResult(step: step.name, title: step.title, status: check.changes.isEmpty ? "ok" : "planned",
                                        changes: check.changes, notes: check.notes, seconds: MonotonicClock.seconds() - started, error: nil)
                report.steps.append(result)
                events(.stepFinished(result))
            } catch {
                let result = StepResult(step: step.name, title: step.title, status: "failed", changes: [], notes: [],
                                        seconds: MonotonicClock.seconds() - started, error: error.description)
                report.steps.append(result)
                report.failure = error.description
                events(.stepFinished(result))
                return report
            }
        }
        return report
    }

    /// Applies every step that has changes, then the health gate.
    public func install(healthWait: Double, _ events: (Event) -> Void) async -> Report {
        var report = Report()
        let wasActive = context.canQueryHost && HostCommand([
            "systemctl", "is-active", "--quiet", SystemdUnits.plugin, SystemdUnits.server,
        ]).run().succeeded
        ConfigStep.registerSecrets(context.files, log: context.log)
        for step in steps {
            events(.stepStarted(name: step.name, title: step.title))
            let started = MonotonicClock.seconds()
            context.log.line("step \(step.name): \(step.title)")
            do {
                let check = try await step.check(context)
                if !check.changes.isEmpty {
                    for change in check.changes { context.log.line("  change: \(change.summary)") }
                    try await step.apply(context, check)
                }
                for note in check.notes { context.log.line("  note: \(note)") }
                let result = StepResult(step: step.name, title: step.title, status: check.changes.isEmpty ? "ok" : "changed",
                                        changes: check.changes, notes: check.notes, seconds: MonotonicClock.seconds() - started, error: nil)
                report.steps.append(result)
                events(.stepFinished(result))
            } catch {
                let message = context.log.redact(error.description)
                context.log.line("step \(step.name) failed: \(message)")
                let result = StepResult(step: step.name, title: step.title, status: "failed", changes: [], notes: [],
                                        seconds: MonotonicClock.seconds() - started, error: message)
                report.steps.append(result)
                report.failure = "\(step.name): \(message)"
                events(.stepFinished(result))
                if step is StartStep {
                    // With Type=notify units, a service that cannot serve fails its start
                    // job; that is the health gate failing early, and it rolls back the same way.
                    report.failure = "the health gate failed: the services did not start: \(message)"
                    restore(wasActive: wasActive)
                    report.rolledBack = true
                }
                return report
            }
        }
        let started = MonotonicClock.seconds()
        let health = await HealthGate.wait(port: context.inputs.port, seconds: healthWait)
        context.log.line("health: plugin \(health.plugin), server \(health.server)")
        events(.health(health, seconds: MonotonicClock.seconds() - started))
        report.healthy = health.healthy
        if !health.healthy {
            report.failure = "the health gate failed: plugin \(health.plugin), server \(health.server)"
            restore(wasActive: wasActive)
            report.rolledBack = true
        }
        return report
    }

    /// A re-install puts back the files this run changed and the services run the old
    /// ones again. A first install has nothing to go back to: its services are stopped and
    /// its files kept for inspection; the report names the log.
    func restore(wasActive: Bool) {
        guard wasActive else {
            context.log.line("first install: stopping the services; files are kept for inspection")
            context.systemctl("stop", SystemdUnits.server, SystemdUnits.plugin)
            return
        }
        context.log.line("restoring \(context.journal.paths.count) file(s) changed by this run: \(context.journal.paths.joined(separator: ", "))")
        context.journal.restore(context.files)
        context.systemctl("daemon-reload")
        context.systemctl("restart", SystemdUnits.plugin)
        context.systemctl("restart", SystemdUnits.server)
    }
}
