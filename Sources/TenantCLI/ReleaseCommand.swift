import ArgumentParser
import Releases

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Make signed release bundles.",
        subcommands: [Bundle.self]
    )

    struct Bundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bundle",
            abstract: "Write molecule-tenant-<version>-linux-<arch>.tar.gz and its Ed25519 signature.",
            discussion: """
                Copies the binary, stamps --version into the copy (the build is not changed), checks \
                the copy runs and reports that version, and writes the tarball (the binary and \
                manifest.json) and the detached signature <tarball>.sig into --out.

                Make a signing key once, and give its public half to the hosts that will trust it:
                  openssl genpkey -algorithm ed25519 -out release.pem
                  openssl pkey -in release.pem -pubout > /etc/molecule-tenant/trusted-keys/release.pem

                Example:
                  molecule-tenant release bundle --binary .build/release/molecule-tenant --key release.pem --out dist --version 1.2.0
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The binary to bundle.", valueName: "FILE")) var binary: String
        @Option(help: ArgumentHelp("Ed25519 private key (PEM).", valueName: "FILE")) var key: String
        @Option(help: ArgumentHelp("Output directory (created if missing).", valueName: "DIR")) var out: String
        @Option(help: "Version to stamp into the bundled copy (default: the version the binary has).") var version: String?
        @Option(help: "Oldest installed version that may upgrade straight to this one.") var minUpgradeFrom: String?
        @Option(help: ArgumentHelp("An environment variable this release needs (repeat for more).", valueName: "NAME"))
        var requireConfig: [String] = []

        func validate() throws {
            for name in requireConfig where !EnvironmentName.isValid(name) {
                throw ValidationError("--require-config \(name) is not an environment variable name (letters, digits, '_')")
            }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "release")
            let result: ReleaseBundler.Result
            do {
                try FileBytes.makeDirectories(out)
                result = try ReleaseBundler.make(.init(
                    binaryPath: binary, keyPath: key, outDirectory: out, version: version,
                    minUpgradeFrom: minUpgradeFrom, requiredConfig: requireConfig))
            } catch let error as ReleaseError {
                throw CLIFailure(error.description)
            }
            if global.json {
                try context.emit(BundleReport(tarball: result.tarballPath, signature: result.tarballPath + ".sig",
                                              manifest: result.manifest, key: result.keyFingerprint))
            } else {
                context.say("wrote \(result.tarballPath) and .sig: version \(result.manifest.version), linux-\(result.architecture), "
                    + "sha256 \(result.manifest.sha256.prefix(16))..., signed by key \(result.keyFingerprint)")
            }
        }
    }
}

private struct BundleReport: Encodable {
    let tarball: String
    let signature: String
    let manifest: ReleaseManifest
    let key: String
}

/// Names `required_config` may hold: what a shell accepts as a variable name.
enum EnvironmentName {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }
}
