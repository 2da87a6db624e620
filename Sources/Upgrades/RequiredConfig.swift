import Releases
import TenantConfig

/// The values the services will see: `tenant.env` then `secrets.env`, as their units load them.
public struct InstalledConfig: Sendable {
    public let values: [String: String]

    public static func load(_ layout: HostLayout) throws -> InstalledConfig {
        var values: [String: String] = [:]
        for path in layout.configFiles where FileBytes.exists(path) {
            let text = String(decoding: try FileBytes.read(path, limit: 1 << 20), as: UTF8.self)
            do {
                for (key, value) in try EnvFile.parse(text, path: path) { values[key] = value }
            } catch {
                throw ReleaseError.unreadable(path: path, reason: "\(error)")
            }
        }
        return InstalledConfig(values: values)
    }

    /// Names from `required` that are unset or empty here.
    public func missing(_ required: [String]) -> [String] {
        required.filter { (values[$0] ?? "").isEmpty }
    }

    /// Where the plugin and the server answer on loopback.
    public var pluginProbe: HealthProbe {
        let address = values["MEMORY_PLUGIN_LISTEN_ADDR"] ?? "127.0.0.1:9100"
        let colon = address.lastIndex(of: ":")
        let host = colon.map { String(address[..<$0]) } ?? "127.0.0.1"
        let port = colon.flatMap { Int(address[address.index(after: $0)...]) } ?? 9100
        return HealthProbe(host: loopback(host), port: port, path: "/v1/health")
    }

    /// The health probe of `service`.
    public func probe(_ service: TenantService) -> HealthProbe {
        service == .server ? serverProbe : pluginProbe
    }

    public var serverProbe: HealthProbe {
        HealthProbe(host: loopback(values["BIND_ADDR"] ?? "0.0.0.0"), port: Int(values["PORT"] ?? "") ?? 8080, path: "/health")
    }

    private func loopback(_ host: String) -> String {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        switch bare {
        case "", "0.0.0.0": return "127.0.0.1"
        case "::": return "::1"
        default: return bare
        }
    }
}
