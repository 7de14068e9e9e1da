import Foundation
import NacreEngine

/// A coded model: everything the encoder and decoder need, made once from a trained float model
/// by `exporting(…)` and stored with `serialized()` (format: docs/MODEL.md).
///
/// - float g_s and the decoder log-gains (the decoder's part; float drift only moves pixels);
/// - float g_a, h_a and the encoder log-gains (encoding only), plus the float h_s and z density
///   (re-export and diagnostics only); all absent from `decoderBytes()`;
/// - the integer h_s (fixed-point continuous scale index), the Gaussian tables of y, the
///   per-channel factorized tables of z and the per-level integer log-gain offsets: everything
///   that decides a probability is an integer, so decoding is bit-exact on every machine;
/// - for a mean model, the float mean head and the encoder log-gains in the decoder's part: μ·g
///   is added back to the decoded symbols, so its float drift only moves pixels.
public final class CodecModel {
    public let configuration: HyperpriorConfiguration
    /// The float networks. g_a and h_a hold meaningful weights only when `canEncode`.
    public let network: HyperpriorModel
    /// The integer h_s: ẑ → fixed-point scale index of every element of y.
    public let hyperSynthesis: IntegerHyperSynthesis
    /// Gaussian-conditional tables of y, indexed by scale index.
    public let gaussianTables: EntropyTables
    /// Factorized tables of z, one per channel.
    public let factorizedTables: EntropyTables
    /// Per level and y channel, `round(a_{l,c} / Δ · 2^f)`: the encoder log-gain in the integer
    /// h_s's fixed-point index units, laid out `[level · M + c]`.
    public let indexOffsets: [Int32]
    /// Whether g_a and h_a are present (a decoder-only model cannot encode).
    public let canEncode: Bool
    /// Provenance (source file, training step…), sorted keys; part of the decoder bytes.
    public let info: [String: String]
    /// How g_s's convolution weights are stored (`.int8`: format version 2).
    public var decoderPrecision: DecoderPrecision { int8Synthesis.isEmpty ? .f32 : .int8 }
    /// The int8 form of g_s's convolution weights (and a mean head's) by parameter name (empty
    /// for an f32 decoder); the network's parameters hold their dequantized values.
    let int8Synthesis: [String: Int8ChannelWeights]
    /// The g_s parameters' versions when `int8Synthesis` was set: a parameter changed since
    /// (e.g. by decoder fine-tuning) is quantized again when the model is serialized.
    private var int8SynthesisVersions: [String: Int] = [:]
    /// Per g_s convolution (in order), the per-tensor int8 step of its input, calibrated on photos;
    /// empty when not calibrated (then int8 models decode through the dequantized f32 path).
    public let int8ActivationScales: [Float]
    /// Whether an int8 model with calibrated activation scales decodes with oneDNN's int8
    /// convolutions (`Int8Synthesis`) instead of the reference path (dequantized weights, f32
    /// engine). On by default: on a quiet machine they restore a 1 MP image faster (p50 142 ms
    /// against 156 ms, BENCHMARKS.md, restore); the environment variable `NACRE_INT8_KERNELS=0`
    /// turns them off for a process (every decode of that process then takes the reference path).
    public var usesInt8Kernels = ProcessInfo.processInfo.environment["NACRE_INT8_KERNELS"] != "0"
    /// Built on first use by `synthesize(_:)`.
    var int8Runner: Int8Synthesis?
    /// For a mean model, the real value of one step of the integer h_s's last hidden features
    /// (what the mean head reads); nil for a scale-only model.
    public let meanHeadInputStep: Float?
    /// 64-bit FNV-1a of `decoderBytes()`: what an encoded image names to find its decoder.
    public private(set) var identifier: UInt64 = 0

    /// Largest image the codec accepts (pixels); larger ones are refused. Images above
    /// `TileLayout.tilingThreshold` are coded in independent 1024-pixel tiles.
    public static let maximumPixels = 100_000_000

    init(configuration: HyperpriorConfiguration, network: HyperpriorModel, hyperSynthesis: IntegerHyperSynthesis,
         gaussianTables: EntropyTables, factorizedTables: EntropyTables, indexOffsets: [Int32], canEncode: Bool,
         info: [String: String], int8Synthesis: [String: Int8ChannelWeights] = [:],
         int8ActivationScales: [Float] = [], meanHeadInputStep: Float? = nil) throws {
        let m = configuration.latentChannels, n = configuration.hiddenChannels
        guard configuration.predictsMeans == (meanHeadInputStep != nil),
              meanHeadInputStep.map({ $0.isFinite && $0 > 0 }) ?? true else {
            throw CodecError(code: .incompatibleModel,
                message: "a mean model needs the positive input step of its mean head, and only a mean model has one; re-export it")
        }
        guard hyperSynthesis.inputChannels == n, hyperSynthesis.outputChannels == m,
              hyperSynthesis.indexCount == gaussianTables.count, factorizedTables.count == n,
              hyperSynthesis.indexFractionBits > 0,
              indexOffsets.count == configuration.levelCount * m, indexOffsets.allSatisfy({ abs($0) <= 1 << 24 }) else {
            throw CodecError(code: .incompatibleModel,
                message: "the model's parts disagree (h_s \(hyperSynthesis.inputChannels)→\(hyperSynthesis.outputChannels) with \(hyperSynthesis.indexFractionBits) fraction bits, \(gaussianTables.count) Gaussian and \(factorizedTables.count) factorized tables, \(indexOffsets.count) offsets, for N=\(n), M=\(m)); re-export it")
        }
        if !int8Synthesis.isEmpty {
            let weights = Self.int8StoredWeights(of: network)
            guard Set(int8Synthesis.keys) == Set(weights.map(\.name)) else {
                throw CodecError(code: .incompatibleModel,
                    message: "int8 weights for \(int8Synthesis.keys.sorted()) where g_s has \(weights.map(\.name)); re-export the model")
            }
            for p in weights {
                let q = int8Synthesis[p.name]!
                guard q.shape == p.shape else {
                    throw CodecError(code: .incompatibleModel, message: "int8 weights \(p.name) have shape \(q.shape) where \(p.shape) is expected; re-export the model")
                }
                try p.setValues(q.dequantized())
            }
            let convolutions = Self.synthesisConvolutionWeights(of: network).count
            guard int8ActivationScales.isEmpty || int8ActivationScales.count == convolutions,
                  int8ActivationScales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw CodecError(code: .incompatibleModel,
                    message: "\(int8ActivationScales.count) int8 activation scales for \(convolutions) g_s convolutions, or one is not a positive number; re-export the model")
            }
        } else if !int8ActivationScales.isEmpty {
            throw CodecError(code: .internalInconsistency, message: "int8 activation scales given for an f32 decoder")
        }
        self.int8ActivationScales = int8ActivationScales
        self.int8Synthesis = int8Synthesis
        for p in Self.int8StoredWeights(of: network) where int8Synthesis[p.name] != nil {
            int8SynthesisVersions[p.name] = p.version
        }
        self.configuration = configuration
        self.network = network
        self.hyperSynthesis = hyperSynthesis
        self.gaussianTables = gaussianTables
        self.factorizedTables = factorizedTables
        self.indexOffsets = indexOffsets
        self.canEncode = canEncode
        self.info = info
        self.meanHeadInputStep = meanHeadInputStep
        identifier = FNV1a.hash(decoderBytes())
    }

    /// The identifier as 16 hex digits.
    public var identifierString: String { String(format: "%016llx", identifier) }

    /// Fixed-point fraction bits of the scale index (the offsets' unit is 2^−bits index steps).
    public var indexFractionBits: Int { hyperSynthesis.indexFractionBits }

    /// Parameters stored for the decoder (g_s and the decoder log-gains), in a stable order.
    var decoderParameters: [Parameter] { Self.decoderParameters(of: network) }
    /// Parameters stored only in the full model (see `encoderParameters(of:)`).
    var encoderParameters: [Parameter] { Self.encoderParameters(of: network) }

    /// A mean model's decoder also needs the mean head and the encoder gains (it adds μ·g back).
    static func decoderParameters(of network: HyperpriorModel) -> [Parameter] {
        let meanPart = network.meanSynthesis.map { $0.parameters + [network.encoderLogGains] } ?? []
        return network.synthesis.parameters + [network.decoderLogGains] + meanPart
    }

    /// The int8 g_s weights to store: the stored ones, or for a parameter changed since (and still
    /// finite) its values quantized again with the default clipping.
    func currentInt8Synthesis() -> [String: Int8ChannelWeights] {
        var result = int8Synthesis
        for p in Self.int8StoredWeights(of: network) where int8SynthesisVersions[p.name].map({ $0 != p.version }) ?? false {
            if let q = try? Int8ChannelWeights(quantizing: p.values(), shape: p.shape) { result[p.name] = q }
        }
        return result
    }

    /// The weights of g_s's transposed convolutions, the ones `DecoderPrecision.int8` stores in int8.
    static func synthesisConvolutionWeights(of network: HyperpriorModel) -> [Parameter] {
        network.synthesis.layers.compactMap { ($0 as? ConvTranspose2D)?.weight }
    }

    /// The weights an int8 model stores in int8: g_s's convolutions and the mean head's.
    static func int8StoredWeights(of network: HyperpriorModel) -> [Parameter] {
        synthesisConvolutionWeights(of: network) + (network.meanSynthesis.map { [$0.weight] } ?? [])
    }

    /// g_a, h_a and the encoder gains (unless the decoder's part has them), plus the float h_s and z density: those two are not needed
    /// to code (the integer h_s and the tables replace them) but let a model be re-exported and
    /// checked against its float reference.
    static func encoderParameters(of network: HyperpriorModel) -> [Parameter] {
        network.analysis.parameters + network.hyperAnalysis.parameters
            + (network.meanSynthesis == nil ? [network.encoderLogGains] : [])
            + network.hyperSynthesis.parameters + [network.densityParameters]
    }

    /// Parameter count of the decoder: g_s, decoder gains, integer h_s weights and biases (tables excluded).
    public var decoderParameterCount: Int {
        decoderParameters.reduce(0) { $0 + $1.count }
            + hyperSynthesis.layers.reduce(0) { $0 + $1.weights.count + $1.biases.count }
    }

    /// The encoder and decoder gains (not logs) at a quality position.
    func gains(at position: QualityPosition) -> (encoder: [Float], decoder: [Float]) {
        let m = configuration.latentChannels
        let a = position.interpolate(network.encoderLogGains.values(), channels: m)
        let b = position.interpolate(network.decoderLogGains.values(), channels: m)
        return (a.map { Foundation.exp($0) }, b.map { Foundation.exp($0) })
    }
}
