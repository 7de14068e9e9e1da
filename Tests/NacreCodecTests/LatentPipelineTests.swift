import Foundation
import Testing
@testable import NacreCodec

/// The full decoder-side path the codec uses: record → z (factorized) → integer h_s → scale
/// indices → y (Gaussian), checked against the encoder side.
@Suite struct LatentPipelineTests {
    @Test func encodeAndDecodeThroughTheIntegerHyperSynthesis() throws {
        let zChannels = 8, yChannels = 12
        let floatLayers = try IntegerHyperSynthesisTests.randomFloatHyperSynthesis(zChannels: zChannels, hidden: 16, yChannels: yChannels, seed: 61)
        let z = try IntegerHyperSynthesisTests.randomZ(channels: zChannels, height: 2, width: 3, seed: 62)
        let hyper = try IntegerHyperSynthesis.quantizing(floatLayers, calibration: [z])
        let gaussian = try EntropyTables.gaussian()
        let pmfs = (0..<zChannels).map { _ in (-12...12).map { v in exp(-abs(Double(v)) / 4) / 8.2 } }
        let factorized = try EntropyTables.factorized(pmfs: pmfs, firstValues: .init(repeating: -12, count: zChannels))

        // Encoder side.
        let indices = try hyper.scaleIndices(for: z)
        var rng = SeededGenerator(seed: 63)
        let y = indices.map { rng.roughGaussian(sigma: EntropyTables.defaultGaussianScales[Int($0)]) }
        let (yHeight, yWidth) = try #require(hyper.outputSize(height: 2, width: 3))
        #expect(yHeight == 8 && yWidth == 12)
        let record = LatentBitstream(
            zShape: .init(channels: zChannels, height: 2, width: 3), yShape: .init(channels: yChannels, height: yHeight, width: yWidth),
            zStream: try LatentCoder.encodeFactorized(z.values, channelCount: zChannels, tables: factorized),
            yStream: try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: gaussian))
        let bytes = record.serialized()

        // Decoder side, from bytes and stored integer parameters only.
        let parsed = try LatentBitstream(serialized: bytes)
        let decodedZ = try LatentCoder.decodeFactorized(parsed.zStream, channelCount: parsed.zShape.channels,
                                                        elementCount: parsed.zShape.elementCount, tables: factorized)
        #expect(decodedZ == z.values)
        let storedHyper = try IntegerHyperSynthesis(serialized: hyper.serialized())
        let decodedIndices = try storedHyper.scaleIndices(for: try IntegerFeatureMap(
            channels: parsed.zShape.channels, height: parsed.zShape.height, width: parsed.zShape.width, values: decodedZ))
        #expect(decodedIndices == indices)
        let storedTables = try EntropyTables(serialized: gaussian.serialized())
        #expect(try LatentCoder.decodeGaussian(parsed.yStream, scaleIndices: decodedIndices, tables: storedTables) == y)
    }
}
