import Foundation
import GRDB
import Testing
@testable import NacreCatalog

/// Images under 161 px a side have no MS-SSIM (NaN in the archive record): they index, read back
/// as NaN, and a catalog created before migration v2 keeps its rows when it gains the nullable column.
struct UnmeasuredMSSSIMTests {
    @Test func anImageWithoutMSSSIMIndexesAndReadsBackAsNaN() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.insertModel(Fixture.model(1))
            let small = Fixture.image("small.png", width: 64, height: 48, msSSIM: .nan)
            let large = Fixture.image("large.png", width: 640, height: 480, msSSIM: 0.91, frame: 1)
            _ = try await catalog.indexArchive(Fixture.archive("batch-1"), images: [small, large])
            let listed = try await catalog.images().images
            let readSmall = try #require(listed.first { $0.displayName == "small.png" })
            let readLarge = try #require(listed.first { $0.displayName == "large.png" })
            #expect(readSmall.msSSIM.isNaN)
            #expect(readLarge.msSSIM == 0.91)
        }
    }

    @Test func aVersionOneCatalogMigratesWithItsRows() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/catalog.sqlite"
            let queue = try DatabaseQueue(path: path)
            try CatalogSchema.migrator.migrate(queue, upTo: "v1")
            try await queue.write { db in
                var model = Fixture.model(1)
                try model.insert(db)
                var archive = Fixture.archive("old")
                try archive.insert(db)
                var image = Fixture.image("kept.png", archive: "old", msSSIM: 0.88)
                try image.insert(db)
            }
            try queue.close()
            let catalog = try Catalog(path: path)
            #expect(try await catalog.appliedMigrations() == ["v1", "v2"])
            let kept = try await catalog.images().images
            #expect(kept.map(\.displayName) == ["kept.png"] && kept.first?.msSSIM == 0.88)
            #expect(try await catalog.integrityProblems().isEmpty)
            // The column now takes NULL.
            _ = try await catalog.indexArchive(Fixture.archive("new"),
                                               images: [Fixture.image("tiny.png", width: 8, height: 8, msSSIM: .nan)])
            #expect(try await catalog.images().images.count == 2)
        }
    }
}
