import Foundation
import TestSupport

/// A directory that looks like a fresh host to the installer: an os-release, a dpkg
/// status, passwd and group, a running systemd, and memory as /proc/meminfo reports it.
/// The installer reads it through its hidden --root flag, so a plan needs no root and no
/// network and never looks at the machine running the tests.
struct FakeHost {
    let root: String

    static let debian12 = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION_CODENAME=bookworm
        ID=debian
        """

    static let ubuntu2404 = """
        PRETTY_NAME="Ubuntu 24.04.1 LTS"
        NAME="Ubuntu"
        VERSION_ID="24.04"
        VERSION_CODENAME=noble
        ID=ubuntu
        ID_LIKE=debian
        UBUNTU_CODENAME=noble
        """

    static let fedora = """
        NAME="Fedora Linux"
        VERSION_ID=40
        ID=fedora
        PRETTY_NAME="Fedora Linux 40 (Server Edition)"
        """

    init(osRelease: String, memoryKiB: Int = 4_000_000, dpkgStatus: String = "") throws {
        root = NSTemporaryDirectory() + "mt-fakehost-\(UUID().uuidString.prefix(8))"
        let files: [String: String] = [
            "etc/os-release": osRelease + "\n",
            "var/lib/dpkg/status": dpkgStatus,
            "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
            "etc/group": "root:x:0:\n",
            "proc/meminfo": "MemTotal:       \(memoryKiB) kB\nMemFree:        1000 kB\n",
        ]
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/run/systemd/system", withIntermediateDirectories: true)
        for (path, text) in files {
            let full = root + "/" + path
            try manager.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
    }

    func write(_ path: String, _ text: String) throws {
        let full = root + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// `install --plan --root <this> --json` plus `arguments`; the NDJSON events parsed.
    func plan(_ arguments: [String] = []) throws -> (status: Int32, events: [[String: Any]], stderr: String, stdout: String) {
        let outcome = try MoleculeTenantBinary.run(["install", "--plan", "--root", root, "--json"] + arguments,
                                                   removing: ["MOLECULE_ORG_ID", "MOLECULE_PLATFORM_URL", "PORT", "BIND_ADDR", "TENANT_PUBLIC_URL"])
        let events = outcome.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        return (outcome.status, events, outcome.stderr, outcome.stdout)
    }
}

extension Array where Element == [String: Any] {
    func step(_ name: String) -> [String: Any]? { first { $0["step"] as? String == name } }

    func error(of step: String) -> String { (self.step(step)?["error"] as? String) ?? "" }

    func changeSummaries(_ step: String) -> [String] {
        ((self.step(step)?["changes"] as? [[String: Any]]) ?? []).compactMap { $0["summary"] as? String }
    }

    func changeDetails(_ step: String) -> String {
        ((self.step(step)?["changes"] as? [[String: Any]]) ?? []).compactMap { $0["detail"] as? String }.joined(separator: "\n")
    }
}
