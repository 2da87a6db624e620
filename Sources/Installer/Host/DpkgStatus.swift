/// Installed packages, read from dpkg's status file (so a plan needs no root and tests
/// can hand it a fake one).
public struct DpkgStatus: Sendable {
    /// Package name to its dpkg state ("installed", "half-configured", "unpacked", ...).
    public let states: [String: String]

    public init(_ text: String) {
        var states: [String: String] = [:]
        for stanza in text.split(separator: "\n\n") {
            var package: String?
            var state: String?
            for line in stanza.split(separator: "\n") {
                if line.hasPrefix("Package: ") { package = String(line.dropFirst(9)) }
                // "Status: install ok installed": the last word is the state.
                if line.hasPrefix("Status: ") { state = line.split(separator: " ").last.map(String.init) }
            }
            if let package, let state { states[package] = state }
        }
        self.states = states
    }

    public static func read(_ files: HostFiles) -> DpkgStatus {
        DpkgStatus(files.read("/var/lib/dpkg/status") ?? "")
    }

    public func isInstalled(_ package: String) -> Bool { states[package] == "installed" }

    /// Packages a killed dpkg left between states; `dpkg --configure -a` finishes them.
    public var interrupted: [String] {
        states.filter { $0.value != "installed" && $0.value != "not-installed" && $0.value != "config-files" }.keys.sorted()
    }
}
