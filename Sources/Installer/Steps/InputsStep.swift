/// Remembers the resolved inputs in /etc/molecule-tenant/install.json before anything
/// else changes, so a re-run (or an upgrade) knows what this host was asked to be and
/// that the PostgreSQL and Redis it finds were set up by us.
public struct InputsStep: InstallStep {
    public let name = "inputs"
    public let title = "Remember the install's inputs"

    public init() {}

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        let wanted = context.inputs.rendered()
        let current = context.files.read(InstallInputs.path)
        guard current != wanted else { return .done }
        return StepCheck(changes: [Change("write \(InstallInputs.path)", detail: TextDiff.render(path: InstallInputs.path, old: current, new: wanted))])
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        try context.files.makeDirectory("/etc/molecule-tenant", mode: 0o755)
        try context.write(InstallInputs.path, context.inputs.rendered(), mode: 0o644)
    }
}
