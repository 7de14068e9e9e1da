import Foundation
import Synchronization
import Testing
@testable import NacreDaemon

/// The decode workers bound how much CPU-heavy work runs at once, and how much waits.
@Suite("Decode workers")
struct DecodeWorkersTests {
    @Test func atMostCountJobsRunAndAFullQueueIsBusy() async throws {
        let workers = DecodeWorkers(count: 2, engineThreads: 1, maxQueued: 3, logger: testLogger)
        defer { workers.shutdown() }
        let running = RunningJobs()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        return try await workers.run { _ -> String in
                            running.started()
                            // Blocking is the point: a worker thread, not the task pool, waits here.
                            Thread.sleep(forTimeInterval: 0.3)
                            running.finished()
                            return "done"
                        }
                    } catch let error as ControlError {
                        return error.code.rawValue
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let most = running.most
        #expect(most == 2, "two workers ran jobs at once, never more")
        let busy = outcomes.filter { $0 == "busy" }.count
        let done = outcomes.filter { $0 == "done" }.count
        #expect(busy + done == 10, "\(outcomes)")
        // 2 running + 3 waiting fit; the rest are refused (how many of the first started before
        // the others were queued varies, hence the range).
        #expect((3...5).contains(done), "\(outcomes)")
    }

    @Test func sizesFollowThreads() {
        #expect(DecodeWorkers.sizes(threads: 1) == (1, 1))
        #expect(DecodeWorkers.sizes(threads: 2) == (1, 2))
        #expect(DecodeWorkers.sizes(threads: 8) == (4, 2))
        #expect(DecodeWorkers.sizes(threads: 0).workers >= 1)
    }
}

/// Counts jobs running at once, and the most seen.
private final class RunningJobs: Sendable {
    private let counts = Mutex((now: 0, most: 0))
    func started() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func finished() { counts.withLock { $0.now -= 1 } }
    var most: Int { counts.withLock { $0.most } }
}
