/// Enables and (re)starts the services: started when stopped, restarted when this run
/// changed their config, binary or units.
public struct StartStep: InstallStep {
    public let name = "start"
    public let title = "Start the services"

    public init() {}

    static let units = [SystemdUnits.plugin, SystemdUnits.server]
    /// Enabled and started with the services; it only ever starts `upgrade --auto`.
    static let timers = [SystemdUnits.updateTimer]

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        guard context.canQueryHost else { return StepCheck(changes: [Change("enable and start \(Self.units.joined(separator: ", "))")]) }
        var changes: [Change] = []
        for unit in Self.units {
            let enabled = HostCommand.run(HostCommand(["systemctl", "is-enabled", "--quiet", unit])).succeeded
            let active = HostCommand.run(HostCommand(["systemctl", "is-active", "--quiet", unit])).succeeded
            if !enabled { changes.append(Change("enable \(unit)")) }
            if !active {
                changes.append(Change("start \(unit)"))
            } else if context.servicesStale {
                changes.append(Change("restart \(unit) (its configuration or binary changed)"))
            }
        }
        for timer in Self.timers where !HostCommand.run(HostCommand(["systemctl", "is-enabled", "--quiet", timer])).succeeded {
            changes.append(Change("enable and start \(timer)"))
        }
        return StepCheck(changes: changes)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        try context.require("enabling the services", HostCommand(["systemctl", "enable"] + Self.units))
        // Plugin first: the server waits for its health at boot.
        for unit in Self.units {
            let verb = context.servicesStale ? "restart" : "start"
            try context.require("\(verb) \(unit)", HostCommand(["systemctl", verb, unit], timeoutSeconds: 180))
        }
        try context.require("enabling the automatic upgrade timer", HostCommand(["systemctl", "enable", "--now"] + Self.timers))
    }
}
