import Foundation
import NacreEngine

/// The learned transform codec: a scale hyperprior (Ballé et al. 2018) with per-level gain
/// vectors on the latent channels for variable rate (Cui et al. 2021).
///
/// - g_a: 4 × (5×5 stride-2 convolution), GDN between: image → y (M channels, 1/16 side).
/// - h_a: 3×3 conv, ReLU, 5×5/2 conv, ReLU, 5×5/2 conv on |y| → z (N channels, 1/64 side).
/// - h_s: 5×5/2 transposed conv, ReLU, 5×5/2 transposed conv, ReLU, 3×3 conv → t, the
///   continuous index of y's scale in the coding table: σ = σ₀·exp(Δ·t) (see `scale(fromIndex:)`).
/// - g_s: 4 × (5×5 stride-2 transposed convolution), IGDN between: ŷ → image.
///
/// Quality level l multiplies y by the encoder gain exp(a_l) (per channel) before quantisation
/// and ŷ by the decoder gain exp(b_l) before g_s. z does not depend on the level, and the
/// scale of the gained latent is σ·exp(a_l); so the decoder's integer scale index can add an
/// integer log-gain to an integer log-scale. Gains are stored as logs, which keeps them
/// positive and makes the interpolation between levels exponential, as Cui et al. propose.
///
/// h_s predicts the scale in the coding table's own log units, so the decoder's integer h_s
/// computes a table index in fixed point, adds the level's integer log-gain offset
/// ln(g)/Δ and rounds: no floating point decides which table codes an element.
///
/// With `configuration.predictsMeans`, a second 3×3 head `h_s.mean` reads the same hidden
/// features as h_s's last layer and predicts y's mean μ (mean-scale hyperprior, Minnen et al.
/// 2018). The coder codes round(y·g − μ·g) and the decoder adds μ·g back; only the scale decides
/// a probability, so μ may stay float. h_a then reads (|y|, y), channels stacked: the means need
/// y's sign, which |y| alone drops (Minnen et al.'s h_a reads y). h_a's weights on y start at
/// zero and the head small (`meanHeadInitialScale`), so a scale-only model gains them with its z
/// unchanged and its output almost so.
public final class HyperpriorModel {
    public let configuration: HyperpriorConfiguration
    public let engine: Engine
    public let analysis: Sequential
    public let hyperAnalysis: Sequential
    public let hyperSynthesis: Sequential
    public let synthesis: Sequential
    /// The mean head (nil for a scale-only model): h_s's last hidden features → μ (M channels).
    public let meanSynthesis: Conv2D?
    /// h_s without its last layer: the hidden features both heads read.
    let hyperSynthesisTrunk: Sequential
    /// h_s's last layer: hidden features → scale index.
    let scaleHead: any Layer
    /// log encoder gains, [levels, M].
    public let encoderLogGains: Parameter
    /// log decoder gains, [levels, M].
    public let decoderLogGains: Parameter
    /// Parameters of the factorized density of z (see `FactorizedDensity`), flat.
    public let densityParameters: Parameter
    /// Shape of the density (its parameters live in `densityParameters`).
    let densityTemplate: FactorizedDensity

    /// Builds a model with a deterministic initialisation from `seed`.
    public init(configuration: HyperpriorConfiguration = .standard, engine: Engine, seed: UInt64 = 1) throws {
        self.configuration = configuration
        self.engine = engine
        let n = configuration.hiddenChannels, m = configuration.latentChannels
        var rng = SeededRandom(seed: seed)
        func conv(_ name: String, _ i: Int, _ o: Int, _ k: Int, _ s: Int, first: Bool = false) throws -> Conv2D {
            try Conv2D(engine: engine, name: name, inChannels: i, outChannels: o, kernel: k, stride: s,
                       computesInputGradient: !first, rng: &rng)
        }
        func deconv(_ name: String, _ i: Int, _ o: Int) throws -> ConvTranspose2D {
            try ConvTranspose2D(engine: engine, name: name, inChannels: i, outChannels: o, kernel: 5, stride: 2, rng: &rng)
        }
        analysis = Sequential([
            try conv("g_a.0", 3, n, 5, 2, first: true), try GDN(engine: engine, name: "g_a.1", channels: n),
            try conv("g_a.2", n, n, 5, 2), try GDN(engine: engine, name: "g_a.3", channels: n),
            try conv("g_a.4", n, n, 5, 2), try GDN(engine: engine, name: "g_a.5", channels: n),
            try conv("g_a.6", n, m, 5, 2),
        ])
        // A mean model's h_a reads y beside |y|: |y| alone hides the sign that the means predict.
        let hyperInput = configuration.predictsMeans ? 2 * m : m
        hyperAnalysis = Sequential([
            try conv("h_a.0", hyperInput, n, 3, 1), ReLU(engine: engine),
            try conv("h_a.2", n, n, 5, 2), ReLU(engine: engine),
            try conv("h_a.4", n, n, 5, 2),
        ])
        hyperSynthesis = Sequential([
            try deconv("h_s.0", n, n), ReLU(engine: engine),
            try deconv("h_s.2", n, n), ReLU(engine: engine),
            try conv("h_s.4", n, m, 3, 1),
        ])
        hyperSynthesisTrunk = Sequential(Array(hyperSynthesis.layers.dropLast()))
        scaleHead = hyperSynthesis.layers[hyperSynthesis.layers.count - 1]
        if configuration.predictsMeans {
            // Small but not zero: with a zero head, h_s's features get no gradient from the means,
            // so a grown model's z never learns y's sign, and the head, reading features without it,
            // learns nothing either (measured: a zero-started head was at mean |w| 0.0007 after 3,042
            // steps; BENCHMARKS.md, mean-scale).
            let head = try conv("h_s.mean", n, m, 3, 1)
            try head.weight.setValues(head.weight.values().map { $0 * Self.meanHeadInitialScale })
            try head.bias?.setValues([Float](repeating: 0, count: m))
            meanSynthesis = head
        } else {
            meanSynthesis = nil
        }
        synthesis = Sequential([
            try deconv("g_s.0", m, n), try GDN(engine: engine, name: "g_s.1", channels: n, inverse: true),
            try deconv("g_s.2", n, n), try GDN(engine: engine, name: "g_s.3", channels: n, inverse: true),
            try deconv("g_s.4", n, n), try GDN(engine: engine, name: "g_s.5", channels: n, inverse: true),
            try deconv("g_s.6", n, 3),
        ])
        // Start gains at √(λ_l / λ_mid): the MSE-optimal quantiser step scales as 1/√λ.
        let levels = configuration.levelCount
        let middle = configuration.lambdas[levels / 2]
        encoderLogGains = Parameter(name: "gain.encoder", shape: [levels, m])
        decoderLogGains = Parameter(name: "gain.decoder", shape: [levels, m])
        for l in 0..<levels {
            let logGain = Float(0.5 * Foundation.log(configuration.lambdas[l] / middle))
            for c in 0..<m {
                encoderLogGains.value[l * m + c] = logGain
                decoderLogGains.value[l * m + c] = -logGain
            }
        }
        densityTemplate = FactorizedDensity(channels: n, seed: seed &+ 17)
        densityParameters = Parameter(name: "density.z", shape: [densityTemplate.parameters.count])
        try densityParameters.setValues(densityTemplate.parameters)
    }

    /// The mean head's initial weights are its random initialisation times this.
    static let meanHeadInitialScale: Float = 0.1

    /// Every trainable parameter, in a stable order (weights files and the optimizer use it).
    public var parameters: [Parameter] {
        analysis.parameters + hyperAnalysis.parameters + hyperSynthesis.parameters + synthesis.parameters
            + [encoderLogGains, decoderLogGains, densityParameters] + (meanSynthesis?.parameters ?? [])
    }

    /// h_a's input: |y|, or for a mean model |y| and y stacked along the channels.
    func hyperAnalysisInput(_ y: Tensor) throws -> Tensor {
        let magnitude = engine.abs(y)
        guard meanSynthesis != nil else { return magnitude }
        let shape = y.shape, block = shape.c * shape.h * shape.w
        let magnitudes = magnitude.values(), signed = y.values()
        var stacked = [Float](); stacked.reserveCapacity(2 * y.count)
        for n in 0..<shape.n {
            stacked += magnitudes[(n * block)..<((n + 1) * block)]
            stacked += signed[(n * block)..<((n + 1) * block)]
        }
        return try Tensor(shape: TensorShape(n: shape.n, c: 2 * shape.c, h: shape.h, w: shape.w), values: stacked)
    }

    /// Gradient of y from the gradient of `hyperAnalysisInput(y)`.
    func hyperAnalysisInputBackward(_ dInput: Tensor, y: Tensor) throws -> Tensor {
        guard meanSynthesis != nil else { return try engine.absBackward(dInput, y) }
        let shape = y.shape, block = shape.c * shape.h * shape.w
        let gradient = dInput.values()
        var fromMagnitude = [Float](), fromSigned = [Float]()
        fromMagnitude.reserveCapacity(y.count); fromSigned.reserveCapacity(y.count)
        for n in 0..<shape.n {
            fromMagnitude += gradient[(2 * n * block)..<((2 * n + 1) * block)]
            fromSigned += gradient[((2 * n + 1) * block)..<((2 * n + 2) * block)]
        }
        let dY = try engine.absBackward(try Tensor(shape: shape, values: fromMagnitude), y)
        return try engine.add(dY, try Tensor(shape: shape, values: fromSigned))
    }

    /// h_s on z̃: the scale index t and, for a mean model, μ (both before the level's gains).
    func hyperSynthesize(_ zTilde: Tensor, training: Bool) throws -> (scaleIndex: Tensor, mean: Tensor?) {
        let hidden = try hyperSynthesisTrunk.forward(zTilde, training: training)
        let scaleIndex = try scaleHead.forward(hidden, training: training)
        return (scaleIndex, try meanSynthesis?.forward(hidden, training: training))
    }

    /// Gradient of z̃ from the gradients of the scale index and (for a mean model) of μ.
    func hyperSynthesisBackward(scaleIndex dScaleIndex: Tensor, mean dMean: Tensor?) throws -> Tensor {
        guard var dHidden = try scaleHead.backward(dScaleIndex) else {
            throw CodecError(code: .internalInconsistency, message: "h_s returned no input gradient")
        }
        if let meanSynthesis, let dMean {
            guard let fromMean = try meanSynthesis.backward(dMean) else {
                throw CodecError(code: .internalInconsistency, message: "the mean head returned no input gradient")
            }
            dHidden = try engine.add(dHidden, fromMean)
        }
        guard let dZTilde = try hyperSynthesisTrunk.backward(dHidden) else {
            throw CodecError(code: .internalInconsistency, message: "h_s returned no input gradient")
        }
        return dZTilde
    }

    /// The density of z with the current parameter values.
    public var density: FactorizedDensity {
        var d = densityTemplate
        d.parameters = densityParameters.values()
        return d
    }

    /// Smallest scale of the coding table (σ₀) and its log step Δ: the table's scales are
    /// σ₀·exp(Δ·k), k = 0…63, from 0.11 to 256.
    public static let scaleTableStart = EntropyTables.defaultGaussianScales[0]
    public static let scaleTableLogStep = Foundation.log(
        EntropyTables.defaultGaussianScales.last! / EntropyTables.defaultGaussianScales[0])
        / Double(EntropyTables.defaultGaussianScales.count - 1)
    /// Largest index h_s may ask for in training; exp() beyond it only risks overflow, and the
    /// table ends at 63 anyway.
    static let maximumScaleIndex: Float = 80

    /// σ = σ₀·exp(Δ·t) elementwise, t clamped to `maximumScaleIndex`.
    func scale(fromIndex t: Tensor) -> Tensor {
        let start = Float(Self.scaleTableStart), step = Float(Self.scaleTableLogStep), top = Self.maximumScaleIndex
        return engine.map(t) { start * Foundation.exp(step * min($0, top)) }
    }

    /// Gradient through `scale(fromIndex:)`: dt = dσ · Δ · σ (zero where t was clamped).
    func scaleFromIndexBackward(_ dSigma: Tensor, index t: Tensor, sigma: Tensor) throws -> Tensor {
        let step = Float(Self.scaleTableLogStep), top = Self.maximumScaleIndex
        let product = try engine.zip(dSigma, sigma) { $0 * $1 * step }
        return try engine.zip(product, t) { $1 > top ? 0 : $0 }
    }

    /// Encoder gains of a level, exp(a_l).
    public func encoderGains(level: Int) -> [Float] { gains(encoderLogGains, level) }
    /// Decoder gains of a level, exp(b_l).
    public func decoderGains(level: Int) -> [Float] { gains(decoderLogGains, level) }

    private func gains(_ p: Parameter, _ level: Int) -> [Float] {
        let m = configuration.latentChannels
        return (0..<m).map { Foundation.exp(p.value[level * m + $0]) }
    }
}
