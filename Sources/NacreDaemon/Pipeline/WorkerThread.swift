import CLinux
import Dispatch
import Foundation
import Synchronization

/// A serial queue that always runs its jobs on the same thread.
///
/// Why not a serial `DispatchQueue`: its jobs hop between pool threads, and the encoder's
/// OpenMP runtime keeps one team of threads (and oneDNN its scratch memory) per calling
/// thread, so every hop sets up a new team.
final class WorkerThread: Sendable {
    /// What the thread and the submitters share.
    private final class Jobs: Sendable {
        let state = Mutex<(queue: [@Sendable () -> Void], finished: Bool)>(([], false))
        let available = DispatchSemaphore(value: 0)
    }

    private let jobs = Jobs()

    /// - Parameter background: run under SCHED_IDLE, for work that should only use CPU time the
    ///   encoder leaves idle (threads it starts, OpenMP's, inherit the policy). Locks it shares
    ///   with the encoder (the buffer pool, malloc) can be held while it is preempted; a thread
    ///   that then waits sleeps, which idles its CPU, so the holder runs again at once.
    init(name: String, background: Bool = false) {
        let jobs = self.jobs
        let thread = Thread {
            // Failure only means normal priority.
            if background { _ = nacre_sched_idle() }
            while true {
                jobs.available.wait()
                let next: (@Sendable () -> Void)? = jobs.state.withLock { state in
                    state.queue.isEmpty ? nil : state.queue.removeFirst()
                }
                guard let next else { return }  // woken by `finish()` with nothing left
                next()
            }
        }
        thread.name = name
        thread.stackSize = 8 << 20  // as a process's main thread: codec code uses stack scratch
        thread.start()
    }

    /// Runs `job` after every job submitted before it.
    func async(_ job: @escaping @Sendable () -> Void) {
        let accepted = jobs.state.withLock { state in
            if !state.finished { state.queue.append(job) }
            return !state.finished
        }
        if accepted { jobs.available.signal() }
    }

    /// Runs `body` on the thread (after every job submitted before it) and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Queues `body` now (after every job submitted before it) and returns a handle to await its
    /// result later; unlike ``run(_:)``, the job's place in the queue is fixed before this returns.
    func submit<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Job<T> {
        let job = Job<T>()
        async { job.complete(Result { try body() }) }
        return job
    }

    /// A submitted job's result, awaitable (by any number of waiters, before or after it is done).
    final class Job<T: Sendable>: Sendable {
        private let state = Mutex<(result: Result<T, any Error>?, waiters: [CheckedContinuation<T, any Error>])>((nil, []))

        fileprivate func complete(_ result: Result<T, any Error>) {
            let waiters = state.withLock { state in
                state.result = result
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(with: result) }
        }

        /// The job's result, once it has run (jobs submitted before ``WorkerThread/finish()`` still run).
        var value: T {
            get async throws {
                try await withCheckedThrowingContinuation { continuation in
                    let done = state.withLock { state in
                        if state.result == nil { state.waiters.append(continuation) }
                        return state.result
                    }
                    if let done { continuation.resume(with: done) }
                }
            }
        }
    }

    /// Lets the thread end once the jobs already submitted have run; later jobs are dropped.
    func finish() {
        let first = jobs.state.withLock { state in
            defer { state.finished = true }
            return !state.finished
        }
        if first { jobs.available.signal() }
    }
}
