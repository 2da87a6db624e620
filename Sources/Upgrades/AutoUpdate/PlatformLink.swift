import FoundationEssentials
import Releases

#if canImport(Glibc)
import Glibc
#endif

/// The two calls `upgrade --auto` makes to a platform (DESIGN section 8,
/// docs/platform-protocol.md): the config's `target_version`, and the status report.
/// https only (http for loopback, as the tests' stub platform), no redirects, 10 s, replies
/// capped at 64 KiB; through `curl`, like release downloads, so TLS is the system's. The
/// shared secret reaches curl in a 0600 header file, never in its argv.
public struct PlatformLink: Sendable {
    public let baseURL: String
    public let orgID: String
    let sharedSecret: String

    static let timeoutSeconds = 10
    static let replyLimit = 64 * 1024

    /// nil when this tenant has no platform (MOLECULE_PLATFORM_URL or MOLECULE_ORG_ID unset).
    public init?(settings: [String: String]) throws(PlatformLinkError) {
        guard let url = settings["MOLECULE_PLATFORM_URL"].flatMap({ $0.isEmpty ? nil : $0 }) ?? settings["MOLECULE_CP_URL"].flatMap({ $0.isEmpty ? nil : $0 }),
              let org = settings["MOLECULE_ORG_ID"], !org.isEmpty else { return nil }
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        try Self.validate(base)
        guard let secret = settings["MOLECULE_CP_SHARED_SECRET"], !secret.isEmpty else {
            throw PlatformLinkError("MOLECULE_CP_SHARED_SECRET is not set in secrets.env: this tenant is not registered with \(base) "
                + "(run `molecule-tenant install` with --org-id and --platform-url)")
        }
        baseURL = base
        orgID = org
        sharedSecret = secret
    }

    /// https anywhere; http only to loopback; never link-local, unspecified or multicast hosts.
    static func validate(_ url: String) throws(PlatformLinkError) {
        let secure = url.hasPrefix("https://")
        guard secure || url.hasPrefix("http://") else { throw PlatformLinkError("MOLECULE_PLATFORM_URL=\(url) is not an http(s) URL") }
        let authority = url.dropFirst(secure ? 8 : 7).prefix { $0 != "/" }
        guard !authority.isEmpty, !authority.contains("@") else { throw PlatformLinkError("MOLECULE_PLATFORM_URL=\(url) has no usable host") }
        var host = authority.hasPrefix("[") ? authority.dropFirst().prefix { $0 != "]" } : authority.prefix { $0 != ":" }
        host = Substring(host.lowercased())
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard secure || loopback else {
            throw PlatformLinkError("MOLECULE_PLATFORM_URL must use https (http only for loopback addresses): \(url)")
        }
        let firstOctet = host.split(separator: ".").first.flatMap { Int($0) }
        if host.hasPrefix("169.254.") || host == "0.0.0.0" || host == "::" || host.hasPrefix("fe80:") || host.hasPrefix("ff")
            || firstOctet.map({ (224...255).contains($0) }) == true {
            throw PlatformLinkError("MOLECULE_PLATFORM_URL=\(url) points at a link-local, unspecified or multicast address")
        }
    }

    struct ConfigReply: Decodable {
        let targetVersion: String?
        enum CodingKeys: String, CodingKey { case targetVersion = "target_version" }
    }

    /// The release the platform wants this tenant on; nil when it names none.
    public func targetVersion() throws(PlatformLinkError) -> String? {
        let reply = try call("GET", "/cp/tenants/config", body: nil)
        do {
            let version = try JSONDecoder().decode(ConfigReply.self, from: Data(reply)).targetVersion
            return version.flatMap { $0.isEmpty ? nil : $0 }
        } catch {
            throw PlatformLinkError("the platform's config reply is not the expected JSON object")
        }
    }

    public func report(_ status: TenantStatusReport) throws(PlatformLinkError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let body = try? encoder.encode(status) else { throw PlatformLinkError("cannot encode the status report") }
        _ = try call("POST", "/cp/tenants/status", body: Array(body))
    }

    /// One request; the reply body of a 2xx, else an error naming the status and the
    /// platform's `error` text.
    private func call(_ method: String, _ path: String, body: [UInt8]?) throws(PlatformLinkError) -> [UInt8] {
        var template = Array("/tmp/molecule-tenant-platform-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PlatformLinkError("cannot create a private temporary directory: \(String(cString: strerror(errno)))") }
        let directory = String(cString: made)
        defer {
            for name in ["headers", "body", "reply"] { _ = FileBytes.remove(directory + "/" + name) }
            rmdir(directory)
        }
        let url = baseURL + path
        var arguments = ["/usr/bin/env", "curl", "-sS", "--proto", "=https,http", "--max-redirs", "0",
                         "--max-time", "\(Self.timeoutSeconds)", "--max-filesize", "\(Self.replyLimit)",
                         "-H", "@" + directory + "/headers", "-o", directory + "/reply", "-w", "\\n%{http_code}", "-X", method]
        var headers = "Authorization: Bearer \(sharedSecret)\nX-Molecule-Org-Id: \(orgID)\nAccept: application/json\nUser-Agent: molecule-tenant\n"
        do {
            if let body {
                headers += "Content-Type: application/json\n"
                try FileBytes.write(body, to: directory + "/body", mode: 0o600)
                arguments += ["--data-binary", "@" + directory + "/body"]
            }
            try FileBytes.write(Array(headers.utf8), to: directory + "/headers", mode: 0o600)
        } catch {
            throw PlatformLinkError("cannot prepare the request to \(url): \(error)")
        }
        let outcome: ChildCommand.Outcome
        do {
            outcome = try ChildCommand.run(arguments + [url], timeout: .seconds(Self.timeoutSeconds + 5))
        } catch {
            throw PlatformLinkError("cannot run curl for \(url): \(error)")
        }
        let lines = outcome.output.split(separator: "\n")
        let status = lines.last.flatMap { Int($0) } ?? 0
        guard outcome.status == 0, status != 0 else {
            // curl exits 63 when the reply outgrows --max-filesize.
            let reason = outcome.status == 63 ? "the reply is larger than 64 KiB"
                : lines.first { $0.hasPrefix("curl:") }.map(String.init) ?? "no reply within \(Self.timeoutSeconds) s"
            throw PlatformLinkError("\(method) \(url) failed: \(reason)")
        }
        let reply: [UInt8]
        do {
            reply = FileBytes.exists(directory + "/reply") ? try FileBytes.read(directory + "/reply", limit: Self.replyLimit) : []
        } catch {
            throw PlatformLinkError("\(method) \(url): the reply is larger than 64 KiB")
        }
        guard (200...299).contains(status) else {
            throw PlatformLinkError("\(method) \(url) answered HTTP \(status)\(Self.errorText(reply))")
        }
        return reply
    }

    private struct ErrorBody: Decodable { let error: String? }

    static func errorText(_ reply: [UInt8]) -> String {
        guard let error = (try? JSONDecoder().decode(ErrorBody.self, from: Data(reply)))?.error else { return "" }
        return ": " + String(error.prefix(200))
    }
}

public struct PlatformLinkError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
