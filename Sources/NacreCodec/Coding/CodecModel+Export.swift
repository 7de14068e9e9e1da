import Foundation
import NacreEngine
import NacreImage

extension CodecModel {
    /// Fraction bits of the integer h_s's fixed-point scale index (1/256 of a table step).
    public static let exportIndexFractionBits = 8
    /// Probability left outside each z table (given to the escape), per side.
    public static let zTailMass = 1e-9

    /// Exports a trained float model or a training checkpoint (`WeightsFile` with kind
    /// `nacre.model.float/1` or `nacre.train.checkpoint/1`).
    ///
    /// - Parameter calibrationImages: a few real photos (never the test set) to calibrate the
    ///   integer h_s's activation ranges; crops of ~256 px are plenty.
    /// - Throws: `.incompatibleModel` for a file of another kind or shape.
    public static func exporting(from weights: WeightsFile, calibrationImages: [PixelBuffer], engine: Engine,
                                 info: [String: String] = [:]) throws -> CodecModel {
        let kind = weights.metadata["kind"] ?? "(none)"
        guard kind == HyperpriorTrainer.checkpointKind || kind == HyperpriorTrainer.floatModelKind,
              let json = weights.metadata["configuration"],
              let configuration = try? JSONDecoder().decode(HyperpriorConfiguration.self, from: Data(json.utf8)) else {
            throw CodecError(code: .incompatibleModel,
                message: "weights of kind \(kind) are not a trained model; pass a file written by `nacre train` (kind \(HyperpriorTrainer.floatModelKind) or \(HyperpriorTrainer.checkpointKind))")
        }
        let model = try HyperpriorModel(configuration: configuration, engine: engine)
        do {
            try weights.load(into: model.parameters)
        } catch {
            throw CodecError(code: .incompatibleModel, message: "the weights do not fit the model they describe: \(error)")
        }
        var provenance = info
        provenance["source.kind"] = kind
        if let step = weights.metadata["step"] { provenance["source.step"] = step }
        return try exporting(from: model, calibrationImages: calibrationImages, info: provenance)
    }

    /// Exports a float model held in memory (tests use an untrained one).
    public static func exporting(from model: HyperpriorModel, calibrationImages: [PixelBuffer],
                                 info: [String: String] = [:]) throws -> CodecModel {
        guard !calibrationImages.isEmpty else {
            throw CodecError(code: .invalidArgument, message: "calibration needs at least one image; pass a few photos (not Kodak)")
        }
        let configuration = model.configuration
        let zRange = IntegerHyperSynthesis.defaultZRange
        var zMaps: [IntegerFeatureMap] = []
        for image in calibrationImages {
            zMaps.append(try quantizedHyperLatent(of: ImagePadding.tensor(from: image), network: model, range: zRange))
        }
        let floatLayers = try floatHyperSynthesisLayers(of: model)
        let maxima = try IntegerHyperSynthesis.hiddenActivationMaxima(floatLayers, calibration: zMaps, zRange: zRange)
        let hyperSynthesis = try IntegerHyperSynthesis.quantizing(
            floatLayers, hiddenActivationMaxima: maxima,
            indexCount: EntropyTables.defaultGaussianScales.count, indexFractionBits: exportIndexFractionBits, zRange: zRange)
        // The mean head reads the last hidden layer's integer output; one step of it is worth this.
        let meanHeadInputStep = configuration.predictsMeans
            ? maxima.last.map { Float($0 / Double(IntegerHyperSynthesis.hiddenActivationMaximum)) } : nil
        let unit = Double(1 << exportIndexFractionBits) / HyperpriorModel.scaleTableLogStep
        let offsets = model.encoderLogGains.values().map { Int32((Double($0) * unit).rounded()) }
        return try CodecModel(
            configuration: configuration, network: model, hyperSynthesis: hyperSynthesis,
            gaussianTables: try EntropyTables.gaussian(),
            factorizedTables: try factorizedTables(of: model.density, range: zRange),
            indexOffsets: offsets, canEncode: true, info: info, meanHeadInputStep: meanHeadInputStep)
    }

    /// round(h_a(|g_a(x)|)) (a mean model's h_a also reads g_a(x)) clamped to `range`, as the
    /// integer h_s reads it.
    static func quantizedHyperLatent(of x: Tensor, network: HyperpriorModel, range: ClosedRange<Int32>) throws -> IntegerFeatureMap {
        let y = try network.analysis.forward(x, training: false)
        return try quantizedHyperLatent(ofLatent: y, network: network, range: range)
    }

    static func quantizedHyperLatent(ofLatent y: Tensor, network: HyperpriorModel, range: ClosedRange<Int32>) throws -> IntegerFeatureMap {
        let z = try network.hyperAnalysis.forward(network.hyperAnalysisInput(y), training: false)
        let low = Float(range.lowerBound), high = Float(range.upperBound)
        let values = z.values().map { v -> Int32 in v.isNaN ? 0 : Int32(min(max(v.rounded(), low), high)) }
        return try IntegerFeatureMap(channels: z.shape.c, height: z.shape.h, width: z.shape.w, values: values)
    }

    /// The float h_s as reference layers in PyTorch layout (oneDNN stores transposed-convolution
    /// weights (out, in, k, k); `FloatConvLayer` wants (in, out, k, k)).
    static func floatHyperSynthesisLayers(of model: HyperpriorModel) throws -> [FloatConvLayer] {
        var result: [FloatConvLayer] = []
        let layers = model.hyperSynthesis.layers.compactMap { $0.parameters.isEmpty ? nil : $0 }
        for (l, layer) in layers.enumerated() {
            let activation: FloatConvLayer.Activation = l == layers.count - 1 ? .identity : .relu
            if let deconv = layer as? ConvTranspose2D {
                let dims = deconv.weight.shape  // out, in, k, k
                let (cout, cin, k) = (dims[0], dims[1], dims[2])
                let plain = deconv.weight.values()
                var torch = [Float](repeating: 0, count: plain.count)
                for o in 0..<cout { for i in 0..<cin { for t in 0..<(k * k) {
                    torch[(i * cout + o) * k * k + t] = plain[(o * cin + i) * k * k + t]
                } } }
                let geometry = try ConvolutionGeometry(kind: .transposedConvolution, kernelHeight: k, kernelWidth: k,
                                                       stride: 2, padding: k / 2, outputPadding: 1)
                result.append(try FloatConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout, weights: torch,
                                                 biases: deconv.bias?.values() ?? [Float](repeating: 0, count: cout), activation: activation))
            } else if let conv = layer as? Conv2D {
                let dims = conv.weight.shape
                let (cout, cin, k) = (dims[0], dims[1], dims[2])
                let geometry = try ConvolutionGeometry(kind: .convolution, kernelHeight: k, kernelWidth: k, stride: 1, padding: k / 2)
                result.append(try FloatConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout, weights: conv.weight.values(),
                                                 biases: conv.bias?.values() ?? [Float](repeating: 0, count: cout), activation: activation))
            } else {
                throw CodecError(code: .internalInconsistency, message: "h_s layer \(l) is neither a convolution nor a transposed convolution")
            }
        }
        return result
    }

    /// Per-channel z tables: the learned density's bin masses at the integers between its
    /// `zTailMass` and `1 − zTailMass` quantiles (around the median), within `range`.
    static func factorizedTables(of density: FactorizedDensity, range: ClosedRange<Int32>) throws -> EntropyTables {
        var pmfs: [[Double]] = []
        var firsts: [Int32] = []
        for c in 0..<density.channels {
            let low = quantile(density, channel: c, probability: zTailMass)
            let high = quantile(density, channel: c, probability: 1 - zTailMass)
            var first = Int32(max(Double(range.lowerBound), min(Double(range.upperBound), low.rounded(.down))))
            var last = Int32(max(Double(range.lowerBound), min(Double(range.upperBound), high.rounded(.up))))
            if first > last { swap(&first, &last) }
            let values = (first...last).map(Float.init)
            let pmf = density.likelihoods(values: values, channelOf: [Int32](repeating: Int32(c), count: values.count)).likelihoods
            pmfs.append(pmf)
            firsts.append(first)
        }
        return try EntropyTables.factorized(pmfs: pmfs, firstValues: firsts)
    }

    /// x with c(x) = p for one channel, by bisection (the CDF is monotone).
    static func quantile(_ density: FactorizedDensity, channel: Int, probability p: Double) -> Double {
        var low = -1e4, high = 1e4
        for _ in 0..<80 {
            let mid = (low + high) / 2
            if density.cumulative(mid, channel: channel) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}

extension CodecModel {
    /// Compares the integer scale indices with the float h_s's on `images` at `quality`
    /// (needs the full model: the float h_s is stored only there).
    public func scaleIndexAgreement(on images: [PixelBuffer], quality: Double) throws -> ScaleIndexAgreement {
        let layers = try Self.floatHyperSynthesisLayers(of: network)
        let position = try QualityPosition(quality: quality, levelCount: configuration.levelCount)
        let logGains = position.interpolate(network.encoderLogGains.values(), channels: configuration.latentChannels)
        var equal = 0, close = 0, total = 0, worst = 0
        for z in try images.flatMap({ try analyze($0).tiles.map(\.z) }) {
            var t = FloatFeatureMap(z)
            for layer in layers { t = try layer.forward(t) }
            let indices = try hyperSynthesis.scaleIndices(for: z, channelOffsets: offsets(at: position))
            let plane = t.height * t.width
            let top = Double(hyperSynthesis.indexCount - 1)
            for i in indices.indices {
                let exact = Double(t.values[i]) + Double(logGains[i / plane]) / HyperpriorModel.scaleTableLogStep
                let difference = abs(Int(min(max(exact.rounded(), 0), top)) - Int(indices[i]))
                worst = max(worst, difference)
                equal += difference == 0 ? 1 : 0
                close += difference <= 1 ? 1 : 0
                total += 1
            }
        }
        let n = Double(max(total, 1))
        return ScaleIndexAgreement(equal: Double(equal) / n, withinOne: Double(close) / n, maximumDifference: worst)
    }
}
