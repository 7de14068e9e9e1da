import Foundation
import NacreEngine

/// What one pass of the rate-distortion objective measured on a batch.
public struct RateDistortionMeasurement: Sendable {
    /// Quality level the batch was coded at.
    public var level: Int
    /// Estimated bits per pixel of y (from the Gaussian conditional).
    public var latentBitsPerPixel: Double
    /// Estimated bits per pixel of z (from the factorized density).
    public var hyperLatentBitsPerPixel: Double
    /// Mean squared error on the 0…255 scale.
    public var mse: Double
    /// Mean MS-SSIM of the batch's image planes, when the objective is MS-SSIM.
    public var msssim: Double?
    /// The objective: bits/pixel + λ · MSE, or bits/pixel + λ · (1 − MS-SSIM).
    public var loss: Double

    /// Total estimated bits per pixel.
    public var bitsPerPixel: Double { latentBitsPerPixel + hyperLatentBitsPerPixel }
    /// PSNR of the batch's pooled MSE.
    public var psnr: Double { 10 * Foundation.log10(255 * 255 / max(mse, 1e-10)) }
}

/// What the training objective measures distortion with.
public enum DistortionMetric: String, Codable, Sendable, CaseIterable {
    /// Mean squared error on the 0…255 scale (λ ≈ 0.0018…0.18, CompressAI's MSE levels).
    case mse
    /// 1 − MS-SSIM (λ ≈ 2.4…220, CompressAI's MS-SSIM levels); crops of at least 176 px.
    case msssim = "ms-ssim"

    /// The default λ range of the metric's levels.
    public var defaultLambdaRange: (low: Double, high: Double) {
        switch self {
        case .mse: return (0.0018, 0.18)
        case .msssim: return (2.40, 220.0)
        }
    }
}

extension HyperpriorModel {
    /// Runs the objective on `images` (N×3×H×W, values in 0…1, H and W multiples of 64) at a
    /// quality level. In training mode the latents get additive uniform noise for the rate
    /// terms and straight-through rounding for the decoder, and the gradients of the objective
    /// are *added* to every parameter's gradient (zero them first). Otherwise latents are
    /// rounded and nothing is differentiated: the rate is then the model's own estimate of
    /// what the entropy coder will spend.
    public func rateDistortion(
        images x: Tensor, level: Int, training: Bool, latentNoise: UniformNoise? = nil, hyperNoise: UniformNoise? = nil,
        distortion metric: DistortionMetric = .mse
    ) throws -> RateDistortionMeasurement {
        guard (0..<configuration.levelCount).contains(level) else {
            throw CodecError(code: .invalidArgument, message: "quality level \(level) is outside 0..<\(configuration.levelCount)")
        }
        let lambda = configuration.lambdas[level]
        let pixels = Double(x.shape.n * x.shape.h * x.shape.w)

        // Forward.
        let y = try analysis.forward(x, training: training)
        let z = try hyperAnalysis.forward(hyperAnalysisInput(y), training: training)
        let zTilde = training ? try (hyperNoise ?? UniformNoise(engine: engine, seed: 2)).forward(z, training: true) : engine.round(z)
        let (scaleIndex, mean) = try hyperSynthesize(zTilde, training: training)
        let sigma = scale(fromIndex: scaleIndex)
        let encoderGains = encoderGains(level: level), decoderGains = decoderGains(level: level)
        let yGained = try engine.multiplyChannels(y, gains: encoderGains)
        // A mean model codes the residual y·g − μ·g and reconstructs round(residual) + μ·g.
        let meanGained = try mean.map { try engine.multiplyChannels($0, gains: encoderGains) }
        let residual = try meanGained.map { try engine.subtract(yGained, $0) } ?? yGained
        let rounded = engine.round(residual)
        let yRate = training ? try (latentNoise ?? UniformNoise(engine: engine, seed: 3)).forward(residual, training: true) : rounded
        let sigmaGained = try engine.multiplyChannels(sigma, gains: encoderGains)
        let yHat = try meanGained.map { try engine.add(rounded, $0) } ?? rounded
        let yDecoder = try engine.multiplyChannels(yHat, gains: decoderGains)
        let xHat = try synthesis.forward(yDecoder, training: training)
        let mse = try engine.meanSquaredError(xHat, x) * 255 * 255
        var msssim: Double?
        var msssimGradient: [Float] = []
        if metric == .msssim {
            guard MSSSIMLoss.accepts(height: x.shape.h, width: x.shape.w) else {
                throw CodecError(code: .invalidArgument,
                                 message: "MS-SSIM training needs crops of at least \(MSSSIMLoss.minimumSide) px with sides that are multiples of 16, got \(x.shape.w)×\(x.shape.h)")
            }
            let planes = x.shape.n * x.shape.c
            let evaluation = MSSSIMLoss.evaluate(reconstruction: xHat.values(), target: x.values(), planes: planes,
                                                 height: x.shape.h, width: x.shape.w)
            msssim = evaluation.values.reduce(0, +) / Double(planes)
            msssimGradient = evaluation.gradient
        }
        let distortionTerm = msssim.map { lambda * (1 - $0) } ?? lambda * mse

        // Rates.
        let dYRate = training ? try Tensor(zeros: yRate.shape) : nil
        let dSigmaGained = training ? try Tensor(zeros: sigmaGained.shape) : nil
        let latentBits = GaussianConditionalRate.bits(
            values: UnsafeBufferPointer(start: yRate.data, count: yRate.count),
            scales: UnsafeBufferPointer(start: sigmaGained.data, count: sigmaGained.count),
            valueGradients: dYRate.map { UnsafeMutableBufferPointer(start: $0.data, count: $0.count) },
            scaleGradients: dSigmaGained.map { UnsafeMutableBufferPointer(start: $0.data, count: $0.count) })
        let zValues = zTilde.values()
        let channelOf = Self.channelIndices(of: zTilde.shape)
        let densityNow = density
        let zEvaluation = densityNow.likelihoods(values: zValues, channelOf: channelOf)
        let hyperBits = zEvaluation.likelihoods.reduce(0) { $0 - Foundation.log2($1) }

        let measurement = RateDistortionMeasurement(
            level: level, latentBitsPerPixel: latentBits / pixels, hyperLatentBitsPerPixel: hyperBits / pixels,
            mse: mse, msssim: msssim, loss: (latentBits + hyperBits) / pixels + distortionTerm)
        guard training, let dYRate, let dSigmaGained else { return measurement }

        // Backward, in reverse order of the forward.
        let perPixel = Float(1 / pixels)
        let dXHat: Tensor
        if metric == .msssim {
            // d(λ·(1 − mean MS-SSIM))/dx̂ = −λ / planes · d(MS-SSIM of the plane)/dx̂.
            let k = Float(-lambda / Double(x.shape.n * x.shape.c))
            dXHat = try Tensor(shape: xHat.shape, values: msssimGradient.map { $0 * k })
        } else {
            dXHat = try engine.meanSquaredErrorGradient(xHat, x, weight: Float(lambda * 255 * 255))
        }
        guard let dYDecoder = try synthesis.backward(dXHat) else {
            throw CodecError(code: .internalInconsistency, message: "g_s returned no input gradient")
        }
        let (dYHat, dDecoderGains) = try engine.multiplyChannelsBackward(dYDecoder, yHat, gains: decoderGains)
        // Straight-through rounding for the decoder path; identity through the noise for the rate.
        let dYGained = try engine.add(dYHat, engine.scale(dYRate, by: perPixel))
        let (dY, dEncoderGainsFromY) = try engine.multiplyChannelsBackward(dYGained, y, gains: encoderGains)
        let (dSigma, dEncoderGainsFromSigma) = try engine.multiplyChannelsBackward(
            engine.scale(dSigmaGained, by: perPixel), sigma, gains: encoderGains)
        // μ·g reaches the loss only through the rate (−1 there); on the decoder path the
        // straight-through rounding passes +1 and the added μ·g −1 back, which cancel.
        var dMean: Tensor?
        var dEncoderGainsFromMean = [Float](repeating: 0, count: configuration.latentChannels)
        if let mean {
            (dMean, dEncoderGainsFromMean) = try engine.multiplyChannelsBackward(
                engine.scale(dYRate, by: -perPixel), mean, gains: encoderGains)
        }
        let dZTildeFromSigma = try hyperSynthesisBackward(
            scaleIndex: scaleFromIndexBackward(dSigma, index: scaleIndex, sigma: sigma), mean: dMean)
        // Rate of z: d(−log₂ p)/dp = −1/(p ln 2).
        let likelihoodWeights = zEvaluation.likelihoods.map { -1 / ($0 * M_LN2 * pixels) }
        let dZFromRate = zip(zEvaluation.valueGradients, likelihoodWeights).map { Float($0 * $1) }
        let dZ = try engine.add(dZTildeFromSigma, Tensor(shape: zTilde.shape, values: dZFromRate))
        var densityGradient = [Float](repeating: 0, count: densityParameters.count)
        densityNow.backward(zEvaluation, likelihoodWeights: likelihoodWeights, gradient: &densityGradient)
        for i in densityGradient.indices { densityParameters.gradient[i] += densityGradient[i] }
        guard let dHyperInput = try hyperAnalysis.backward(dZ) else {
            throw CodecError(code: .internalInconsistency, message: "h_a returned no input gradient")
        }
        try engine.addInPlace(dY, hyperAnalysisInputBackward(dHyperInput, y: y))
        _ = try analysis.backward(dY)

        // Log-gain gradients: d/da = d/dg · g.
        let m = configuration.latentChannels
        for c in 0..<m {
            encoderLogGains.gradient[level * m + c] += (dEncoderGainsFromY[c] + dEncoderGainsFromSigma[c] + dEncoderGainsFromMean[c])
                * encoderGains[c]
            decoderLogGains.gradient[level * m + c] += dDecoderGains[c] * decoderGains[c]
        }
        return measurement
    }

    /// Channel of each element of a tensor read in plain NCHW order.
    static func channelIndices(of shape: TensorShape) -> [Int32] {
        var out = [Int32](); out.reserveCapacity(shape.count)
        let plane = shape.h * shape.w
        for _ in 0..<shape.n { for c in 0..<shape.c { out += repeatElement(Int32(c), count: plane) } }
        return out
    }
}
