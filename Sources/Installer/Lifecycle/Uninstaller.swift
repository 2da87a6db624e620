/// `uninstall`: stops and removes the services and the binary, keeping data and config.
/// `--purge` also drops the database and role, removes the Redis drop-in, the user, the
/// files, and the packages this installer installed.
public struct Uninstaller: Sendable {
    public let context: InstallContext

    public init(context: InstallContext) {
        self.context = context
    }

    /// Each line says what was done.
    public func uninstall() throws(InstallError) -> [String] {
        var done: [String] = []
        let units = SystemdUnits.all
        context.systemctl(["disable", "--now"] + units)
        done.append("stopped and disabled \(units.joined(separator: ", "))")
        for unit in units {
            let path = "\(SystemdUnits.directory)/\(unit)"
            if context.files.exists(path) { context.files.remove(path); done.append("removed \(path)") }
        }
        context.systemctl("daemon-reload")
        context.systemctl(["reset-failed"] + units)
        if context.files.exists(BinaryStep.path) {
            context.files.remove(BinaryStep.path)
            done.append("removed \(BinaryStep.path)")
        }
        done.append("kept /etc/molecule-tenant, /var/lib/molecule-tenant and the database (uninstall --purge --yes removes them)")
        return done
    }

    public func purge() throws(InstallError) -> [String] {
        var done = try uninstall().dropLast()
        let inputs = InstallInputs.load(context.files) ?? InstallInputs()
        if !inputs.externalDatabase, HostCommand(["pg_isready", "-q"], timeoutSeconds: 10).run().succeeded {
            let sql = """
                DROP DATABASE IF EXISTS molecule WITH (FORCE);
                DROP ROLE IF EXISTS molecule;

                """
            try context.require("dropping database and role molecule", DatabaseStep.psql("postgres", sql))
            done.append("dropped database molecule and role molecule")
        } else if inputs.externalDatabase {
            done.append("left the external database alone")
        }
        if !inputs.externalRedis {
            let flavor = RedisStep.flavor(context.files)
            if let main = context.files.read(flavor.mainConfig) {
                let kept = main.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 != Substring(RedisStep.includeLine(flavor)) }
                let attributes = context.files.attributes(flavor.mainConfig)
                try context.files.write(flavor.mainConfig, kept.joined(separator: "\n"), mode: attributes?.mode ?? 0o640,
                                        uid: attributes?.uid ?? 0, gid: attributes?.gid ?? 0)
            }
            if context.files.exists(flavor.dropIn) {
                context.files.remove(flavor.dropIn)
                context.systemctl("restart", flavor.unit)
                done.append("removed \(flavor.dropIn) and its include line")
            }
        }
        let packages = (context.files.read(PackagesStep.recordPath) ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        for unit in SandboxCompatibilityStep.units where context.files.exists(SandboxCompatibilityStep.path(unit)) {
            context.files.remove(SandboxCompatibilityStep.path(unit))
            context.files.removeDirectory("/etc/systemd/system/\(unit).d")
        }
        if Accounts(context.files).uid(SystemUserStep.user) != nil {
            try context.require("removing user molecule", HostCommand(["userdel", SystemUserStep.user]))
            done.append("removed user molecule")
        }
        let paths = ["/etc/molecule-tenant", "/var/lib/molecule-tenant", "/var/log/molecule-tenant"].map(context.files.path)
        try context.require("removing the files", HostCommand(["rm", "-rf", "--one-file-system"] + paths))
        done.append("removed /etc/molecule-tenant, /var/lib/molecule-tenant, /var/log/molecule-tenant")
        if !packages.isEmpty {
            try context.require("removing \(packages.joined(separator: ", "))",
                                HostCommand(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + packages, timeoutSeconds: 600))
            done.append("purged the packages install added: \(packages.joined(separator: ", "))")
        }
        context.systemctl("daemon-reload")
        return Array(done)
    }
}

extension HostFiles {
    func removeDirectory(_ hostPath: String) {
        _ = HostCommand(["rmdir", path(hostPath)]).run()
    }
}
