import Foundation
import Testing

/// docs/configuration.md is the self-hoster's list of settings: it must name every variable
/// the code reads, and nothing the code no longer reads.
@Suite("Configuration reference")
struct ConfigurationReferenceTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func docsListExactlyTheVariablesTheCodeReads() throws {
        let reads = try VariableReads.scan(Self.packageRoot.appendingPathComponent("Sources"))
        let reference = try String(contentsOf: Self.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let documented = DocumentedVariables.parse(reference)
        // Finding few names means the code reads variables in a shape the scanner misses.
        #expect(reads.count >= 40, "only \(reads.count) variables found in Sources: teach VariableReads the new read shape")
        for (name, file) in reads.sorted(by: { $0.key < $1.key }) where !documented.contains(name) {
            Issue.record("\(name) is read in \(file) but has no row in docs/configuration.md")
        }
        for name in documented.sorted() where reads[name] == nil {
            Issue.record("\(name) has a row in docs/configuration.md but no code in Sources reads it")
        }
    }

    @Test func scannerFindsEveryReadShapeAndSkipsLookalikes() throws {
        let source = """
            let port = try environment.int("SOME_PORT") ?? 8080
            let on = try environment.bool("SOME_FLAG") ?? false
            let wait = try context.environment.duration("SOME_WAIT")
            let url = try environment.require("SOME_URL")
            let name = resolved["SOME_NAME"], base["SOME_BASE"], installed?.values["SOME_VALUE"]
            if resolved.origin(of: "SOME_ORIGIN") == .environment {}
            let legacy = try Self.required("SOME_REQUIRED", environment, what: "x")
            let secret = ConfigStep.secret(context.files, "SOME_SECRET")
            let path = getenv("SOME_GETENV")
            let pid = HandoverEnvironment.read("SOME_HANDOVER")
            let os = fields["VERSION_ID"]
            flags["SOME_FLAG_WRITE"] = value
            try await send(["GET", key])
            HostCommand(["psql"], environment: ["PGOPTIONS": "-c x"])
            static let agentMessage = "AGENT_MESSAGE"
            """
        #expect(VariableReads.names(in: source, path: "Sources/TenantCLI/Example.swift") == [
            "SOME_PORT", "SOME_FLAG", "SOME_WAIT", "SOME_URL", "SOME_NAME", "SOME_BASE", "SOME_VALUE", "SOME_ORIGIN",
            "SOME_REQUIRED", "SOME_SECRET", "SOME_GETENV", "SOME_HANDOVER",
        ])
        #expect(VariableReads.names(in: #"public static let pidFile = "SOME_PID_FILE""#, path: "Sources/SocketHandover/HandoverEnvironment.swift") == ["SOME_PID_FILE"])
        #expect(VariableReads.names(in: #"["SOME_DEFAULT": "1"]; ["SOME_KEY"]"#, path: "Sources/TenantConfig/TenantDefaults.swift") == ["SOME_DEFAULT", "SOME_KEY"])
    }

    @Test func onlyTheFirstCellOfATableRowNamesVariables() {
        let markdown = """
            Prose mentions `NOT_A_ROW` and is ignored.

            | variable | default | what it does |
            |---|---|---|
            | `FIRST_VAR` | `OTHER_VAR` | text |
            | `SECOND_VAR`, `THIRD_VAR` | none | text |
            | integer | `600` | value types have no variable |
            """
        #expect(DocumentedVariables.parse(markdown) == ["FIRST_VAR", "SECOND_VAR", "THIRD_VAR"])
    }
}

/// Environment variable names the code reads, found by the shapes reads take in Sources.
enum VariableReads {
    private static let name = #""([A-Z][A-Z0-9_]*)""#

    /// Shapes that read a variable anywhere in Sources.
    private static var shapes: [Regex<AnyRegexOutput>] {
        let patterns: [String] = [
            // TenantEnvironment's typed reads.
            #"\.(?:int|bool|duration|require)\("# + name + #"\)"#,
            // Subscripts of a TenantEnvironment, or of the installed tenant.env/secrets.env values.
            #"(?:environment|resolved|base|values)\["# + name + #"\]"#,
            #"origin\(of: "# + name + #"\)"#,
            // backfill's "must be set explicitly" read.
            #"required\("# + name + ",",
            // One value of the installed secrets.env.
            #"ConfigStep\.secret\([^,()]+, "# + name + #"\)"#,
            // Process environment reads outside TenantEnvironment.
            #"getenv\("# + name + #"\)"#,
            #"HandoverEnvironment\.(?:read|take)\("# + name + #"\)"#,
        ]
        return patterns.map { try! Regex($0) }
    }

    /// Files whose string constants are themselves variable names.
    private static var fileShapes: [(suffix: String, shape: Regex<AnyRegexOutput>)] {
        [
            ("Sources/TenantConfig/TenantDefaults.swift", try! Regex(name)),
            ("Sources/SocketHandover/HandoverEnvironment.swift", try! Regex(#"static let \w+ = "# + name)),
        ]
    }

    /// Every name read in the Swift files under `sources`, with the first file that reads it.
    static func scan(_ sources: URL) throws -> [String: String] {
        guard let walker = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else { return [:] }
        var files: [URL] = []
        for case let url as URL in walker where url.pathExtension == "swift" { files.append(url) }
        var reads: [String: String] = [:]
        for url in files.sorted(by: { $0.path < $1.path }) {
            let path = url.path.range(of: "/Sources/").map { "Sources/" + url.path[$0.upperBound...] } ?? url.path
            for name in names(in: try String(contentsOf: url, encoding: .utf8), path: path) where reads[name] == nil {
                reads[name] = path
            }
        }
        return reads
    }

    /// The names read in one file's text, in order of first appearance.
    static func names(in file: String, path: String) -> [String] {
        // Every shape is on one line and quotes a capitalised name; matching only such lines
        // keeps the scan of the whole tree quick.
        let source = file.split(separator: "\n").filter(quotesCapitalisedText).joined(separator: "\n")
        var shapes = Self.shapes
        for (suffix, shape) in fileShapes where path.hasSuffix(suffix) { shapes.append(shape) }
        var found: [(offset: Int, name: String)] = []
        for shape in shapes {
            for match in source.matches(of: shape) {
                guard let captured = match.output[1].substring else { continue }
                found.append((source.distance(from: source.startIndex, to: match.range.lowerBound), String(captured)))
            }
        }
        var seen = Set<String>()
        return found.sorted { $0.offset < $1.offset }.map(\.name).filter { seen.insert($0).inserted }
    }

    private static func quotesCapitalisedText(_ line: Substring) -> Bool {
        var afterQuote = false
        for byte in line.utf8 {
            if afterQuote, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { return true }
            afterQuote = byte == UInt8(ascii: "\"")
        }
        return false
    }
}

/// The variables docs/configuration.md documents: the backticked names in the first cell of
/// its table rows.
enum DocumentedVariables {
    static func parse(_ markdown: String) -> Set<String> {
        var names = Set<String>()
        let backticked = try! Regex("`([A-Z][A-Z0-9_]*)`")
        for line in markdown.split(separator: "\n") where line.hasPrefix("|") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count > 2 else { continue }
            for match in cells[1].matches(of: backticked) {
                if let captured = match.output[1].substring { names.insert(String(captured)) }
            }
        }
        return names
    }
}
