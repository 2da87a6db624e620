/// The `molecule` system account the services run as, and the directories they use.
public struct SystemUserStep: InstallStep {
    public let name = "system-user"
    public let title = "Create the molecule user and directories"

    public static let user = "molecule"
    static let directories: [(path: String, mode: UInt32, owner: String)] = [
        ("/etc/molecule-tenant", 0o750, "root"),
        ("/var/lib/molecule-tenant", 0o750, user),
        ("/var/log/molecule-tenant", 0o750, "root"),
    ]

    public init() {}

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        var changes: [Change] = []
        let accounts = Accounts(context.files)
        if accounts.uid(Self.user) == nil {
            changes.append(Change("create system user \(Self.user)", detail: "useradd --system --user-group --home-dir /var/lib/molecule-tenant --shell /usr/sbin/nologin \(Self.user)"))
        }
        let group = accounts.gid(Self.user)
        for (path, mode, owner) in Self.directories {
            let wantedUID = owner == "root" ? 0 : accounts.uid(owner)
            guard let current = context.files.attributes(path), context.files.isDirectory(path),
                  current.mode == mode, current.uid == wantedUID ?? UInt32.max, current.gid == group ?? UInt32.max else {
                changes.append(Change("directory \(path) (mode \(String(mode, radix: 8)), \(owner):\(Self.user))"))
                continue
            }
        }
        return StepCheck(changes: changes)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        if Accounts(context.files).uid(Self.user) == nil {
            try context.require("creating user \(Self.user)", HostCommand([
                "useradd", "--system", "--user-group", "--home-dir", "/var/lib/molecule-tenant", "--no-create-home",
                "--shell", "/usr/sbin/nologin", "--comment", "Molecule tenant", Self.user,
            ]))
        }
        let accounts = Accounts(context.files)
        guard let uid = accounts.uid(Self.user), let gid = accounts.gid(Self.user) else {
            throw .message("user \(Self.user) was not created (see the log)")
        }
        for (path, mode, owner) in Self.directories {
            try context.files.makeDirectory(path, mode: mode, uid: owner == "root" ? 0 : uid, gid: gid)
        }
    }
}

/// Users and groups from /etc/passwd and /etc/group.
public struct Accounts: Sendable {
    let users: [String: UInt32]
    let groups: [String: UInt32]

    public init(_ files: HostFiles) {
        users = Self.table(files.read("/etc/passwd") ?? "")
        groups = Self.table(files.read("/etc/group") ?? "")
    }

    static func table(_ text: String) -> [String: UInt32] {
        var table: [String: UInt32] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 2, let id = UInt32(fields[2]) { table[String(fields[0])] = id }
        }
        return table
    }

    public func uid(_ name: String) -> UInt32? { users[name] }
    public func gid(_ name: String) -> UInt32? { groups[name] }
}
