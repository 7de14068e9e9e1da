import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// Encode → bytes → decode with a real (tiny, untrained) model on real photo crops and odd sizes.
@Suite struct CodecRoundTripTests {
    /// At a quality that lands on a trained level, the decoded image must match the model's own
    /// evaluation path (`rateDistortion`, float output) up to 8-bit rounding and clamping, and the
    /// real bitstream must cost about what the model estimates.
    @Test func roundTripMatchesTheModelsEvaluationPath() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.photo(0)  // 128×128: no padding, so both paths see the same pixels
        for level in [0, 2] {
            let encoded = try model.encode(image, quality: CodecFixtures.quality(ofLevel: level))
            let parsed = try EncodedImage(serialized: encoded.serialized())
            #expect(parsed == encoded)
            let decoded = try model.decode(parsed)
            #expect(decoded.width == 128 && decoded.height == 128)
            let psnr = try PSNR(reference: image, distorted: decoded).decibels
            let x = try ImagePadding.tensor(from: image)
            let reference = try model.network.rateDistortion(images: x, level: level, training: false)
            #expect(abs(psnr - reference.psnr) < 0.5, "codec \(psnr) dB vs eval path \(reference.psnr) dB at level \(level)")
            // Real bits vs the model's estimate (integer h_s indices, table quantisation, stream overheads).
            let realBits = Double((encoded.streamByteCounts.y + encoded.streamByteCounts.z) * 8) / Double(image.pixelCount)
            #expect(abs(realBits - reference.bitsPerPixel) < 0.1 * reference.bitsPerPixel + 0.05,
                    "real \(realBits) bpp vs estimated \(reference.bitsPerPixel) bpp at level \(level)")
        }
    }

    @Test func higherQualityCostsMoreBits() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.photo(1)
        let sizes = try [1.0, 30, 70, 100].map { try model.encode(image, quality: $0).byteCount }
        #expect(sizes == sizes.sorted() && sizes.first! < sizes.last!, "sizes \(sizes)")
    }

    @Test(arguments: [(1, 1), (17, 5000), (5000, 17), (63, 65), (64, 64), (65, 63), (2, 130)])
    func oddSizesRoundTrip(width: Int, height: Int) throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.synthetic(width: width, height: height)
        let encoded = try model.encode(image, quality: 60)
        #expect(encoded.tiles.count == 1)
        #expect(encoded.tiles[0].yShape.height == ImagePadding.padded(height) / 16)
        #expect(encoded.tiles[0].yShape.width == ImagePadding.padded(width) / 16)
        let decoded = try model.decode(try EncodedImage(serialized: encoded.serialized()))
        #expect(decoded.width == width && decoded.height == height)
        #expect(decoded.rgb.count == width * height * 3)
    }

    /// Above the tiling threshold the image is coded as 1024-pixel tiles, each with its own
    /// streams; encoder and decoder look 64 pixels across tile edges (LatentGrid), so the result is
    /// as good as coding the image whole, seams included.
    @Test func largeImagesAreCodedInTilesWithoutSeams() throws {
        let model = try CodecFixtures.tinyModel(threads: 2)
        let image = try CodecFixtures.synthetic(width: 2100, height: 1000)  // 2.1 MP: 3 × 1 tiles
        let encoded = try model.encode(image, quality: 50)
        #expect(encoded.tileSide == 1024 && encoded.tiles.count == 3)
        let parsed = try EncodedImage(serialized: encoded.serialized())
        #expect(parsed == encoded)
        let decoded = try model.decode(parsed)
        #expect(decoded.width == 2100 && decoded.height == 1000)

        let whole = try model.decode(try model.encode(image, quality: 50, tileSide: 0))
        let tiledPSNR = try PSNR(reference: image, distorted: decoded).decibels
        let wholePSNR = try PSNR(reference: image, distorted: whole).decibels
        #expect(abs(tiledPSNR - wholePSNR) < 0.05, "tiled \(tiledPSNR) dB vs whole \(wholePSNR) dB")
        // The 32-pixel bands around the tile edges are no worse than in the whole-image decode.
        for edge in [1024, 2048] {
            let band = { (decoded: PixelBuffer) in
                try PSNR(reference: try image.window(x: edge - 16, y: 0, width: 32, height: 1000),
                         distorted: try decoded.window(x: edge - 16, y: 0, width: 32, height: 1000)).decibels
            }
            let (tiledBand, wholeBand) = (try band(decoded), try band(whole))
            #expect(tiledBand > wholeBand - 0.1, "edge at \(edge): \(tiledBand) dB tiled vs \(wholeBand) dB whole")
        }
    }

    @Test func forcedTilesRoundTripAndBadSidesAreRefused() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.synthetic(width: 130, height: 70)
        let encoded = try model.encode(image, quality: 50, tileSide: 64)
        #expect(encoded.tiles.count == 6)
        let decoded = try model.decode(try EncodedImage(serialized: encoded.serialized()))
        #expect(decoded.width == 130 && decoded.height == 70)
        #expect(throws: CodecError.self) { try model.encode(image, quality: 50, tileSide: 100) }
    }

    @Test func decoderOnlyModelDecodesIdenticallyAndCannotEncode() throws {
        let model = try CodecFixtures.tinyModel()
        let decoderOnly = try CodecModel.load(model.decoderBytes(), engine: model.network.engine)
        #expect(decoderOnly.identifier == model.identifier)
        #expect(!decoderOnly.canEncode)
        #expect(decoderOnly.decoderBytes() == model.decoderBytes())
        let image = try CodecFixtures.photo(2)
        let encoded = try model.encode(image, quality: 42.5)
        #expect(try decoderOnly.decode(encoded) == (try model.decode(encoded)))
        #expect(try decoderOnly.decodeLatents(encoded) == (try model.decodeLatents(encoded)))
        #expect(throws: CodecError.self) { try decoderOnly.encode(image, quality: 50) }
    }

    @Test func fullModelSurvivesSerialisation() throws {
        let model = try CodecFixtures.tinyModel()
        let bytes = model.serialized()
        #expect(bytes == model.serialized())  // deterministic
        let loaded = try CodecModel.load(bytes, engine: model.network.engine)
        #expect(loaded.serialized() == bytes)
        let image = try CodecFixtures.photo(0)
        #expect(try loaded.encode(image, quality: 77) == (try model.encode(image, quality: 77)))
    }

    @Test func targetPSNRPicksTheLowestQualityThatReachesIt() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.photo(1)
        let low = try PSNR(reference: image, distorted: try model.decode(try model.encode(image, quality: 1))).decibels
        let high = try PSNR(reference: image, distorted: try model.decode(try model.encode(image, quality: 100))).decibels
        #expect(high > low)
        let target = (low + high) / 2
        let result = try model.encode(image, targetPSNR: target)
        #expect(result.reachedTarget && result.psnr >= target)
        // Half a quality step lower must miss the target (bisection resolution).
        let below = result.encoded.quality - 0.5
        if below >= 1 {
            let psnrBelow = try PSNR(reference: image, distorted: try model.decode(try model.encode(image, quality: below))).decibels
            #expect(psnrBelow < target, "quality \(below) already gives \(psnrBelow) dB ≥ \(target)")
        }
        let unreachable = try model.encode(image, targetPSNR: 99)
        #expect(!unreachable.reachedTarget && unreachable.encoded.quality == 100)
    }

    @Test func refusesImagesAboveTheLimitAndBadQualities() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.synthetic(width: 8, height: 8)
        for q in [0.0, 100.5, .nan, -3] {
            #expect(throws: CodecError.self) { try model.encode(image, quality: q) }
        }
    }
}
