import Foundation
import NacreEngine

/// Encoder-side latent refinement: a few gradient steps on the quantized latent y of one image
/// against the real objective R + λ·D, with the decoder frozen (Campos et al. 2019, "Content
/// adaptive optimization for neural image compression"). It closes part of the amortization gap
/// of g_a — the encoder is one network for all images, the refinement fits this image.
///
/// What moves: the gained latent u = y·g (in quantization bins). What stays: ẑ and therefore the
/// integer scale indices (so the bitstream and the decoder are exactly as without refinement),
/// g_s, and the gains. Rate: the Gaussian conditional with each element's coding-table scale,
/// on u plus uniform noise; distortion: g_s on round(u) with straight-through gradients; Adam
/// with a cosine-decayed step. The refined result is kept only if its measured objective (real
/// rounding, real decode) beats the unrefined one, so refinement never makes an image worse by
/// that measure. It costs one g_s forward and backward per iteration.
public struct LatentRefinement: Sendable, Hashable {
    /// Gradient steps per tile.
    public var iterations: Int
    /// Adam's initial step, in quantization bins.
    public var learningRate: Double

    public init(iterations: Int = 40, learningRate: Double = 0.05) {
        self.iterations = iterations
        self.learningRate = learningRate
    }

    /// What a refinement did to one tile.
    public struct Outcome: Sendable {
        /// Objective (bits/pixel + λ·MSE, estimated rate, measured MSE) before and after.
        public var objectiveBefore: Double
        public var objectiveAfter: Double
        /// Whether the refined latents were kept.
        public var kept: Bool
    }
}

extension CodecModel {
    /// λ at a quality position: log-linear between the neighbouring levels' λ (quality is linear in log λ).
    func lambda(at position: QualityPosition) -> Double {
        let lambdas = configuration.lambdas
        guard position.fraction > 0, position.level + 1 < lambdas.count else { return lambdas[position.level] }
        let w = Double(position.fraction) / 256
        return Foundation.exp(Foundation.log(lambdas[position.level]) * (1 - w) + Foundation.log(lambdas[position.level + 1]) * w)
    }

    /// Refines the gained latents `initial` (plain NCHW order, shape `shape`) of one tile whose
    /// padded input is `input` and whose real size is `width × height`. Returns the integer
    /// latents to code. For a mean model `initial` is the residual y·g − μ·g and `means` is μ·g,
    /// which the decoder adds back.
    func refine(_ initial: [Float], means: [Float]? = nil, shape: TensorShape, scaleIndices: [UInt8], input: Tensor, width: Int, height: Int,
                decoderGains: [Float], lambda: Double, settings: LatentRefinement) throws -> (latents: [Float], outcome: LatentRefinement.Outcome) {
        let engine = network.engine
        let synthesis = network.synthesis
        let pixels = Double(width * height)
        let sigma = scaleIndices.map { Float(HyperpriorModel.scaleTableStart * Foundation.exp(HyperpriorModel.scaleTableLogStep * Double($0))) }
        let plane = shape.h * shape.w
        // Distortion weight: the engine's gradient averages over the padded tensor; the objective
        // averages over the real pixels only (padding is masked out below).
        let distortionWeight = Float(lambda * 255 * 255 * Double(input.count) / (3 * pixels))

        func decoded(_ q: [Float], training: Bool) throws -> Tensor {
            let values = means.map { zip(q, $0).map { $0 + $1 } } ?? q
            let latent = try engine.multiplyChannels(try Tensor(shape: shape, values: values), gains: decoderGains)
            return try synthesis.forward(latent, training: training)
        }
        func objective(_ q: [Float]) throws -> Double {
            let xHat = try decoded(q, training: false)
            let bits = q.withUnsafeBufferPointer { values in
                sigma.withUnsafeBufferPointer { scales in
                    GaussianConditionalRate.bits(values: values, scales: scales, valueGradients: nil, scaleGradients: nil)
                }
            }
            return bits / pixels + lambda * Self.maskedMSE(xHat, input, width: width, height: height) * 255 * 255
        }

        var u = initial
        var first = [Float](repeating: 0, count: u.count), second = first
        var rateGradient = [Float](repeating: 0, count: u.count)
        var noisy = u
        var random = SeededRandom(seed: 0x5EED_0F_1A7E)
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8)
        for step in 0..<settings.iterations {
            let q = u.map { $0.rounded() }
            let xHat = try decoded(q, training: true)
            let dXHat = try engine.meanSquaredErrorGradient(xHat, input, weight: distortionWeight)
            Self.maskPadding(dXHat, width: width, height: height)
            guard let dLatent = try synthesis.backward(dXHat) else {
                throw CodecError(code: .internalInconsistency, message: "g_s returned no input gradient")
            }
            let distortionGradient = dLatent.values()
            for i in u.indices { noisy[i] = u[i] + random.symmetric(0.5) }
            _ = noisy.withUnsafeBufferPointer { values in
                sigma.withUnsafeBufferPointer { scales in
                    rateGradient.withUnsafeMutableBufferPointer { gradient in
                        GaussianConditionalRate.bits(values: values, scales: scales, valueGradients: gradient, scaleGradients: nil)
                    }
                }
            }
            let rate = Double(step + 1)
            let stepSize = settings.learningRate * 0.5 * (1 + Foundation.cos(Double.pi * Double(step) / Double(settings.iterations)))
            let correction1 = 1 - Foundation.pow(beta1, rate), correction2 = 1 - Foundation.pow(beta2, rate)
            for i in u.indices {
                let channel = (i / plane) % shape.c
                let g = Double(distortionGradient[i] * decoderGains[channel]) + Double(rateGradient[i]) / pixels
                first[i] = Float(beta1 * Double(first[i]) + (1 - beta1) * g)
                second[i] = Float(beta2 * Double(second[i]) + (1 - beta2) * g * g)
                let mHat = Double(first[i]) / correction1, vHat = Double(second[i]) / correction2
                u[i] -= Float(stepSize * mHat / (vHat.squareRoot() + epsilon))
            }
        }
        // The frozen decoder's parameters collected gradients; leave them as they were.
        for parameter in synthesis.parameters { parameter.zeroGradient() }

        let start = initial.map { $0.rounded() }, refined = u.map { $0.rounded() }
        let before = try objective(start), after = try objective(refined)
        let kept = after < before
        return (kept ? refined : start, LatentRefinement.Outcome(objectiveBefore: before, objectiveAfter: after, kept: kept))
    }

    /// Zeroes the gradient outside the real `width × height` area of a 1×3×H×W plain tensor.
    static func maskPadding(_ gradient: Tensor, width: Int, height: Int) {
        let (h, w) = (gradient.shape.h, gradient.shape.w)
        guard width < w || height < h else { return }
        for c in 0..<gradient.shape.c {
            for row in 0..<h {
                for column in 0..<w where row >= height || column >= width {
                    gradient[0, c, row, column] = 0
                }
            }
        }
    }

    /// Mean squared error (0…1 scale) over the real `width × height` area.
    static func maskedMSE(_ a: Tensor, _ b: Tensor, width: Int, height: Int) -> Double {
        var sum = 0.0
        for c in 0..<a.shape.c {
            for row in 0..<height {
                for column in 0..<width {
                    let d = Double(a[0, c, row, column] - b[0, c, row, column])
                    sum += d * d
                }
            }
        }
        return sum / Double(a.shape.c * width * height)
    }
}
