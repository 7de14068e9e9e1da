import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// `nacre bench ceiling` measures the codec's own pipeline: with the latents rounded it gives
/// exactly what a decode gives; without rounding, something else.
struct TransformCeilingTests {
    @Test func roundedReconstructionIsTheDecode() throws {
        let model = try CodecFixtures.tinyModel()
        let photo = try CodecFixtures.photo(0)
        for quality in [10.0, 100.0] {
            let decoded = try model.decode(try model.encode(photo, quality: quality))
            #expect(try model.reconstruction(of: photo, quality: quality, rounding: true) == decoded)
            #expect(try model.reconstruction(of: photo, quality: quality, rounding: false) != decoded)
        }
    }

    /// The entropy coder spends what the model's rate estimate says, give or take its tables'
    /// 16-bit precision and each stream's final state: a wrong table or scale index would not.
    @Test func streamsSpendWhatTheModelEstimates() throws {
        let model = try CodecFixtures.tinyModel()
        let photo = try CodecFixtures.photo(0)
        for quality in [1.0, 55.0, 100.0] {
            let encoded = try model.encode(photo, quality: quality, tileSide: 0)
            let streamBits = Double(encoded.tiles.reduce(0) { $0 + $1.zStream.count + $1.yStream.count } * 8)
            let estimate = try model.estimatedBits(of: photo, quality: quality)
            let estimatedBits = estimate.latent + estimate.hyperLatent
            #expect(estimate.latent > 0 && estimate.hyperLatent > 0)
            #expect(abs(streamBits - estimatedBits) <= 0.03 * estimatedBits + 2 * 64,
                    "quality \(quality): streams \(streamBits) bits, estimate \(estimatedBits)")
        }
    }
}
