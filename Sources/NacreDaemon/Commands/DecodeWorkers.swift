import Dispatch
import Foundation
import Logging
import NacreCodec
import NacreEngine
import Synchronization

/// Dedicated threads for the CPU-heavy collection work (decoding for `restore`, re-reading for
/// `verify`), so it never occupies Swift's cooperative pool, and a bound on how much of it runs
/// at once: at most `count` jobs run, the rest wait in a queue of at most `maxQueued` (more are
/// refused with `busy`). Memory is bounded the same way: each thread owns one ``Engine`` and a
/// small LRU cache of decoders (``DecoderCache``), and decodes one image at a time.
final class DecodeWorkers: Sendable {
    /// What a job gets on its worker thread: that thread's engine and decoder cache (never shared).
    final class Context {
        let decoders: DecoderCache

        init(engineThreads: Int, cachedModels: Int, logger: Logger) {
            decoders = DecoderCache(engineThreads: engineThreads, capacity: cachedModels, logger: logger)
        }
    }

    /// Jobs waiting for a thread; shared by the threads (which must not keep the owner alive).
    private final class JobQueue: Sendable {
        typealias Job = @Sendable (Context) -> Void
        private let state = Mutex<(jobs: [Job], head: Int, closed: Bool)>(([], 0, false))
        private let signal = DispatchSemaphore(value: 0)
        let maxQueued: Int

        init(maxQueued: Int) { self.maxQueued = maxQueued }

        /// False when the queue is full or closed.
        func enqueue(_ job: @escaping Job) -> Bool {
            let accepted = state.withLock { state in
                guard !state.closed, state.jobs.count - state.head < maxQueued else { return false }
                state.jobs.append(job)
                return true
            }
            if accepted { signal.signal() }
            return accepted
        }

        /// The next job; nil once the queue is closed and empty (the thread then exits).
        func next() -> Job? {
            while true {
                signal.wait()
                let job: Job?? = state.withLock { state in
                    if state.head < state.jobs.count {
                        let job = state.jobs[state.head]
                        state.head += 1
                        if state.head > 64, state.head * 2 > state.jobs.count {
                            state.jobs.removeFirst(state.head)
                            state.head = 0
                        }
                        return .some(job)
                    }
                    return state.closed ? .some(nil) : nil
                }
                if let job { return job }
            }
        }

        var waiting: Int { state.withLock { $0.jobs.count - $0.head } }

        /// Lets queued jobs finish, then ends every thread.
        func close(threads: Int) {
            state.withLock { $0.closed = true }
            for _ in 0..<threads { signal.signal() }
        }
    }

    /// Jobs that run at once (one per thread).
    let count: Int
    /// OpenMP threads of each worker's engine.
    let engineThreads: Int
    private let queue: JobQueue

    /// Starts `count` threads named `nacre-decode-N`.
    init(count: Int, engineThreads: Int, cachedModels: Int = 2, maxQueued: Int = 256, logger: Logger) {
        self.count = max(1, count)
        self.engineThreads = max(1, engineThreads)
        self.queue = JobQueue(maxQueued: maxQueued)
        for index in 0..<self.count {
            let queue = self.queue
            let threads = self.engineThreads
            let thread = Thread {
                let context = Context(engineThreads: threads, cachedModels: max(1, cachedModels), logger: logger)
                while let job = queue.next() { job(context) }
            }
            thread.name = "nacre-decode-\(index)"
            thread.start()
        }
    }

    deinit { queue.close(threads: count) }

    /// Sizes for a daemon with `threads` compute threads (0: one per core): half as many workers
    /// as threads (at least one), each engine using its share, so one restore still uses two
    /// cores and concurrent restores cannot multiply memory beyond `workers` decodes.
    static func sizes(threads: Int) -> (workers: Int, engineThreads: Int) {
        let total = threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
        let workers = max(1, (total + 1) / 2)
        return (workers, max(1, total / workers))
    }

    /// Jobs waiting for a thread right now.
    var waiting: Int { queue.waiting }

    /// Runs `work` on a worker thread and returns its result. Throws ``ControlError`` `busy` when
    /// the queue is full, or whatever `work` throws.
    func run<T: Sendable>(_ work: @escaping @Sendable (Context) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = queue.enqueue { context in
                continuation.resume(with: Result { try work(context) })
            }
            if !accepted {
                continuation.resume(throwing: ControlError(.busy, "\(queue.maxQueued) decode jobs are already waiting; retry in a few seconds"))
            }
        }
    }

    /// Stops the threads once the queued jobs are done.
    func shutdown() { queue.close(threads: count) }
}
