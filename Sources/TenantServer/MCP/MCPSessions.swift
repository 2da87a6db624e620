import NIOCore
import Synchronization
import TenantCrypto

/// Open SSE streams (MCP 2024-11-05 SSE transport) by session id. A POST that names its
/// session gets its answer on that stream. Sessions live in this process: behind a load
/// balancer the stream and its POSTs must reach the same replica (a POST whose session
/// is unknown here is answered in its own body instead).
final class MCPSessions: Sendable {
    private struct Session {
        let workspaceID: String
        let continuation: AsyncStream<ByteBuffer>.Continuation
    }

    private let sessions = Mutex([String: Session]())

    /// Registers a stream and returns its session id (random, unguessable).
    func open(workspaceID: String, continuation: AsyncStream<ByteBuffer>.Continuation) -> String {
        let id = Hex.encode(SecureRandom.bytes(16))
        sessions.withLock { $0[id] = Session(workspaceID: workspaceID, continuation: continuation) }
        return id
    }

    func close(_ id: String) {
        sessions.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Queues `event` on the session's stream; false when there is no such session for
    /// this workspace.
    func send(_ event: ByteBuffer, session id: String, workspaceID: String) -> Bool {
        guard let session = sessions.withLock({ $0[id] }), session.workspaceID == workspaceID else { return false }
        if case .enqueued = session.continuation.yield(event) { return true }
        return false
    }

    static func event(_ name: String, data: String) -> ByteBuffer {
        // SSE data lines cannot hold newlines; JSON from our encoder has none.
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }
}
