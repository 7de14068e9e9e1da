import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The mean-scale hyperprior: h_s's mean head trains with correct gradients, a scale-only model
/// gains one keeping its z, and a mean model codes the residual and decodes it
/// through its own decoder bytes (docs/MODEL.md).
@Suite(.serialized)
struct MeanScaleTests {
    static let tiny = HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [0.005, 0.02, 0.08],
                                              predictsMeans: true)

    /// A tiny mean model trained for a few dozen steps on the committed crops, exported and
    /// calibrated on them.
    static let trainedModelBytes = Result<[UInt8], any Error> {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-means-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let logger = CodecFixtures.quietLogger
        let data = try TrainingImageSet(folders: [CodecFixtures.photoFolder], minimumSide: 64, heldBackOneIn: 1000, logger: logger)
        let trainer = try HyperpriorTrainer(options: CodecFixtures.tinyTrainingOptions(steps: 40), configuration: tiny, data: data,
                                            checkpointPath: folder + "/run.ckpt", resume: false, logger: logger)
        try trainer.run(progress: { _ in })
        return try CodecModel.exporting(from: trainer.model, calibrationImages: try (0..<3).map(CodecFixtures.photo),
                                        info: ["purpose": "tests"]).serialized()
    }

    static func meanModel(threads: Int = 1) throws -> CodecModel {
        try CodecModel.load(try trainedModelBytes.get(), engine: try Engine(threads: threads))
    }

    /// With λ tiny the objective is the rate alone, which is smooth in everything that feeds μ
    /// (the noise fixed); the decoder path's straight-through rounding gives μ no gradient, as in
    /// CompressAI's mean-scale model, and is switched off this way.
    @Test func meanPathGradientsMatchFiniteDifferences() throws {
        let engine = try Engine(threads: 1)
        var configuration = Self.tiny
        configuration.lambdas = [1e-9]
        let model = try HyperpriorModel(configuration: configuration, engine: engine, seed: 3)
        let head = try #require(model.meanSynthesis)
        var random = SeededRandom(seed: 9)
        for p in head.parameters { try p.setValues((0..<p.count).map { _ in random.symmetric(0.2) }) }
        let images = try HyperpriorModelTests.photoBatch()
        func evaluate() throws -> Double {
            try model.rateDistortion(images: images, level: 0, training: true,
                                     latentNoise: UniformNoise(engine: engine, seed: 5),
                                     hyperNoise: UniformNoise(engine: engine, seed: 6)).loss
        }
        for p in model.parameters { p.zeroGradient() }
        _ = try evaluate()
        let checked = head.parameters + model.hyperSynthesis.parameters.prefix(2) + model.hyperAnalysis.parameters.prefix(1)
            + model.analysis.parameters.suffix(1) + [model.encoderLogGains]
        #expect(checked[0].gradients().contains { $0 != 0 }, "the mean head got no gradient")
        // Small steps: a gain moves every scale, and larger steps cross the scale floor's kink.
        let compared = try HyperpriorModelTests.compareLargestGradients(of: checked, relativeStep: 1e-3, objective: evaluate)
        #expect(compared >= 12)
    }

    /// `nacre train --init MODEL --means`: h_a's new weights on y start at zero, so z is the
    /// scale-only model's exactly, and the small new head moves the objective only a little.
    @Test func aScaleOnlyModelGainsAMeanHeadKeepingItsHyperLatent() throws {
        let engine = try Engine(threads: 1)
        let scaleOnly = try CodecFixtures.tinyModel()
        var configuration = scaleOnly.configuration
        configuration.predictsMeans = true
        let grown = try HyperpriorModel(configuration: configuration, engine: engine)
        try LatentWidening.copy(from: scaleOnly.network, into: grown)
        let images = try HyperpriorModelTests.photoBatch()
        let y = try scaleOnly.network.analysis.forward(images, training: false)
        let zBefore = try scaleOnly.network.hyperAnalysis.forward(scaleOnly.network.hyperAnalysisInput(y), training: false).values()
        let zAfter = try grown.hyperAnalysis.forward(grown.hyperAnalysisInput(y), training: false).values()
        #expect(zBefore == zAfter)
        for level in 0..<configuration.levelCount {
            let before = try scaleOnly.network.rateDistortion(images: images, level: level, training: false)
            let after = try grown.rateDistortion(images: images, level: level, training: false)
            #expect(abs(after.loss - before.loss) <= 0.05 * before.loss, "level \(level): \(before.loss) → \(after.loss)")
        }
        let head = grown.meanSynthesis!.weight.values()
        #expect(head.contains { $0 != 0 } && head.allSatisfy { abs($0) < 0.05 })
    }

    /// The encoder codes round(y·g − μ·g) and the decoder adds μ·g back: the symbols are the
    /// residual against the float network's own means and the pixels are g_s of symbols + μ·g
    /// (the integer h_s's features give the same μ up to float drift), a decoder-only copy (f32 or
    /// int8) decodes the same symbols, and zeroing the head changes the pixels (μ is really used).
    @Test func aMeanModelCodesTheResidualAndDecodesFromItsDecoderBytes() throws {
        let model = try Self.meanModel()
        #expect(model.configuration.predictsMeans && model.meanHeadInputStep != nil)
        #expect(model.network.meanSynthesis!.weight.values().contains { $0 != 0 })
        let photo = try CodecFixtures.photo(1)
        let engine = model.network.engine
        for quality in [1.0, 100.0] {
            let encoded = try model.encode(photo, quality: quality, tileSide: 0)
            let tile = try model.analyze(photo, tileSide: 0).tiles[0]
            let position = try QualityPosition(quality: quality, levelCount: model.configuration.levelCount)
            let (encoderGains, decoderGains) = model.gains(at: position)
            let z = try Tensor(shape: TensorShape(n: 1, c: tile.z.channels, h: tile.z.height, w: tile.z.width),
                               values: tile.z.values.map(Float.init))
            let floatMeans = try engine.multiplyChannels(try #require(model.network.hyperSynthesize(z, training: false).mean),
                                                         gains: encoderGains).values()
            let expected = zip(try engine.multiplyChannels(tile.y, gains: encoderGains).values(), floatMeans).map { ($0 - $1).rounded() }
            let symbols = try model.decodeLatents(encoded).y.map(Float.init)
            let equal = zip(symbols, expected).filter { $0 == $1 }.count
            #expect(Double(equal) >= 0.99 * Double(symbols.count) && zip(symbols, expected).allSatisfy { abs($0 - $1) <= 1 },
                    "quality \(quality): \(equal) of \(symbols.count) symbols are the float residual's")
            let reference = try engine.multiplyChannels(
                try Tensor(shape: tile.y.shape, values: zip(symbols, floatMeans).map { $0 + $1 }), gains: decoderGains)
            let referencePixels = try ImagePadding.pixels(from: try model.network.synthesis.forward(reference, training: false),
                                                          width: photo.width, height: photo.height)

            let (image, latents) = try model.decodeWithLatents(encoded)
            #expect(try PSNR(reference: referencePixels, distorted: image).decibels > 45, "quality \(quality)")
            let decoderOnly = try CodecModel.load(model.decoderBytes(), engine: try Engine(threads: 2))
            #expect(decoderOnly.identifier == model.identifier && !decoderOnly.canEncode)
            let (again, againLatents) = try decoderOnly.decodeWithLatents(encoded)
            #expect(againLatents == latents)
            let drift = try PSNR(reference: image, distorted: again)
            #expect(drift.mse < 0.05, "decoder-only copy: MSE \(drift.mse) against the encoder's own decode")

            let int8 = try model.withDecoderPrecision(.int8)
            let int8Loaded = try CodecModel.load(int8.decoderBytes(), engine: try Engine(threads: 1))
            var relabelled = encoded
            relabelled.modelIdentifier = int8Loaded.identifier
            #expect(try int8Loaded.decodeLatents(relabelled) == latents)
            #expect(try PSNR(reference: image, distorted: try int8Loaded.decode(relabelled)).decibels > 40)

            let zeroed = try CodecModel.load(model.serialized(), engine: try Engine(threads: 1))
            for p in zeroed.network.meanSynthesis!.parameters { try p.setValues([Float](repeating: 0, count: p.count)) }
            #expect(try zeroed.decode(encoded).rgb != image.rgb, "quality \(quality): the means changed nothing")
        }
    }

    /// The flag and the head's input step are part of the format: a mean model's bytes say so, and
    /// a scale-only model's bytes (and identifier) are what they were before means existed.
    @Test func theFormatMarksMeanModels() throws {
        let model = try Self.meanModel()
        let bytes = model.decoderBytes()
        let flags = UInt16(bytes[6]) | UInt16(bytes[7]) << 8
        #expect(flags == CodecModel.meanFlag)
        #expect(CodecModel.decoderParameters(of: model.network).map(\.name).contains("h_s.mean.weight"))
        let scaleOnly = try CodecFixtures.tinyModel()
        #expect(scaleOnly.meanHeadInputStep == nil && scaleOnly.meanPathWeightMagnitudes() == nil)
        let magnitudes = try #require(model.meanPathWeightMagnitudes())
        #expect(magnitudes.head > 0 && magnitudes.hyperAnalysisOnY > 0 && magnitudes.hyperAnalysisOnMagnitude > 0)
        // `nacre bench ceiling`'s "means save" column: a mean model prices y without its means
        // too, and differently; a scale-only model has no such price.
        let photo = try CodecFixtures.photo(0)
        let priced = try model.estimatedBits(of: photo, quality: 50)
        #expect(try #require(priced.latentWithoutMeans) != priced.latent)
        #expect(try scaleOnly.estimatedBits(of: photo, quality: 50).latentWithoutMeans == nil)
        #expect(!CodecModel.decoderParameters(of: scaleOnly.network).contains { $0.name.hasPrefix("h_s.mean") || $0.name == "gain.encoder" })
    }
}
