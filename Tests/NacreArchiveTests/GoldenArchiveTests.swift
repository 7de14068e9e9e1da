import Foundation
import Testing
import NacreArchive

/// One committed golden archive and the inputs it was written from.
struct GoldenArchive: Sendable, CustomTestStringConvertible {
    /// File name under Fixtures/golden.
    var fileName: String
    /// SHA-256 of the committed file.
    var sha256: String
    /// Format minor version the file pins.
    var minorVersion: UInt16
    /// Original file sizes of the three images (v1.1 records carry them; v1.0 records read as nil).
    var originalByteCounts: [UInt64?]

    var testDescription: String { fileName }

    /// Format 1.0, written before records carried the original size. Frozen: the writer now writes
    /// only the current minor version, so this file is read, never regenerated.
    static let v1_0 = GoldenArchive(fileName: "v1-basic.nacre",
                                    sha256: "1f88bda2ce5f7fc7742023a12e0ef3e7d5fda4ae964152792052a0e47767e469",
                                    minorVersion: 0, originalByteCounts: [nil, nil, nil])
    /// Format 1.1: records carry the original file size (image 1's is unknown).
    /// Regenerate deliberately with `NACRE_REGENERATE_GOLDEN=1 swift test --filter GoldenArchiveTests`
    /// and update `sha256`.
    static let v1_1 = GoldenArchive(fileName: "v1.1-basic.nacre",
                                    sha256: "a8c8568ddf76ac4bd5e4c33c07183c13f2f3983b92bc2ce57aba0aedcd4da025",
                                    minorVersion: 1, originalByteCounts: [612_345, nil, 30_000])
    /// The golden written by the current writer (reproduced byte for byte).
    static let current = v1_1

    var committedPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden/\(fileName)").path
    }

    var bundledPath: String? {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/golden/\(fileName)"),
              FileManager.default.fileExists(atPath: url.path) else { return nil }
        return url.path
    }

    /// The golden archive's inputs, fixed forever (the same for every minor version but the version
    /// number and the fields that version added).
    func inputs() -> (manifest: ArchiveManifest, model: [UInt8], images: [ArchiveImage]) {
        var generator = SplitMix64(seed: 0x6E61_6372_6567_6F6C)
        let model = (0..<2048).map { UInt8(truncatingIfNeeded: ($0 * 37) % 23) } + generator.bytes(256)
        var manifest = ArchiveManifest(
            creationTime: 1_700_000_000_000_000, writerVersion: "nacre-golden 1", modelID: "golden-v1",
            modelSHA256: SHA256.hash(model), codecSettings: ["lambda": "0.013", "levels": "8", "latent_channels": "96"])
        manifest.minorVersion = minorVersion
        var images = [
            ArchiveImage(
                record: ImageRecord(name: Array("kodim01.png".utf8), width: 768, height: 512, channels: 3, colorType: 2, bitDepth: 8,
                                    quality: 75.5, originalSHA256: SHA256.hash(Array("original 0".utf8)), psnr: 31.25, msssim: 0.975, flags: 0),
                bitstreams: [generator.bytes(40), generator.bytes(300)]),
            ArchiveImage(
                record: ImageRecord(name: [0x63, 0x61, 0x66, 0xC3, 0xA9, 0x2D, 0xFF, 0x2E, 0x70, 0x6E, 0x67], width: 33, height: 17, channels: 1,
                                    colorType: 0, bitDepth: 8, quality: 1, originalSHA256: SHA256.hash(Array("original 1".utf8)),
                                    psnr: 45.5, msssim: 0.999, flags: 1),
                bitstreams: [generator.bytes(12), generator.bytes(64)]),
            ArchiveImage(
                record: ImageRecord(name: Array("alpha/icon-16bit.png".utf8), width: 64, height: 64, channels: 4, colorType: 6, bitDepth: 16,
                                    quality: 100, originalSHA256: SHA256.hash(Array("original 2".utf8)), psnr: 38.125, msssim: 0.9921875, flags: 0x8000_0001),
                bitstreams: [generator.bytes(20), [], generator.bytes(150)],
                alpha: (0..<4096).map { $0 % 64 < 32 ? 255 : UInt8($0 / 64 * 4) }),
        ]
        for position in images.indices { images[position].record.originalByteCount = originalByteCounts[position] }
        return (manifest, model, images)
    }

    func write(to path: String) throws {
        let (manifest, model, images) = inputs()
        try ArchiveTestSupport.writeArchive(at: path, images: images, model: model, manifest: manifest)
    }
}

/// The committed golden archives (Fixtures/golden) must be read identically by every future build.
@Suite("Golden archive")
struct GoldenArchiveTests {
    /// The libzstd version that wrote the golden files: byte-exact rewriting is only expected with it.
    static let goldenZstdVersion = "1.5.4"

    @Test("A committed golden archive reads back exactly its inputs", arguments: [GoldenArchive.v1_0, GoldenArchive.v1_1])
    func readsGolden(golden: GoldenArchive) throws {
        if golden.fileName == GoldenArchive.current.fileName, ProcessInfo.processInfo.environment["NACRE_REGENERATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(atPath: golden.committedPath)
            try golden.write(to: golden.committedPath)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: golden.committedPath)))
            print("regenerated \(golden.committedPath): \(bytes.count) bytes, sha256 \(SHA256.hash(bytes).hex), zstd \(ArchiveFormat.zstdVersion)")
        }
        let path = try #require(golden.bundledPath, "the golden fixture \(golden.fileName) is missing from the test bundle")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(SHA256.hash(bytes).hex == golden.sha256, "the committed golden file changed")
        let (manifest, model, images) = golden.inputs()
        let reader = try ArchiveReader.open(path: path)
        #expect(reader.openedVia == .index)
        #expect(try reader.readManifest() == manifest)
        #expect(try reader.readManifest().minorVersion == golden.minorVersion)
        #expect(try reader.readModel() == model)
        #expect(reader.images.count == images.count)
        for (position, image) in images.enumerated() {
            #expect(try reader.readImage(at: position) == image)
            #expect(try reader.readImage(named: image.record.name) == image)
            #expect(reader.images[position].name == image.record.name)
        }
        #expect(reader.verify().isIntact)
        #expect(try ArchiveTestSupport.run("/usr/bin/zstd", ["-t", "-q", path]).status == 0)

        // The scan (no index) reads the same records.
        let scanned = try ArchiveReader.parse(bytes: Array(bytes.dropLast(48)))
        #expect(scanned.openedVia == .linearScan)
        for (position, image) in images.enumerated() {
            #expect(try scanned.readImage(at: position) == image)
        }
    }

    @Test("Writing the current golden inputs reproduces the current golden bytes exactly",
          .enabled(if: ArchiveFormat.zstdVersion == GoldenArchiveTests.goldenZstdVersion, "zstd output is byte-stable only within one libzstd version"))
    func reproducesGolden() throws {
        let golden = GoldenArchive.current
        #expect(golden.minorVersion == ArchiveFormat.minorVersion, "the current golden must pin the minor version the writer writes")
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        try golden.write(to: folder + "/" + golden.fileName)
        let written = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + golden.fileName))
        let committed = try Data(contentsOf: URL(fileURLWithPath: try #require(golden.bundledPath)))
        #expect(written == committed)
    }

    @Test("The writer refuses to write an older minor version (v1.0 files are frozen)")
    func writerWritesOnlyCurrentMinor() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let (manifest, model, _) = GoldenArchive.v1_0.inputs()
        let error = #expect(throws: ArchiveError.self) { try ArchiveWriter(path: folder + "/old.nacre", manifest: manifest, model: model) }
        #expect(error?.code == .invalidArgument)
    }
}
