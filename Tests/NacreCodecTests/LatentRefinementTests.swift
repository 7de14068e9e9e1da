import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// Encoder-side latent refinement: it must lower the real objective on a photo, and what it
/// produces must be an ordinary bitstream that the unchanged decoder reads.
struct LatentRefinementTests {
    @Test func refinementLowersTheObjectiveOfAPhotoAndDecodesWithTheSameDecoder() throws {
        let model = try CodecFixtures.tinyModel()
        let photo = try CodecFixtures.photo(1)
        let quality = 60.0
        let position = try QualityPosition(quality: quality, levelCount: model.configuration.levelCount)
        let analysis = try model.analyze(photo)
        let tile = try #require(analysis.tiles.first)
        let offsets = model.offsets(at: position)
        let (encoderGains, decoderGains) = model.gains(at: position)
        let indices = try model.hyperSynthesis.scaleIndices(for: tile.z, channelOffsets: offsets)
        let gained = try model.network.engine.multiplyChannels(tile.y, gains: encoderGains).values()
        let result = try model.refine(gained, shape: tile.y.shape, scaleIndices: indices, input: tile.input,
                                      width: tile.width, height: tile.height, decoderGains: decoderGains,
                                      lambda: model.lambda(at: position), settings: LatentRefinement(iterations: 15))
        #expect(result.outcome.objectiveAfter < result.outcome.objectiveBefore, "refinement must lower R + λD: \(result.outcome)")
        #expect(result.outcome.kept)
        #expect(result.latents != gained.map { $0.rounded() })

        // Through the public API: same decoder, a valid bitstream, the same quality code.
        let plain = try model.encode(photo, quality: quality)
        let refined = try model.encode(photo, quality: quality, refinement: LatentRefinement(iterations: 15))
        #expect(refined.qualityCode == plain.qualityCode)
        let decoded = try model.decode(refined)
        #expect(decoded.width == photo.width && decoded.height == photo.height)
        // The decoder's parameters are untouched by the refinement's backward passes.
        #expect(model.network.synthesis.parameters.allSatisfy { $0.gradients().allSatisfy { $0 == 0 } })
    }

    @Test func lambdaIsLogLinearBetweenLevels() throws {
        let model = try CodecFixtures.tinyModel()
        let lambdas = model.configuration.lambdas
        let atLevel1 = try QualityPosition(quality: CodecFixtures.quality(ofLevel: 1), levelCount: lambdas.count)
        #expect(abs(model.lambda(at: atLevel1) - lambdas[1]) < 1e-12)
        let between = try QualityPosition(quality: (CodecFixtures.quality(ofLevel: 0) + CodecFixtures.quality(ofLevel: 1)) / 2,
                                          levelCount: lambdas.count)
        let expected = (lambdas[0] * lambdas[1]).squareRoot()
        #expect(abs(model.lambda(at: between) - expected) / expected < 0.01)
    }
}
