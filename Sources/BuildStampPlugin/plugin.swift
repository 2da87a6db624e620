import Foundation
import PackagePlugin

/// Writes `BuildStamp.swift` (git commit and build date) before every build.
///
/// A prebuild command runs on each build, so the commit is never stale; the file
/// is rewritten only when the commit changes, which keeps no-op builds incremental.
@main
struct BuildStampPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "stamp")
        let script = #"""
            set -eu
            out="$1"; repo="$2"
            mkdir -p "$out"
            commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            file="$out/BuildStamp.swift"
            if [ -f "$file" ] && grep -q "commit = \"$commit\"" "$file"; then exit 0; fi
            date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
            printf 'enum BuildStamp {\n    static let commit = "%s"\n    static let date = "%s"\n}\n' "$commit" "$date" > "$file"
            """#
        return [
            .prebuildCommand(
                displayName: "Stamping git commit and build date",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "stamp", output.path, context.package.directoryURL.path],
                outputFilesDirectory: output
            )
        ]
    }
}
