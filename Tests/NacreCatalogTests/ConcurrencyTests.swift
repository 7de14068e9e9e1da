import Foundation
import Testing
@testable import NacreCatalog

@Suite("Concurrent readers and a writer")
struct ConcurrencyTests {
    /// Set by the writer when it is done.
    actor WriterState {
        private(set) var finished = false
        func finish() { finished = true }
    }

    @Test("Readers always see whole archives while a writer indexes, and read between its commits")
    func snapshotsAreConsistent() async throws {
        try await withTemporaryCatalog(options: .init(synchronous: .normal)) { catalog, _ in
            let archives = 40, perArchive = 5
            let state = WriterState()
            let writer = Task {
                defer { Task { await state.finish() } }
                for index in 0..<archives {
                    let images = (0..<perArchive).map { Fixture.image("img-\(index)-\($0).png", frame: Int64($0)) }
                    try await catalog.indexArchive(Fixture.archive("a\(index)"), images: images)
                }
            }
            // Readers run until the writer is done; each snapshot must hold whole archives only.
            let observed = try await withThrowingTaskGroup(of: Set<Int>.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var counts: Set<Int> = []
                        var lastCount = 0
                        while await !state.finished {
                            let stats = try await catalog.stats()
                            #expect(stats.imageCount == stats.archiveCount * perArchive,
                                    "torn read: \(stats.imageCount) images in \(stats.archiveCount) archives")
                            #expect(stats.imageCount >= lastCount, "a later snapshot lost images")
                            lastCount = stats.imageCount
                            counts.insert(stats.archiveCount)
                            let page = try await catalog.images(limit: 10)
                            #expect(page.images.count >= min(10, stats.imageCount), "a later snapshot showed fewer images")
                        }
                        return counts
                    }
                }
                var all: Set<Int> = []
                for try await counts in group { all.formUnion(counts) }
                return all
            }
            try await writer.value
            #expect(try await catalog.stats().imageCount == archives * perArchive)
            let intermediate = observed.filter { $0 > 0 && $0 < archives }
            #expect(!intermediate.isEmpty, "readers saw only \(observed.sorted()): they never read between two commits")
        }
    }
}
