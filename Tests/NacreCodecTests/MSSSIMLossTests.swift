import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The MS-SSIM training objective: the same number as the evaluation metric, and a gradient that
/// agrees with finite differences.
struct MSSSIMLossTests {
    /// A 192×192 crop of a committed photo and a distorted copy (block-averaged plus a ramp), as
    /// 8-bit pixels and as planes in 0…1.
    static func pair() throws -> (PixelBuffer, PixelBuffer) {
        let photo = try PNGReader.read(contentsOfFile: CodecFixtures.photoFolder + "/photo001-crop128.png").pixels
        // The fixtures are 128 px: tile the crop 2×2 (mirrored) to 192 px so every scale fits.
        let side = 192
        var rgb = [UInt8](repeating: 0, count: side * side * 3), distorted = rgb
        for y in 0..<side {
            for x in 0..<side {
                let sx = x < 128 ? x : 255 - x, sy = y < 128 ? y : 255 - y
                for c in 0..<3 {
                    let v = photo.rgb[(sy * 128 + sx) * 3 + c]
                    rgb[(y * side + x) * 3 + c] = v
                    let block = photo.rgb[((sy / 4 * 4) * 128 + sx / 4 * 4) * 3 + c]
                    distorted[(y * side + x) * 3 + c] = UInt8(min(255, (Int(v) + Int(block)) / 2 + x / 24))
                }
            }
        }
        return (try PixelBuffer(width: side, height: side, rgb: rgb), try PixelBuffer(width: side, height: side, rgb: distorted))
    }

    static func planes(_ image: PixelBuffer) -> [Float] {
        let plane = image.pixelCount
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane { for c in 0..<3 { out[c * plane + i] = Float(image.rgb[3 * i + c]) / 255 } }
        return out
    }

    @Test func valueMatchesTheEvaluationMetric() throws {
        let (reference, distorted) = try Self.pair()
        let metric = try MSSSIM.compute(reference: reference, distorted: distorted)
        let loss = MSSSIMLoss.evaluate(reconstruction: Self.planes(distorted), target: Self.planes(reference),
                                       planes: 3, height: 192, width: 192)
        let mean = loss.values.reduce(0, +) / 3
        #expect(metric < 0.99, "the distortion must be visible to MS-SSIM: \(metric)")
        #expect(abs(mean - metric) < 2e-5, "training objective \(mean) vs metric \(metric)")
    }

    @Test func gradientAgreesWithFiniteDifferences() throws {
        let (reference, distorted) = try Self.pair()
        let target = Self.planes(reference), x = Self.planes(distorted)
        let evaluation = MSSSIMLoss.evaluate(reconstruction: x, target: target, planes: 3, height: 192, width: 192)
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<3 {
            let direction = x.map { _ in Float(Int.random(in: 0...1, using: &generator) * 2 - 1) }
            let step: Float = 2e-3
            let plus = zip(x, direction).map { $0 + step * $1 }, minus = zip(x, direction).map { $0 - step * $1 }
            let value = { (v: [Float]) in
                MSSSIMLoss.evaluate(reconstruction: v, target: target, planes: 3, height: 192, width: 192).values.reduce(0, +)
            }
            let numeric = (value(plus) - value(minus)) / Double(2 * step)
            let analytic = zip(evaluation.gradient, direction).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            #expect(abs(numeric - analytic) <= 0.02 * abs(numeric) + 1e-4, "numeric \(numeric) vs analytic \(analytic)")
        }
    }
}

/// The MS-SSIM objective inside the model: a few Adam steps on one real 192-px image raise its
/// MS-SSIM and lower the objective, and the measurement reports the same MS-SSIM as the metric.
struct MSSSIMObjectiveTests {
    @Test func trainingStepsOnTheMSSSIMObjectiveImproveIt() throws {
        let engine = try Engine(threads: 1)
        let configuration = HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [60])
        let model = try HyperpriorModel(configuration: configuration, engine: engine, seed: 4)
        let (reference, _) = try MSSSIMLossTests.pair()
        let images = try Tensor(shape: TensorShape(n: 1, c: 3, h: 192, w: 192), values: MSSSIMLossTests.planes(reference))
        let optimizer = Adam(parameters: model.parameters, settings: Adam.Settings(
            schedule: LearningRateSchedule(base: 3e-3), maxGradientNorm: 5))
        let before = try model.rateDistortion(images: images, level: 0, training: false, distortion: .msssim)
        for step in 0..<12 {
            optimizer.zeroGradients()
            _ = try model.rateDistortion(images: images, level: 0, training: true,
                                         latentNoise: UniformNoise(engine: engine, seed: UInt64(step)),
                                         hyperNoise: UniformNoise(engine: engine, seed: UInt64(step + 100)), distortion: .msssim)
            _ = try optimizer.step()
        }
        let after = try model.rateDistortion(images: images, level: 0, training: false, distortion: .msssim)
        let (b, a) = (try #require(before.msssim), try #require(after.msssim))
        #expect(after.loss < before.loss, "objective \(before.loss) → \(after.loss)")
        #expect(a > b, "MS-SSIM \(b) → \(a)")
        #expect(throws: CodecError.self) {
            try model.rateDistortion(images: try Tensor(zeros: TensorShape(n: 1, c: 3, h: 128, w: 128)), level: 0,
                                     training: false, distortion: .msssim)
        }
    }
}
