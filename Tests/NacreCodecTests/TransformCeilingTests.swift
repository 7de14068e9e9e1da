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
}
