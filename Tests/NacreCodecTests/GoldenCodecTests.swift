import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The golden end-to-end files: committed tiny decoder-only models, a scale-only one
/// (`golden-codec-*`) and a mean-scale one (`golden-codec-means-*`), and an image each coded.
/// Every future build must load each model and decode its record to exactly the committed ẑ, ŷ
/// and scale indices (checksums), and to about the committed PSNR.
///
/// Regenerate one set (only when its format changes on purpose, and say so in the commit):
/// `NACRE_WRITE_GOLDEN=golden-codec-means swift test --filter GoldenCodecTests`
@Suite struct GoldenCodecTests {
    struct Expected: Codable, Equatable {
        var source: String
        var window: [Int]  // x, y, width, height
        var zChecksum: String
        var yChecksum: String
        var indicesChecksum: String
        var zCount: Int
        var yCount: Int
        var psnr: Double
    }

    static let sourceFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let window = [5, 9, 100, 90]

    static func checksum(_ values: [Int32]) -> String {
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        return String(format: "%016llx", FNV1a.hash(bytes))
    }

    static func sourceImage() throws -> PixelBuffer {
        try CodecFixtures.photo(1).window(x: window[0], y: window[1], width: window[2], height: window[3])
    }

    func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
        return Array(try Data(contentsOf: url))
    }

    @Test(arguments: ["golden-codec", "golden-codec-means"])
    func goldenImageDecodesToTheCommittedLatents(prefix: String) throws {
        if ProcessInfo.processInfo.environment["NACRE_WRITE_GOLDEN"] == prefix { try writeFixtures(prefix) }
        let model = try CodecModel.load(try fixture("\(prefix)-model.nxcm"), engine: try Engine(threads: 1))
        #expect(model.configuration.predictsMeans == prefix.hasSuffix("means"))
        let encoded = try EncodedImage(serialized: try fixture("\(prefix)-image.nxim"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(try fixture("\(prefix)-expected.json")))
        let (image, latents) = try model.decodeWithLatents(encoded)
        #expect(latents.z.count == expected.zCount && latents.y.count == expected.yCount)
        #expect(Self.checksum(latents.z) == expected.zChecksum)
        #expect(Self.checksum(latents.y) == expected.yChecksum)
        #expect(Self.checksum(latents.scaleIndices.map(Int32.init)) == expected.indicesChecksum)
        let psnr = try PSNR(reference: try Self.sourceImage(), distorted: image).decibels
        #expect(abs(psnr - expected.psnr) < 0.05, "PSNR \(psnr) vs committed \(expected.psnr)")
    }

    private func writeFixtures(_ prefix: String) throws {
        let model = prefix.hasSuffix("means") ? try MeanScaleTests.meanModel() : try CodecFixtures.tinyModel()
        let source = try Self.sourceImage()
        let encoded = try model.encode(source, quality: 58.25)
        let decoderOnly = try CodecModel.load(model.decoderBytes(), engine: try Engine(threads: 1))
        let (image, latents) = try decoderOnly.decodeWithLatents(encoded)
        let expected = Expected(
            source: CodecFixtures.photoNames[1], window: Self.window,
            zChecksum: Self.checksum(latents.z), yChecksum: Self.checksum(latents.y),
            indicesChecksum: Self.checksum(latents.scaleIndices.map(Int32.init)),
            zCount: latents.z.count, yCount: latents.y.count,
            psnr: try PSNR(reference: source, distorted: image).decibels)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Data(model.decoderBytes()).write(to: Self.sourceFixtures.appendingPathComponent("\(prefix)-model.nxcm"))
        try Data(encoded.serialized()).write(to: Self.sourceFixtures.appendingPathComponent("\(prefix)-image.nxim"))
        try encoder.encode(expected).write(to: Self.sourceFixtures.appendingPathComponent("\(prefix)-expected.json"))
    }
}
