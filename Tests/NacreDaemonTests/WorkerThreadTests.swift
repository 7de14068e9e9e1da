import CLinux
import Foundation
import Synchronization
import Testing
@testable import NacreDaemon

/// The codec worker's thread: jobs in submission order, all on one thread (the reason it
/// exists), the ones submitted before `finish()` still run, later ones are dropped; a
/// background thread runs under SCHED_IDLE, and only it.
struct WorkerThreadTests {
    static let schedIdle: Int32 = 5

    @Test func aBackgroundThreadRunsUnderTheIdlePolicy() async throws {
        let background = WorkerThread(name: "test.background", background: true)
        let normal = WorkerThread(name: "test.normal")
        defer { background.finish(); normal.finish() }
        let own = nacre_sched_policy()
        #expect(own != Self.schedIdle)
        #expect(try await background.run { nacre_sched_policy() } == Self.schedIdle)
        #expect(try await normal.run { nacre_sched_policy() } == own, "a thread that is not background keeps its creator's policy")
        #expect(nacre_sched_policy() == own, "the creating thread keeps its own")
    }

    @Test func runsJobsInOrderOnOneThread() async throws {
        let worker = WorkerThread(name: "test.worker")
        let seen = Mutex<(order: [Int], threads: Set<UInt64>)>(([], []))
        let done = DispatchSemaphore(value: 0)
        for index in 0..<200 {
            worker.async {
                let thread = UInt64(pthread_self())
                seen.withLock { $0.order.append(index); $0.threads.insert(thread) }
                if index == 199 { done.signal() }
            }
        }
        worker.finish()
        worker.async { seen.withLock { $0.order.append(-1) } }
        #expect(done.wait(timeout: .now() + 10) == .success)
        try await Task.sleep(for: .milliseconds(50))
        let result = seen.withLock { $0 }
        #expect(result.order == Array(0..<200), "dropped after finish, in order before")
        #expect(result.threads.count == 1)
    }
}
