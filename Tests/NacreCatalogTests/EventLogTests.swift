import Foundation
import Logging
import Testing
@testable import NacreCatalog

@Suite("The event log")
struct EventLogTests {
    @Test("Events come back newest first, filtered by level and kind, and can be pruned by age")
    func recentAndPrune() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let levels: [Logger.Level] = [.debug, .info, .warning, .error, .info]
            for (index, level) in levels.enumerated() {
                try await catalog.appendEvent(EventRecord(time: Fixture.t0.addingTimeInterval(Double(index) * 60), level: level,
                                                          kind: index % 2 == 0 ? "ingest.quarantined" : "archive.sealed",
                                                          message: "event \(index)", subject: "file-\(index)"))
            }
            #expect(try await catalog.recentEvents(limit: 2).map(\.message) == ["event 4", "event 3"])
            #expect(try await catalog.recentEvents(minimumLevel: .warning).map(\.message) == ["event 3", "event 2"])
            #expect(try await catalog.recentEvents(kind: "archive.sealed").map(\.message) == ["event 3", "event 1"])
            #expect(try await catalog.recentEvents(limit: 0).isEmpty)
            let recorded = try #require(try await catalog.recentEvents(limit: 1).first)
            #expect(recorded.level == .info && recorded.subject == "file-4" && recorded.time == Fixture.t0.addingTimeInterval(240))

            #expect(try await catalog.pruneEvents(before: Fixture.t0.addingTimeInterval(120)) == 2)
            #expect(try await catalog.recentEvents().map(\.message) == ["event 4", "event 3", "event 2"])
        }
    }
}
