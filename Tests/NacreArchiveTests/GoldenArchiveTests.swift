import Foundation
import Testing
import NacreArchive

/// The committed golden archive (Fixtures/golden/v1-basic.nacre) must be read identically by every
/// future build. Regenerate deliberately with `NACRE_REGENERATE_GOLDEN=1 swift test --filter GoldenArchiveTests`
/// and update `goldenSHA256`.
@Suite("Golden archive")
struct GoldenArchiveTests {
    /// SHA-256 of the committed golden file.
    static let goldenSHA256 = "1f88bda2ce5f7fc7742023a12e0ef3e7d5fda4ae964152792052a0e47767e469"
    /// The libzstd version that wrote the golden file: byte-exact rewriting is only expected with it.
    static let goldenZstdVersion = "1.5.4"
    static let fileName = "v1-basic.nacre"

    static var committedPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden/\(fileName)").path
    }

    static var bundledPath: String? {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/golden/\(fileName)"),
              FileManager.default.fileExists(atPath: url.path) else { return nil }
        return url.path
    }

    /// The golden archive's inputs, fixed forever.
    static func inputs() throws -> (manifest: ArchiveManifest, model: [UInt8], images: [ArchiveImage]) {
        var generator = SplitMix64(seed: 0x6E61_6372_6567_6F6C)
        let model = (0..<2048).map { UInt8(truncatingIfNeeded: ($0 * 37) % 23) } + generator.bytes(256)
        let manifest = ArchiveManifest(
            creationTime: 1_700_000_000_000_000, writerVersion: "nacre-golden 1", modelID: "golden-v1",
            modelSHA256: SHA256.hash(model), codecSettings: ["lambda": "0.013", "levels": "8", "latent_channels": "96"])
        let images = [
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
        return (manifest, model, images)
    }

    static func writeGolden(to path: String) throws {
        let (manifest, model, images) = try inputs()
        try ArchiveTestSupport.writeArchive(at: path, images: images, model: model, manifest: manifest)
    }

    @Test("The committed golden archive reads back exactly its inputs")
    func readsGolden() throws {
        if ProcessInfo.processInfo.environment["NACRE_REGENERATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(atPath: Self.committedPath)
            try Self.writeGolden(to: Self.committedPath)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.committedPath)))
            print("regenerated \(Self.committedPath): \(bytes.count) bytes, sha256 \(SHA256.hash(bytes).hex), zstd \(ArchiveFormat.zstdVersion)")
        }
        let path = try #require(Self.bundledPath, "the golden fixture is missing from the test bundle")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(SHA256.hash(bytes).hex == Self.goldenSHA256, "the committed golden file changed")
        let (manifest, model, images) = try Self.inputs()
        let reader = try ArchiveReader.open(path: path)
        #expect(reader.openedVia == .index)
        #expect(try reader.readManifest() == manifest)
        #expect(try reader.readModel() == model)
        #expect(reader.images.count == images.count)
        for (position, image) in images.enumerated() {
            #expect(try reader.readImage(at: position) == image)
            #expect(try reader.readImage(named: image.record.name) == image)
            #expect(reader.images[position].name == image.record.name)
        }
        #expect(reader.verify().isIntact)
        #expect(try ArchiveTestSupport.run("/usr/bin/zstd", ["-t", "-q", path]).status == 0)
    }

    @Test("Writing the golden inputs reproduces the golden bytes exactly",
          .enabled(if: ArchiveFormat.zstdVersion == GoldenArchiveTests.goldenZstdVersion, "zstd output is byte-stable only within one libzstd version"))
    func reproducesGolden() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        try Self.writeGolden(to: folder + "/" + Self.fileName)
        let written = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + Self.fileName))
        let golden = try Data(contentsOf: URL(fileURLWithPath: try #require(Self.bundledPath)))
        #expect(written == golden)
    }
}
