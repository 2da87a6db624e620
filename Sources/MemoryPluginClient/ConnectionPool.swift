import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One keep-alive HTTP/1.1 connection to the plugin.
final class PluginConnection: Sendable {
    let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    /// Sends one request and waits for its whole answer (or the deadline).
    func send(head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline) async throws -> PluginHTTPResponse {
        let response = channel.eventLoop.makePromise(of: PluginHTTPResponse.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        // A write on a channel that is already closed never reaches the handler; without
        // this the answer promise would never complete.
        written.futureResult.whenFailure { _ in response.fail(PluginTransportError.closed(beforeResponse: true)) }
        channel.writeAndFlush(PluginHTTPRequest(head: head, body: body, deadline: deadline, response: response), promise: written)
        return try await response.futureResult.get()
    }
}

/// A bounded set of keep-alive connections. Idle connections are reused newest first;
/// one the peer closed leaves the pool by itself, so the next call dials afresh. When all
/// are busy, callers wait in line until one is released or their deadline passes.
final class ConnectionPool: Sendable {
    /// What a caller gets: a connection to use, or the right to open one.
    enum Lease: Sendable {
        case reuse(PluginConnection)
        case dial
    }

    struct Statistics: Sendable, Equatable {
        /// Connections open or being opened.
        var open: Int
        var idle: Int
        var waiting: Int
        /// Connections opened since start.
        var dialled: Int
        /// Connection attempts since start, failed ones included.
        var dialAttempts: Int
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [PluginConnection] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var dialled = 0
        var dialAttempts = 0
        var all: [ObjectIdentifier: PluginConnection] = [:]
        var isShutDown = false
    }

    private let configuration: MemoryPluginClientConfiguration
    private let group: any EventLoopGroup
    private let state = Mutex(State())

    init(configuration: MemoryPluginClientConfiguration, group: any EventLoopGroup) {
        self.configuration = configuration
        self.group = group
    }

    var statistics: Statistics {
        state.withLock { Statistics(open: $0.open, idle: $0.idle.count, waiting: $0.waiters.count, dialled: $0.dialled, dialAttempts: $0.dialAttempts) }
    }

    /// Takes an idle connection, or the right to dial one, or waits for either.
    func acquire(deadline: NIODeadline) async throws -> Lease {
        if let lease = try state.withLock({ try Self.takeNow(&$0, max: configuration.maxConnections) }) { return lease }
        let id = state.withLock { s in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        let lease = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: Result<Lease, any Error>? = state.withLock { s in
                    do {
                        if let lease = try Self.takeNow(&s, max: configuration.maxConnections) { return .success(lease) }
                    } catch {
                        return .failure(error)
                    }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                group.any().scheduleTask(deadline: deadline) { [self] in
                    removeWaiter(id)?.resume(throwing: PluginTransportError.noConnectionInTime)
                }
            }
        } onCancel: {
            removeWaiter(id)?.resume(throwing: CancellationError())
        }
        // A slot freed just before this caller's own deadline (typically by a call that
        // timed out at the same moment) is passed on: a connection it would abandon at
        // once costs the plugin an accept and would count as a plugin failure.
        if case .dial = lease, deadline - .now() < Self.minimumDialBudget {
            releaseSlot()
            throw PluginTransportError.noConnectionInTime
        }
        return lease
    }

    /// Less time than this left after waiting in line is not worth a connection attempt.
    static let minimumDialBudget = TimeAmount.milliseconds(50)

    private static func takeNow(_ s: inout State, max: Int) throws -> Lease? {
        guard !s.isShutDown else { throw PluginTransportError.poolShutDown }
        // A caller on an event loop (the server serves each connection on its own) gets a
        // connection of that loop when one is idle: its writes and its answer then stay on
        // this thread instead of waking the other loop and being woken back.
        if let local = s.idle.lastIndex(where: { $0.channel.eventLoop.inEventLoop }) {
            s.idle.append(s.idle.remove(at: local))
        }
        while let connection = s.idle.popLast() {
            if connection.channel.isActive { return .reuse(connection) }
            s.all[ObjectIdentifier(connection)] = nil
            s.open -= 1
        }
        guard s.open < max else { return nil }
        s.open += 1
        return .dial
    }

    private func removeWaiter(_ id: UInt64) -> CheckedContinuation<Lease, any Error>? {
        state.withLock { s in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index).continuation
        }
    }

    /// Opens a connection for a `.dial` lease. On failure the slot is given back.
    func dial(deadline: NIODeadline) async throws -> PluginConnection {
        let remaining = deadline - .now()
        guard remaining > .zero else {
            releaseSlot()
            throw PluginTransportError.timedOut
        }
        let maxBody = configuration.maxResponseBytes
        state.withLock { $0.dialAttempts += 1 }
        let channel: any Channel
        do {
            // Dialled on the caller's event loop when it is on one (see `takeNow`).
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.currentEventLoop ?? group.next())
                .connectTimeout(remaining)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(PluginHTTPHandler(maxBodyBytes: maxBody))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch let error as ChannelError {
            releaseSlot()
            if case .connectTimeout = error { throw PluginTransportError.timedOut }
            throw PluginTransportError.connectFailed("\(error)")
        } catch {
            releaseSlot()
            throw PluginTransportError.connectFailed("\(error)")
        }
        let connection = PluginConnection(channel: channel)
        let shutDown = state.withLock { s in
            s.dialled += 1
            s.all[ObjectIdentifier(connection)] = connection
            return s.isShutDown
        }
        if shutDown {
            channel.close(promise: nil)
            releaseSlot(connection)
            throw PluginTransportError.poolShutDown
        }
        channel.closeFuture.whenComplete { [self] _ in closedByPeer(connection) }
        return connection
    }

    /// Gives a connection back after an exchange; `reusable` is false after any failure
    /// or when the answer said `Connection: close`.
    func release(_ connection: PluginConnection, reusable: Bool) {
        enum Next { case kept, handOver(Waiter), close }
        let next: Next = state.withLock { s in
            guard reusable, connection.channel.isActive, !s.isShutDown else { return .close }
            if !s.waiters.isEmpty { return .handOver(s.waiters.removeFirst()) }
            s.idle.append(connection)
            return .kept
        }
        switch next {
        case .kept: break
        case .handOver(let waiter): waiter.continuation.resume(returning: .reuse(connection))
        case .close:
            connection.channel.close(promise: nil)
            releaseSlot(connection)
        }
    }

    /// Frees a connection's slot (or a failed dial's): the next waiter may dial.
    private func releaseSlot(_ connection: PluginConnection? = nil) {
        let waiter: Waiter? = state.withLock { s in
            if let connection {
                guard s.all.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return nil }
                s.idle.removeAll { $0 === connection }
            }
            if !s.isShutDown, !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .dial)
    }

    /// An idle connection closed by the plugin (restart, idle timeout) leaves the pool now,
    /// not when the next call trips over it.
    private func closedByPeer(_ connection: PluginConnection) {
        let isIdle = state.withLock { s in s.idle.contains { $0 === connection } }
        if isIdle { releaseSlot(connection) }
    }

    /// Closes every connection and fails every waiter.
    func shutdown() async {
        let (connections, waiters) = state.withLock { s in
            s.isShutDown = true
            let result = (Array(s.all.values), s.waiters)
            s.waiters = []
            s.idle = []
            return result
        }
        for waiter in waiters { waiter.continuation.resume(throwing: PluginTransportError.poolShutDown) }
        for connection in connections {
            try? await connection.channel.close()
        }
    }
}
