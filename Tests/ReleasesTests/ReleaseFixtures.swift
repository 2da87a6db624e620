import Foundation
import Releases
import TenantCrypto
import Testing
import TestSupport

/// A scratch directory and Ed25519 keys made with the openssl tool, as a release job would.
struct ReleaseScratch {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "releases-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `<name>.pem` (private) and `<name>.pub.pem` (public); returns both paths.
    func makeKey(_ name: String) throws -> (privatePath: String, publicPath: String) {
        let privatePath = "\(directory)/\(name).pem"
        let publicPath = "\(directory)/\(name).pub.pem"
        let generated = try ChildProcess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", privatePath])
        guard generated.status == 0 else { throw TestSupportError("openssl genpkey: \(generated.stderr)") }
        let exported = try ChildProcess.run(["openssl", "pkey", "-in", privatePath, "-pubout", "-out", publicPath])
        guard exported.status == 0 else { throw TestSupportError("openssl pkey: \(exported.stderr)") }
        return (privatePath, publicPath)
    }

    func privateKey(_ path: String) throws -> Ed25519.PrivateKey {
        try #require(Ed25519.PrivateKey(pem: String(contentsOfFile: path, encoding: .utf8)))
    }

    func publicKey(_ path: String) throws -> Ed25519.PublicKey {
        try #require(Ed25519.PublicKey(pem: String(contentsOfFile: path, encoding: .utf8)))
    }
}

/// Bytes shaped like a built binary's marker slot: 96 bytes, prefix, version, NULs.
func fakeBinary(version: String = "0.1.0-dev", markers: Int = 1) -> [UInt8] {
    let prefix = Array("@@MOLECULE_TENANT_VERSION@@".utf8)
    var slot = prefix + Array(version.utf8)
    slot += [UInt8](repeating: 0, count: 96 - slot.count)
    var bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46] + [UInt8](repeating: 0xAA, count: 500)
    for _ in 0..<markers { bytes += slot + [UInt8](repeating: 0x55, count: 300) }
    return bytes
}

func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
