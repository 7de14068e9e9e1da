import NacreEngine
import Testing
@testable import NacreCodec

/// Widening the latent (more channels M) keeps the trained channels, changes the image and z
/// little at the start, and leaves the new channels alive: one training step moves both their
/// analysis and their synthesis weights. Real photo crops; only M may grow.
struct LatentWideningTests {
    static func widened() throws -> (narrow: HyperpriorModel, wide: HyperpriorModel) {
        let engine = try Engine(threads: 1)
        let narrow = try HyperpriorModel(configuration: HyperpriorModelTests.tiny, engine: engine, seed: 3)
        var wideConfiguration = HyperpriorModelTests.tiny
        wideConfiguration.latentChannels = 32
        let wide = try HyperpriorModel(configuration: wideConfiguration, engine: engine, seed: 9)
        try LatentWidening.copy(from: narrow, into: wide)
        return (narrow, wide)
    }

    @Test func aWidenedModelStartsCloseToTheOriginal() throws {
        let (narrow, wide) = try Self.widened()
        let images = try HyperpriorModelTests.photoBatch()
        for level in 0..<2 {
            let before = try narrow.rateDistortion(images: images, level: level, training: false)
            let after = try wide.rateDistortion(images: images, level: level, training: false)
            #expect(abs(after.mse - before.mse) <= 0.1 * before.mse, "level \(level): MSE \(before.mse) → \(after.mse)")
            #expect(abs(after.hyperLatentBitsPerPixel - before.hyperLatentBitsPerPixel) <= 1e-6,
                    "level \(level): z changed")
            #expect(after.latentBitsPerPixel > before.latentBitsPerPixel, "level \(level): the new latents cost nothing, so they are all zero")
        }
        // The old channels' weights are carried over exactly; the new channels' readers are small but not zero.
        let gs = try #require(wide.parameters.first { $0.name == "g_s.0.weight" })
        let old = try #require(narrow.parameters.first { $0.name == "g_s.0.weight" })
        #expect(gs.shape == [16, 32, 5, 5] && old.shape == [16, 16, 5, 5])
        #expect(gs.value[0] == old.value[0] && gs.value[15 * 25] == old.value[15 * 25])
        let oldLargest = old.values().map(abs).max() ?? 0
        let newReaders = (0..<16).flatMap { o in (16..<32).map { i in abs(gs.value[(o * 32 + i) * 25 + 12]) } }
        #expect(newReaders.contains { $0 > 0 })
        #expect(newReaders.allSatisfy { $0 <= oldLargest })
    }

    /// The failure this guards against: zero readers and zero latents give the new channels no
    /// gradient on either side, so a widened run never uses them. g_a's new channels always get
    /// one (through the readers); g_s's readers get one once the new latents round to nonzero
    /// values, as they do at a trained model's quantiser steps (here: level 1's gains raised e³).
    @Test func theNewChannelsGetGradients() throws {
        let (_, wide) = try Self.widened()
        let gains = try #require(wide.parameters.first { $0.name == "gain.encoder" })
        for channel in 0..<32 { gains.value[32 + channel] += 3 }
        gains.markUpdated()
        for parameter in wide.parameters { parameter.zeroGradient() }
        _ = try wide.rateDistortion(images: HyperpriorModelTests.photoBatch(), level: 1, training: true)
        let gs = try #require(wide.parameters.first { $0.name == "g_s.0.weight" })
        let ga = try #require(wide.parameters.first { $0.name == "g_a.6.weight" })
        // g_s.0 is (out 16, in 32, 5, 5): the new channels are inputs 16..<32.
        let gsNew = (0..<16).flatMap { o in (16 * 25..<32 * 25).map { gs.gradient[o * 32 * 25 + $0] } }
        // g_a.6 is (out 32, in 16, 5, 5): the new channels are outputs 16..<32.
        let gaNew = (16 * 16 * 25..<32 * 16 * 25).map { ga.gradient[$0] }
        #expect(gsNew.contains { $0 != 0 }, "g_s's readers of the new channels got no gradient")
        #expect(gaNew.contains { $0 != 0 }, "g_a's new channels got no gradient")
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
