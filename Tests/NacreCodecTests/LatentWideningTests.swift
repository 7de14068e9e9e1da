import NacreEngine
import Testing
@testable import NacreCodec

/// Widening the latent (more channels M) keeps what the trained model computes: the image it
/// reconstructs and its hyper-latent, on real photo crops; only a new M may grow.
struct LatentWideningTests {
    @Test func aWidenedModelReconstructsLikeTheOriginal() throws {
        let engine = try Engine(threads: 1)
        let narrow = try HyperpriorModel(configuration: HyperpriorModelTests.tiny, engine: engine, seed: 3)
        var wideConfiguration = HyperpriorModelTests.tiny
        wideConfiguration.latentChannels = 32
        let wide = try HyperpriorModel(configuration: wideConfiguration, engine: engine, seed: 9)
        try LatentWidening.copy(from: narrow, into: wide)
        let images = try HyperpriorModelTests.photoBatch()
        for level in 0..<2 {
            let before = try narrow.rateDistortion(images: images, level: level, training: false)
            let after = try wide.rateDistortion(images: images, level: level, training: false)
            #expect(abs(after.mse - before.mse) <= 1e-4 * before.mse, "level \(level): MSE \(before.mse) → \(after.mse)")
            #expect(abs(after.hyperLatentBitsPerPixel - before.hyperLatentBitsPerPixel) <= 1e-6,
                    "level \(level): z changed")
            // The new channels start near zero, so they add few bits.
            #expect(after.latentBitsPerPixel >= before.latentBitsPerPixel - 1e-6)
            #expect(after.latentBitsPerPixel <= before.latentBitsPerPixel * 1.25 + 0.01)
        }
        // The old channels' weights are carried over exactly; the readers of the new ones are zero.
        let gs = try #require(wide.parameters.first { $0.name == "g_s.0.weight" })
        let old = try #require(narrow.parameters.first { $0.name == "g_s.0.weight" })
        #expect(gs.shape == [16, 32, 5, 5] && old.shape == [16, 16, 5, 5])
        #expect(gs.value[0] == old.value[0] && gs.value[15 * 25] == old.value[15 * 25])
        #expect((16..<32).allSatisfy { gs.value[$0 * 25 + 12] == 0 })
    }

    @Test func onlyTheLatentMayGrow() throws {
        let engine = try Engine(threads: 1)
        let model = try HyperpriorModel(configuration: HyperpriorModelTests.tiny, engine: engine)
        var narrower = HyperpriorModelTests.tiny
        narrower.latentChannels = 8
        var wider = HyperpriorModelTests.tiny
        wider.hiddenChannels = 32
        for configuration in [narrower, wider] {
            let target = try HyperpriorModel(configuration: configuration, engine: engine)
            #expect(throws: CodecError.self) { try LatentWidening.copy(from: model, into: target) }
        }
    }
}
