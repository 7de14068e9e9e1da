import Foundation
import Logging
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The model on real photo crops: the hyper path's gradients against finite differences, the
/// objective falling under training, and a checkpoint that resumes where it stopped.
@Suite(.serialized)
struct HyperpriorModelTests {
    static let tiny = HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [0.01, 0.05])
    static let photoFolder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/photos").path

    static func photoBatch() throws -> Tensor {
        let names = ["photo001-crop128.png", "photo007-crop128.png"]
        var values: [Float] = []
        for name in names {
            let image = try PNGReader.read(contentsOfFile: photoFolder + "/" + name).pixels
            var planar = [Float](repeating: 0, count: 3 * 64 * 64)
            TrainingImageSet.resample(image, left: 32, top: 32, window: 64, size: 64, flip: false, into: &planar, offset: 0)
            values += planar
        }
        return try Tensor(shape: TensorShape(n: 2, c: 3, h: 64, w: 64), values: values)
    }

    /// Distortion does not depend on h_a and h_s (the decoder sees round(y·g)), so with the noise
    /// fixed the objective is smooth in their weights and its gradient must match differences.
    @Test func hyperPathGradientsMatchFiniteDifferences() throws {
        let engine = try Engine(threads: 1)
        let model = try HyperpriorModel(configuration: Self.tiny, engine: engine, seed: 3)
        let images = try Self.photoBatch()
        func loss() throws -> Double {
            try model.rateDistortion(images: images, level: 1, training: true,
                                     latentNoise: UniformNoise(engine: engine, seed: 5),
                                     hyperNoise: UniformNoise(engine: engine, seed: 6)).loss
        }
        for p in model.parameters { p.zeroGradient() }
        _ = try model.rateDistortion(images: images, level: 1, training: true,
                                     latentNoise: UniformNoise(engine: engine, seed: 5),
                                     hyperNoise: UniformNoise(engine: engine, seed: 6))
        let checked = model.hyperSynthesis.parameters + model.hyperAnalysis.parameters.prefix(1) + [model.densityParameters]
        let compared = try Self.compareLargestGradients(of: checked, relativeStep: 2e-2, objective: loss)
        #expect(compared >= 20)
    }

    /// Compares the three largest analytic gradients of each parameter (already accumulated in
    /// `gradient`, well above float32 noise) with central differences of `objective` at steps of
    /// `relativeStep · max(1, |value|)`; returns how many were compared.
    static func compareLargestGradients(of parameters: [Parameter], relativeStep: Float,
                                        objective: () throws -> Double) throws -> Int {
        // Snapshot first: every training-mode evaluation below adds to the gradients again.
        let analyticGradients = parameters.map { $0.gradients() }
        var compared = 0
        for (p, gradient) in zip(parameters, analyticGradients) {
            for i in gradient.indices.sorted(by: { abs(gradient[$0]) > abs(gradient[$1]) }).prefix(3) {
                let analytic = Double(gradient[i])
                let saved = p.value[i], h = relativeStep * max(1, abs(saved))
                p.value[i] = saved + h; p.markUpdated()
                let up = try objective()
                p.value[i] = saved - h; p.markUpdated()
                let down = try objective()
                p.value[i] = saved; p.markUpdated()
                let numeric = (up - down) / Double(2 * h)
                #expect(abs(numeric - analytic) <= 0.1 * abs(numeric) + 1e-4,
                        "\(p.name)[\(i)]: analytic \(analytic), numeric \(numeric)")
                compared += 1
            }
        }
        return compared
    }

    @Test func trainingLowersTheObjectiveAndResumes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let logger = CodecFixtures.quietLogger
        let data = try TrainingImageSet(folders: [Self.photoFolder], minimumSide: 64, heldBackOneIn: 1000, logger: logger)
        #expect(data.training.count + data.validation.count == 3)
        var options = CodecFixtures.tinyTrainingOptions(steps: 60)
        let checkpoint = folder + "/run.ckpt"
        let trainer = try HyperpriorTrainer(options: options, configuration: Self.tiny, data: data,
                                            checkpointPath: checkpoint, resume: false, logger: logger)
        let images = try Self.photoBatch()
        let before = try trainer.model.rateDistortion(images: images, level: 1, training: false)
        try trainer.run(progress: { _ in })
        let after = try trainer.model.rateDistortion(images: images, level: 1, training: false)
        #expect(trainer.step == 60)
        #expect(after.loss < 0.7 * before.loss, "objective \(before.loss) → \(after.loss)")

        // Resuming restores the weights exactly and continues the step count.
        options.steps = 65
        let resumed = try HyperpriorTrainer(options: options, configuration: Self.tiny, data: data,
                                            checkpointPath: checkpoint, resume: true, logger: logger)
        #expect(resumed.step == 60)
        let again = try resumed.model.rateDistortion(images: images, level: 1, training: false)
        #expect(again.loss == after.loss)
        try resumed.run(progress: { _ in })
        #expect(resumed.step == 65)

        // The arithmetic and the validation interval follow this invocation, not the checkpoint
        // (`nacre train --resume --bf16 --validate-every N`).
        options.bf16 = true
        options.validationIntervalSteps = options.validationIntervalSteps + 7
        let inBF16 = try HyperpriorTrainer(options: options, configuration: Self.tiny, data: data,
                                           checkpointPath: checkpoint, resume: true, logger: logger)
        #expect(inBF16.engine.precision == .bf16)
        #expect(inBF16.options.validationIntervalSteps == options.validationIntervalSteps)
        options.bf16 = false
        let inF32 = try HyperpriorTrainer(options: options, configuration: Self.tiny, data: data,
                                          checkpointPath: checkpoint, resume: true, logger: logger)
        #expect(inF32.engine.precision == .f32)
    }

    @Test func decoderCostIsWithinTheBudget() {
        // The bar: ≤ 20 kMAC per pixel for the default decoder.
        let macs = HyperpriorConfiguration.standard.decoderMACsPerPixel
        #expect(macs < 20_000)
        #expect(macs > 10_000, "the count should include g_s's four layers (\(macs))")
    }
}
