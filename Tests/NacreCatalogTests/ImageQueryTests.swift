import Foundation
import GRDB
import Testing
@testable import NacreCatalog

@Suite("Listing, searching and looking up images")
struct ImageQueryTests {
    static let names = ["2024/beach.png", "2024/Beach.PNG", "2025/city.png", "notes[1].png", "2025/sub/deep.png"]

    /// Indexes `names` into archive "a1", one hour apart, oldest first.
    static func populate(_ catalog: Catalog) async throws {
        let images = names.enumerated().map { index, name in
            Fixture.image(name, encodedAt: Fixture.t0.addingTimeInterval(3600 * Double(index)), frame: Int64(index))
        }
        try await catalog.indexArchive(Fixture.archive("a1"), images: images)
    }

    func names(_ catalog: Catalog, _ filter: ImageFilter) async throws -> [String] {
        try await catalog.images(filter, limit: 100).images.map(\.displayName)
    }

    @Test("GLOB search is case-sensitive, * crosses folders, [..] is a set")
    func globSearch() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await Self.populate(catalog)
            #expect(try await names(catalog, ImageFilter(nameGlob: "*.png")) == ["2025/sub/deep.png", "notes[1].png", "2025/city.png", "2024/beach.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "*.PNG")) == ["2024/Beach.PNG"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "2024/*")) == ["2024/Beach.PNG", "2024/beach.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "2025/*.png")) == ["2025/sub/deep.png", "2025/city.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "2024/?each.*")) == ["2024/Beach.PNG", "2024/beach.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "*[Bb]each.png")) == ["2024/beach.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "notes[[]1].png")) == ["notes[1].png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "nothing*")).isEmpty)
        }
    }

    @Test("A glob with a literal prefix uses the name index")
    func globUsesIndex() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let planRows = try await catalog.pool.read { db in
                // Bound as a parameter, as the API does.
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM images WHERE display_name GLOB ?", arguments: ["2024/*"])
                    .map { $0["detail"] as String }
            }
            #expect(planRows.contains { $0.contains("images_by_display_name") }, "plan: \(planRows)")
        }
    }

    @Test("Date range: from is inclusive, before is exclusive; combined with name and archive")
    func dateSearch() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await Self.populate(catalog)
            let t1 = Fixture.t0.addingTimeInterval(3600), t3 = Fixture.t0.addingTimeInterval(3 * 3600)
            #expect(try await names(catalog, ImageFilter(encodedFrom: t1, encodedBefore: t3)) == ["2025/city.png", "2024/Beach.PNG"])
            #expect(try await names(catalog, ImageFilter(encodedFrom: t3)) == ["2025/sub/deep.png", "notes[1].png"])
            #expect(try await names(catalog, ImageFilter(encodedBefore: t1)) == ["2024/beach.png"])
            #expect(try await names(catalog, ImageFilter(nameGlob: "2025/*", encodedBefore: t3)) == ["2025/city.png"])
            #expect(try await names(catalog, ImageFilter(archiveID: "a1")).count == 5)
            #expect(try await names(catalog, ImageFilter(archiveID: "nope")).isEmpty)
        }
    }

    @Test("Pages are newest first, do not overlap, and end with a nil cursor")
    func paging() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await Self.populate(catalog)
            // A second archive with images at the same instant as the newest, to test the id tie-break.
            let same = Fixture.t0.addingTimeInterval(4 * 3600)
            try await catalog.indexArchive(Fixture.archive("a2"), images: [Fixture.image("x.png", encodedAt: same),
                                                                            Fixture.image("y.png", encodedAt: same, frame: 1)])
            var seen: [String] = []
            var cursor: ImageCursor?
            var pages = 0
            repeat {
                let page = try await catalog.images(limit: 3, after: cursor)
                seen += page.images.map(\.displayName)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == ["y.png", "x.png", "2025/sub/deep.png", "notes[1].png", "2025/city.png", "2024/Beach.PNG", "2024/beach.png"])
            #expect(await catalogError { _ = try await catalog.images(limit: 0) }?.code == .invalidArgument)
            #expect(await catalogError { _ = try await catalog.images(after: ImageCursor(afterImageID: 9999)) }?.code == .notFound)
        }
    }

    @Test("Info by name; ambiguous names need the archive; names that are not UTF-8 still work")
    func infoByName() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await Self.populate(catalog)
            try await catalog.indexArchive(Fixture.archive("a2"), images: [Fixture.image("2025/city.png")])
            let beach = try await catalog.image(named: "2024/beach.png")
            #expect(beach.archiveID == "a1")
            #expect(beach.width == 64 && beach.frameOffset == 1000)
            let ambiguous = await catalogError { _ = try await catalog.image(named: "2025/city.png") }
            #expect(ambiguous?.code == .ambiguous)
            #expect(ambiguous?.message.contains("a1") == true && ambiguous?.message.contains("a2") == true)
            #expect(try await catalog.image(named: "2025/city.png", inArchive: "a2").archiveID == "a2")
            #expect(await catalogError { _ = try await catalog.image(named: "missing.png") }?.code == .notFound)

            // Latin-1 "café.png": not valid UTF-8. Stored exactly; found by its display name.
            let latin1 = Data([0x63, 0x61, 0x66, 0xE9, 0x2E, 0x70, 0x6E, 0x67])
            let odd = ImageRecord(archiveID: "", nameBytes: latin1, width: 8, height: 8, channels: 1, colourType: 0, bitDepth: 8,
                              quality: 1, originalBytes: 100, latentBytes: 10, originalSHA256: Fixture.hex(7), psnr: 40,
                              msSSIM: 0.99, frameOffset: 10, frameLength: 10, encodedAt: Fixture.t0)
            try await catalog.indexArchive(Fixture.archive("a3"), images: [odd])
            #expect(odd.displayName == "caf\u{FFFD}.png")
            let found = try await catalog.image(named: "caf\u{FFFD}.png")
            #expect(found.nameBytes == latin1)
        }
    }
}
