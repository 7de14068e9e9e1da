import Foundation
import NacreEngine
import Testing
@testable import NacreCodec

/// The exported integer h_s: its float reference matches the engine's h_s (weight layouts), and its
/// fixed-point index plus the integer gain offset tracks the float index σ·g within one step.
@Suite struct FixedPointScaleIndexTests {
    @Test func referenceLayersMatchTheEnginesHyperSynthesis() throws {
        let model = try CodecFixtures.tinyModel()
        let z = try CodecModel.quantizedHyperLatent(of: ImagePadding.tensor(from: CodecFixtures.photo(1)),
                                                    network: model.network, range: -127...127)
        let engineOutput = try model.network.hyperSynthesis.forward(
            Tensor(shape: TensorShape(n: 1, c: z.channels, h: z.height, w: z.width), values: z.values.map(Float.init)),
            training: false).values()
        var map = FloatFeatureMap(z)
        for layer in try CodecModel.floatHyperSynthesisLayers(of: model.network) { map = try layer.forward(map) }
        #expect(map.values.count == engineOutput.count)
        let worst = zip(map.values, engineOutput).map { abs($0 - $1) }.max() ?? 0
        let scale = engineOutput.map { abs($0) }.max() ?? 1
        #expect(worst <= 1e-3 * max(scale, 1), "largest difference \(worst) on outputs up to \(scale)")
    }

    @Test func integerIndicesTrackTheFloatIndexWithGains() throws {
        let model = try CodecFixtures.tinyModel()
        let photos = try (0..<3).map(CodecFixtures.photo)
        for quality in [1.0, 37.5, 100] {
            let agreement = try model.scaleIndexAgreement(on: photos, quality: quality)
            #expect(agreement.maximumDifference <= 1, "quality \(quality): \(agreement)")
            #expect(agreement.equal > 0.9, "quality \(quality): \(agreement)")
        }
    }

    @Test func fixedPointNetworkSerialisesAsVersionTwo() throws {
        let model = try CodecFixtures.tinyModel()
        let bytes = model.hyperSynthesis.serialized()
        #expect(bytes[4] == 2 && bytes[5] == 0)
        let loaded = try IntegerHyperSynthesis(serialized: bytes)
        #expect(loaded == model.hyperSynthesis)
        #expect(loaded.indexFractionBits == 8 && loaded.indexCount == 64)
    }
}
