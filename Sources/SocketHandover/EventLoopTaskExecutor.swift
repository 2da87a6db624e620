import NIOCore
import NIOPosix

/// Runs a task's jobs on one NIO event loop: the loop that reads and writes the
/// connection the task serves. Without it, every request crossed threads twice (the loop
/// hands the request to Swift's global pool; the pool hands the response back), and on two
/// cores those wake-ups were a large part of a small request's cost.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per loop of NIO's shared group, made once and kept for the process's
    /// life: a task's preference does not keep its executor alive.
    static let shared: [ObjectIdentifier: EventLoopTaskExecutor] = {
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop)
        }
        return executors
    }()

    /// The executor of `loop`, when it belongs to NIO's shared group.
    static func of(_ loop: any EventLoop) -> EventLoopTaskExecutor? {
        shared[ObjectIdentifier(loop)]
    }
}
