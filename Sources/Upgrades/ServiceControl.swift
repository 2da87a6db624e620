import Releases

#if canImport(Glibc)
import Glibc
#endif

/// The two long-running services an upgrade hands over, plugin first (the server depends on it).
public enum TenantService: String, Sendable, CaseIterable {
    case memoryPlugin = "memory-plugin"
    case server

    public var unit: String {
        switch self {
        case .memoryPlugin: "molecule-memory-plugin.service"
        case .server: "molecule-tenant.service"
        }
    }
}

/// Finds a service's main process and asks it to hand over to the release the symlink names.
public protocol ServiceControl: Sendable {
    func mainPID(_ service: TenantService) -> pid_t?
    func handOver(_ service: TenantService) throws
    /// What the running process last said about a handover; a new text starting with
    /// `handoverRefusedPrefix` means it refused its successor and serves on
    /// (SocketHandover's HandoverRefusal writes it).
    func handoverStatus(_ service: TenantService) -> String?
    /// Why `service` cannot be asked to hand over now; nil when it can.
    func handOverProblem(_ service: TenantService) -> String?
}

/// HandoverRefusal.prefix in SocketHandover (not linked here: it brings the whole HTTP stack).
let handoverRefusedPrefix = "handover refused"

/// systemd: `systemctl reload` runs the unit's `ExecReload=`, which sends SIGUSR2 to the main process.
public struct SystemdControl: ServiceControl {
    public init() {}

    public func mainPID(_ service: TenantService) -> pid_t? {
        guard let outcome = try? ChildCommand.run(["/usr/bin/env", "systemctl", "show", "--property=MainPID", "--value", service.unit]),
              outcome.status == 0, let pid = pid_t(outcome.output.trimmingWhitespace()), pid > 0 else { return nil }
        return pid
    }

    public func handoverStatus(_ service: TenantService) -> String? {
        guard let outcome = try? ChildCommand.run(["/usr/bin/env", "systemctl", "show", "--property=StatusText", "--value", service.unit]),
              outcome.status == 0 else { return nil }
        return outcome.output.trimmingWhitespace()
    }

    public func handOverProblem(_ service: TenantService) -> String? {
        guard let outcome = try? ChildCommand.run(["/usr/bin/env", "systemctl", "show", "--property=ActiveState,CanReload", service.unit]),
              outcome.status == 0 else { return "cannot ask systemd about \(service.unit)" }
        var properties: [Substring: Substring] = [:]
        for line in outcome.output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard properties["ActiveState"] == "active" else { return "\(service.unit) is not running (\(properties["ActiveState"] ?? "unknown"))" }
        guard properties["CanReload"] == "yes" else {
            return "\(service.unit) cannot hand over: it has no ExecReload= (a unit written before zero-downtime upgrades; "
                + "re-run `molecule-tenant install` to rewrite it, see docs/upgrading.md)"
        }
        return nil
    }

    public func handOver(_ service: TenantService) throws {
        let outcome = try ChildCommand.run(["/usr/bin/env", "systemctl", "reload", service.unit])
        guard outcome.status == 0 else {
            throw ReleaseError.badBundle("systemctl reload \(service.unit) failed: \(outcome.output.trimmingWhitespace())")
        }
    }
}

/// Without systemd (tests, `--init none` hosts): `run/molecule-tenant/<service>.pid`, written
/// by each process (`MOLECULE_PID_FILE`), and SIGUSR2.
public struct PIDFileControl: ServiceControl {
    let layout: HostLayout

    public init(layout: HostLayout) { self.layout = layout }

    public func mainPID(_ service: TenantService) -> pid_t? {
        guard let bytes = try? FileBytes.read(layout.run + "/\(service.rawValue).pid", limit: 64),
              let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingWhitespace()), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    public func handOver(_ service: TenantService) throws {
        guard let pid = mainPID(service) else {
            throw ReleaseError.unreadable(path: layout.run + "/\(service.rawValue).pid", reason: "the \(service.rawValue) is not running")
        }
        kill(pid, SIGUSR2)
    }

    public func handOverProblem(_ service: TenantService) -> String? {
        mainPID(service) == nil ? "the \(service.rawValue) is not running (no live process in \(layout.run)/\(service.rawValue).pid)" : nil
    }

    public func handoverStatus(_ service: TenantService) -> String? {
        guard let bytes = try? FileBytes.read(layout.run + "/\(service.rawValue).pid.handover", limit: 4096) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
