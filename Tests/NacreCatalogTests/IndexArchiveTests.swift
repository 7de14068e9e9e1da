import Foundation
import Testing
@testable import NacreCatalog

@Suite("indexArchive: one archive and its images in one transaction")
struct IndexArchiveTests {
    /// Claims `names`, walks them to `verified` in batch `batchID`, and returns the rows.
    static func verifiedBatch(_ catalog: Catalog, _ batchID: String, _ names: [String]) async throws -> [IngestRecord] {
        var rows: [IngestRecord] = []
        for name in names {
            let row = try await catalog.claimIngest(Fixture.ingest(name))
            let id = try #require(row.id)
            try await catalog.transitionIngest(id: id, to: .encoded)
            try await catalog.transitionIngest(id: id, to: .appended, batchID: batchID)
            rows.append(row)
        }
        try await catalog.transitionIngestBatch(batchID, from: .appended, to: .sealed)
        return try await catalog.transitionIngestBatch(batchID, from: .sealed, to: .verified)
    }

    @Test("Indexing writes the archive as indexed, every image, and moves the batch's ingest rows to indexed")
    func indexesEverything() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let rows = try await Self.verifiedBatch(catalog, "b1", ["a.png", "b.png"])
            #expect(rows.count == 2)
            let images = [Fixture.image("a.png"), Fixture.image("b.png", frame: 1)]
            let inserted = try await catalog.indexArchive(Fixture.archive("b1"), images: images)
            #expect(inserted.count == 2)
            #expect(inserted.allSatisfy { $0.id != nil && $0.archiveID == "b1" })
            #expect(try await catalog.archive(id: "b1")?.state == .indexed)
            #expect(try await catalog.images(ImageFilter(archiveID: "b1")).images.count == 2)
            let states = try await catalog.ingestRows(batch: "b1").map(\.state)
            #expect(states == [.indexed, .indexed])
            // The unknown model was registered from the archive.
            #expect(try await catalog.model(id: Fixture.hex(1))?.role == .retired)
        }
    }

    @Test("A duplicate image name aborts the whole archive: no archive row, no image, ingest rows untouched")
    func duplicateNameIsAtomic() async throws {
        try await withTemporaryCatalog { catalog, _ in
            _ = try await Self.verifiedBatch(catalog, "b1", ["a.png", "b.png"])
            let images = [Fixture.image("a.png"), Fixture.image("b.png", frame: 1), Fixture.image("a.png", frame: 2)]
            let error = await catalogError { try await catalog.indexArchive(Fixture.archive("b1"), images: images) }
            #expect(error?.code == .alreadyExists)
            #expect(error?.message.contains("a.png") == true)
            #expect(try await catalog.archive(id: "b1") == nil)
            #expect(try await catalog.stats().imageCount == 0)
            #expect(try await catalog.models().isEmpty, "the model registration must roll back too")
            #expect(try await catalog.ingestRows(batch: "b1").map(\.state) == [.verified, .verified])
            // The same archive indexes fine once the input is right.
            try await catalog.indexArchive(Fixture.archive("b1"), images: Array(images.prefix(2)))
            #expect(try await catalog.stats().imageCount == 2)
        }
    }

    @Test("An ingest row of the batch that is not verified aborts indexing")
    func unverifiedIngestRowAborts() async throws {
        try await withTemporaryCatalog { catalog, _ in
            _ = try await Self.verifiedBatch(catalog, "b1", ["a.png"])
            let late = try await catalog.claimIngest(Fixture.ingest("late.png"))
            try await catalog.transitionIngest(id: late.id!, to: .encoded)
            try await catalog.transitionIngest(id: late.id!, to: .appended, batchID: "b1")
            let error = await catalogError {
                try await catalog.indexArchive(Fixture.archive("b1"), images: [Fixture.image("a.png")])
            }
            #expect(error?.code == .illegalTransition)
            #expect(try await catalog.archive(id: "b1") == nil)
            #expect(try await catalog.stats().imageCount == 0)
            #expect(try await catalog.ingestRows(batch: "b1").map(\.state) == [.verified, .appended])
        }
    }

    @Test("An archive row recorded early (open, sealed) is completed; an indexed one cannot be indexed again")
    func completesEarlyRowAndRefusesTwice() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.insertArchive(Fixture.archive("b1", state: .open))
            var sealed = Fixture.archive("b1", state: .sealed)
            sealed.bytes = 123_456
            try await catalog.updateArchive(sealed)
            #expect(try await catalog.archive(id: "b1")?.bytes == 123_456)
            try await catalog.indexArchive(Fixture.archive("b1", bytes: 200_000), images: [Fixture.image("a.png")])
            let indexed = try #require(try await catalog.archive(id: "b1"))
            #expect(indexed.state == .indexed)
            #expect(indexed.bytes == 200_000)
            let error = await catalogError {
                try await catalog.indexArchive(Fixture.archive("b1"), images: [Fixture.image("z.png")])
            }
            #expect(error?.code == .alreadyExists)
            #expect(try await catalog.stats().imageCount == 1)
        }
    }

    @Test("Bad values are refused by the schema with a typed error")
    func schemaChecks() async throws {
        try await withTemporaryCatalog { catalog, _ in
            var zeroWidth = Fixture.image("a.png")
            zeroWidth.width = 0
            let error = await catalogError { try await catalog.indexArchive(Fixture.archive("b1"), images: [zeroWidth]) }
            #expect(error?.code == .constraintViolation)
            var badHash = Fixture.image("a.png")
            badHash.originalSHA256 = "XYZ"
            #expect(await catalogError { try await catalog.indexArchive(Fixture.archive("b1"), images: [badHash]) }?.code == .constraintViolation)
            var badModel = Fixture.model(1)
            badModel.id = "not-a-sha"
            #expect(await catalogError { try await catalog.insertModel(badModel) }?.code == .constraintViolation)
            let archive = try await catalog.archive(id: "b1")
            #expect(archive == nil)
        }
    }
}
