import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output shape of log lines: `text` for people at a terminal, `json` (one object per
/// line) for journald, containers and log shippers.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json

    /// DESIGN section 3: `text` on a TTY, else `json`, unless LOG_FORMAT says otherwise.
    public static func resolve(_ configured: String?) -> LogFormat? {
        guard let configured else { return isatty(STDERR_FILENO) == 1 ? .text : .json }
        return LogFormat(rawValue: configured.lowercased())
    }
}

/// A swift-log handler writing one line per record to stderr, every message and
/// metadata value passed through the `Redactor` first.
public struct TenantLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: LogFormat
    private let redactor: Redactor

    public init(label: String, level: Logger.Level, format: LogFormat, redactor: Redactor) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.redactor = redactor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = render(level: event.level, message: "\(event.message)", metadata: merged)
        LogOutput.emit(line)
    }

    func render(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let timestamp = LogOutput.timestamp()
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = "\(timestamp) \(level.rawValue.uppercased()) \(label): \(redactor.redact(message))"
            for key in keys { line += " \(key)=\(redactor.redact("\(metadata[key]!)"))" }
            return line + "\n"
        case .json:
            var line = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\",\"logger\":\(JSONText.quote(label)),\"msg\":\(JSONText.quote(redactor.redact(message)))"
            for key in keys where !["ts", "level", "logger", "msg"].contains(key) {
                line += ",\(JSONText.quote(key)):\(JSONText.quote(redactor.redact("\(metadata[key]!)")))"
            }
            return line + "}\n"
        }
    }
}

/// Process-wide logging setup; call once at the start of a command.
public enum TenantLogging {
    public static func bootstrap(level: Logger.Level, format: LogFormat, secrets: [String]) {
        let redactor = Redactor(secrets: secrets)
        LoggingSystem.bootstrap { label in
            TenantLogHandler(label: label, level: level, format: format, redactor: redactor)
        }
    }

    /// Parses LOG_LEVEL, accepting the reference's names (warn, error, debug).
    public static func level(_ text: String?) -> Logger.Level? {
        switch text?.lowercased() {
        case nil, "info": .info
        case "trace": .trace
        case "debug": .debug
        case "notice": .notice
        case "warn", "warning": .warning
        case "error": .error
        case "critical", "fatal": .critical
        default: nil
        }
    }
}

/// Unbuffered output to a file descriptor, one write(2) per line, so lines from
/// concurrent threads stay whole and NDJSON consumers never see half a line.
public enum LineOutput {
    public static func write(_ line: String, to descriptor: Int32) {
        var bytes = Array(line.utf8)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

enum LogOutput {
    static func emit(_ line: String) { LineOutput.write(line, to: STDERR_FILENO) }

    /// RFC 3339 UTC with milliseconds, formatted without Foundation.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}

/// Minimal JSON string quoting for log lines.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
