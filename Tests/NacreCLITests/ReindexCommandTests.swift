import Foundation
import NacreArchive
import NacreCatalog
import NacreTestSupport
import Testing

/// `nacre reindex` as a user runs it: archives written by ArchiveWriter (the container treats the
/// bitstreams as bytes, so small fake ones do), a damaged copy, then the catalog read back.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct ReindexCommandTests {
    static let creationTime: Int64 = 1_700_000_123_000_000
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreArchiveTests/Fixtures/golden/v1-basic.nacre").path

    /// A fresh folder under the system temp folder; the caller removes it.
    static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-reindex-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func image(_ name: String, originalBytes: UInt64?, seed: UInt8) -> ArchiveImage {
        let record = NacreArchive.ImageRecord(
            name: Array(name.utf8), width: 40 + UInt32(seed), height: 30, channels: 3, colorType: 2, bitDepth: 8,
            quality: 50 + Float(seed), originalSHA256: SHA256.hash(Array(name.utf8)), psnr: 30 + Float(seed) / 4,
            msssim: 0.95, flags: 0, originalByteCount: originalBytes)
        // Fake latents: the container stores them as opaque bytes.
        let latent = (0..<(100 + Int(seed) * 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
        return ArchiveImage(record: record, bitstreams: [Array(latent.prefix(16)), latent])
    }

    /// The catalog id of a test model: models are content-addressed by SHA-256.
    static func modelID(_ name: String) -> String { SHA256.hash(Array(name.utf8)).hex }

    @discardableResult
    static func writeArchive(_ path: String, modelID: String, images: [ArchiveImage]) throws -> ArchiveReader {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let model = Array("decoder of \(modelID)".utf8)
        let manifest = ArchiveManifest(creationTime: creationTime, writerVersion: "nacre-tests", modelID: Self.modelID(modelID),
                                       modelSHA256: SHA256.hash(model))
        let writer = try ArchiveWriter(path: path, manifest: manifest, model: model)
        for image in images { try writer.append(image) }
        _ = try writer.seal()
        return try ArchiveReader.open(path: path)
    }

    static func json(_ run: NacreExecutable.Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "stdout: \(run.stdout) stderr: \(run.stderr)")
    }

    /// Every image row, sorted by archive and name, without the row ids (which a rebuild changes).
    static func imageRows(_ catalogPath: String) async throws -> [NacreCatalog.ImageRecord] {
        let catalog = try Catalog(path: catalogPath)
        defer { try? catalog.close() }
        return try await catalog.images(limit: 1_000).images
            .map { row in var row = row; row.id = nil; return row }
            .sorted { ($0.archiveID, $0.displayName) < ($1.archiveID, $1.displayName) }
    }

    @Test func rebuildsTheCatalogFromArchivesSkippingDamageIdempotently() async throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let archives = root + "/archives"
        let alpha = try Self.writeArchive(archives + "/alpha.nacre", modelID: "model-a", images: [
            Self.image("one.png", originalBytes: 10_000, seed: 1), Self.image("two.png", originalBytes: 20_000, seed: 2),
        ])
        try Self.writeArchive(archives + "/nested/deeper/beta.nacre", modelID: "model-b", images: [
            Self.image("three.png", originalBytes: 30_000, seed: 3),
        ])
        // A damaged copy: one byte flipped inside the frame of "two.png", so only that image is lost.
        var damaged = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archives + "/alpha.nacre")))
        let frame = alpha.images[1].frame
        damaged[Int(frame.offset + frame.length / 2)] ^= 0x5A
        try Data(damaged).write(to: URL(fileURLWithPath: archives + "/nested/alpha-damaged.nacre"))
        // Symbolic links are not followed: these would duplicate the archive id "alpha" if they were.
        try FileManager.default.createSymbolicLink(atPath: archives + "/link-to-nested", withDestinationPath: archives + "/nested")
        try FileManager.default.createSymbolicLink(atPath: archives + "/nested/linked.nacre", withDestinationPath: archives + "/alpha.nacre")
        try Data("not an archive".utf8).write(to: URL(fileURLWithPath: archives + "/notes.txt"))

        let catalogPath = root + "/catalog.sqlite"
        let first = try NacreExecutable.run(["reindex", "--catalog", catalogPath, archives, "--json"])
        #expect(first.status == 1, "a skipped image makes the exit status 1; stderr: \(first.stderr)")
        let summary = try Self.json(first)
        #expect(summary["archives"] as? Int == 3)
        #expect(summary["images"] as? Int == 4)
        #expect(summary["unknownOriginalSizes"] as? Int == 0)
        #expect(Set(summary["modelsAdded"] as? [String] ?? []) == [Self.modelID("model-a"), Self.modelID("model-b")])
        let skipped = try #require(summary["skipped"] as? [[String: Any]])
        #expect(skipped.count == 1)
        #expect(skipped.first?["image"] as? String == "two.png")
        #expect((skipped.first?["archive"] as? String)?.hasSuffix("/nested/alpha-damaged.nacre") == true)

        let rows = try await Self.imageRows(catalogPath)
        #expect(rows.map { "\($0.archiveID)/\($0.displayName)" } == ["alpha/one.png", "alpha/two.png", "alpha-damaged/one.png", "beta/three.png"])
        let two = try #require(rows.first { $0.archiveID == "alpha" && $0.displayName == "two.png" })
        let expected = Self.image("two.png", originalBytes: 20_000, seed: 2)
        #expect(two.originalBytes == 20_000)
        #expect(two.width == Int(expected.record.width))
        #expect(two.quality == Double(expected.record.quality))
        #expect(two.originalSHA256 == expected.record.originalSHA256.hex)
        #expect(two.latentBytes == Int64(expected.latentByteCount))
        #expect(two.frameOffset == Int64(frame.offset) && two.frameLength == Int64(frame.length))
        #expect(two.encodedAt == Date(timeIntervalSince1970: 1_700_000_123))

        let catalog = try Catalog(path: catalogPath)
        let stats = try await catalog.stats()
        #expect(stats.originalBytes == 10_000 + 20_000 + 10_000 + 30_000)
        #expect(stats.imageCount == 4)
        #expect(try await catalog.archive(id: "alpha")?.state == .indexed)
        #expect(try await catalog.archive(id: "alpha-damaged")?.state == .damaged)
        #expect(try await catalog.archive(id: "beta")?.modelID == Self.modelID("model-b"))
        #expect(try await catalog.archive(id: "beta")?.createdAt == Date(timeIntervalSince1970: 1_700_000_123))
        try catalog.close()

        // Idempotent: a second run gives the same rows.
        let second = try NacreExecutable.run(["reindex", "--catalog", catalogPath, archives, "--json"])
        #expect(second.status == 1)
        #expect(try Self.json(second)["modelsAdded"] as? [String] == [], "the models are known after the first run")
        #expect(try await Self.imageRows(catalogPath) == rows)

        // Without the damaged copy nothing is skipped: exit status 0, and its rows are gone.
        try FileManager.default.removeItem(atPath: archives + "/nested/alpha-damaged.nacre")
        let clean = try NacreExecutable.run(["reindex", "--catalog", catalogPath, archives])
        #expect(clean.status == 0, "stdout: \(clean.stdout) stderr: \(clean.stderr)")
        #expect(clean.stdout.contains("Reindexed 2 of 2 archives, 3 images"))
        #expect(try await Self.imageRows(catalogPath) == rows.filter { $0.archiveID != "alpha-damaged" })
    }

    @Test func formatOneZeroArchivesGiveUnknownOriginalSizesWithAWarning() async throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/old", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.golden, toPath: root + "/old/golden.nacre")
        let catalogPath = root + "/catalog.sqlite"
        let run = try NacreExecutable.run(["reindex", "--catalog", catalogPath, root + "/old"])
        #expect(run.status == 0, "stdout: \(run.stdout) stderr: \(run.stderr)")
        #expect(run.stdout.contains("warning: 3 images have no recorded original file size"))
        // The golden's model id "golden-v1" is not a SHA-256: the catalog keys the model by the stored model's hash.
        let archive = try await { () async throws -> ArchiveRecord? in
            let catalog = try Catalog(path: catalogPath)
            defer { try? catalog.close() }
            return try await catalog.archive(id: "golden")
        }()
        #expect(archive?.modelID == (try ArchiveReader.open(path: Self.golden).readManifest().modelSHA256.hex))
        let rows = try await Self.imageRows(catalogPath)
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.originalBytes == 0 })
    }

    @Test func unopenableArchivesAreSkippedAndMissingFoldersLeaveTheCatalogAlone() async throws {
        let root = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeArchive(root + "/good.nacre", modelID: "model-a", images: [Self.image("one.png", originalBytes: 5, seed: 1)])
        try Data("hello, not an archive\n".utf8).write(to: URL(fileURLWithPath: root + "/garbage.nacre"))
        let catalogPath = root + "/catalog.sqlite"
        let run = try NacreExecutable.run(["reindex", "--catalog", catalogPath, root])
        #expect(run.status == 1)
        #expect(run.stdout.contains("skipped archive \(root)/garbage.nacre"))
        #expect(try await Self.imageRows(catalogPath).map(\.displayName) == ["one.png"])

        let missing = try NacreExecutable.run(["reindex", "--catalog", catalogPath, root + "/nope"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no such file or folder"))
        #expect(try await Self.imageRows(catalogPath).map(\.displayName) == ["one.png"], "a mistyped folder must not empty the catalog")
    }
}
