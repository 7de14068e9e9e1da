import Foundation
import Testing
@testable import NacreCatalog

@Suite("Rebuilding the catalog from archives (nacre reindex)")
struct RebuildTests {
    static func summary(_ id: String, model: Int, names: [String]) -> ArchiveSummary {
        ArchiveSummary(archive: Fixture.archive(id, model: model, state: .indexed),
                       images: names.enumerated().map { Fixture.image($1, frame: Int64($0)) })
    }

    @Test("Rebuild replaces archives and images, keeps models, ingest rows and events, and registers unknown models")
    func replaces() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.insertModel(Fixture.model(1, role: .champion))
            try await catalog.indexArchive(Fixture.archive("old"), images: [Fixture.image("stale.png")])
            let ingest = try await catalog.claimIngest(Fixture.ingest("pending.png"))
            try await catalog.appendEvent(level: .info, kind: "test", message: "kept")

            let report = try await catalog.rebuild(from: [
                Self.summary("a1", model: 1, names: ["x.png", "y.png"]),
                Self.summary("a2", model: 5, names: ["x.png"]),
            ])
            #expect(report == RebuildReport(archiveCount: 2, imageCount: 3, modelsAdded: [Fixture.hex(5)]))
            #expect(try await catalog.archive(id: "old") == nil)
            #expect(try await catalog.archives().map(\.id).sorted() == ["a1", "a2"])
            #expect(try await catalog.images(named: "stale.png").isEmpty)
            #expect(try await catalog.images(named: "x.png").count == 2)
            #expect(try await catalog.model(id: Fixture.hex(1))?.role == .champion)
            #expect(try await catalog.model(id: Fixture.hex(5))?.role == .retired)
            #expect(try await catalog.ingestRow(id: ingest.id!) == ingest)
            #expect(try await catalog.recentEvents().map(\.message) == ["kept"])
            #expect(try await catalog.stats().imageCount == 3)
        }
    }

    @Test("A failing rebuild (duplicate archive id or image name) leaves the old catalog intact")
    func atomic() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.indexArchive(Fixture.archive("old"), images: [Fixture.image("keep.png")])
            let duplicateArchive = await catalogError {
                try await catalog.rebuild(from: [Self.summary("a1", model: 1, names: ["x.png"]),
                                                 Self.summary("a1", model: 1, names: ["y.png"])])
            }
            #expect(duplicateArchive?.code == .alreadyExists)
            let duplicateImage = await catalogError {
                try await catalog.rebuild(from: [Self.summary("a1", model: 9, names: ["x.png", "x.png"])])
            }
            #expect(duplicateImage?.code == .alreadyExists)
            #expect(try await catalog.archives().map(\.id) == ["old"])
            #expect(try await catalog.image(named: "keep.png").archiveID == "old")
            #expect(try await catalog.model(id: Fixture.hex(9)) == nil)
        }
    }

    @Test("Rebuilding from nothing empties the archive and image tables")
    func empty() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.indexArchive(Fixture.archive("old"), images: [Fixture.image("a.png")])
            #expect(try await catalog.rebuild(from: []) == RebuildReport(archiveCount: 0, imageCount: 0, modelsAdded: []))
            #expect(try await catalog.stats().imageCount == 0)
            #expect(try await catalog.archives().isEmpty)
        }
    }
}
