import Foundation
import NacreEngine
import NacreImage

extension CodecModel {
    /// The same model with g_s's convolution weights stored in `precision`.
    ///
    /// f32 → int8 quantizes them per output channel (`Int8ChannelWeights`, with `clipping`); int8 →
    /// f32 keeps the dequantized values (the original floats are gone). With `calibrationImages`
    /// (real photos, never the test set; needs the encoder) an int8 model also gets the per-tensor
    /// input steps that oneDNN's int8 convolutions need (`int8ActivationScales`). The new model
    /// has its own copy of the networks and its own identifier; latents coded by one decode with
    /// the other to the same integers (h_s is integer), only the pixels differ slightly.
    public func withDecoderPrecision(_ precision: DecoderPrecision, clipping: Int8ChannelWeights.Clipping = .maximum,
                                     calibrationImages: [PixelBuffer] = []) throws -> CodecModel {
        let copy = try HyperpriorModel(configuration: configuration, engine: network.engine)
        for (target, source) in zip(copy.parameters, network.parameters) { try target.setValues(source.values()) }
        var int8: [String: Int8ChannelWeights] = [:]
        var activationScales: [Float] = []
        if precision == .int8 {
            for p in Self.synthesisConvolutionWeights(of: copy) {
                if let stored = int8Synthesis[p.name] {
                    int8[p.name] = stored
                } else {
                    int8[p.name] = try Int8ChannelWeights(quantizing: p.values(), shape: p.shape, clipping: clipping)
                }
                try p.setValues(int8[p.name]!.dequantized())
            }
            activationScales = calibrationImages.isEmpty
                ? int8ActivationScales
                : try calibrateActivationScales(synthesis: copy.synthesis, images: calibrationImages)
        }
        return try CodecModel(configuration: configuration, network: copy, hyperSynthesis: hyperSynthesis,
                              gaussianTables: gaussianTables, factorizedTables: factorizedTables, indexOffsets: indexOffsets,
                              canEncode: canEncode, info: info, int8Synthesis: int8, int8ActivationScales: activationScales)
    }

    /// Largest number of |x| samples kept per g_s convolution input for calibration.
    static let calibrationSamplesPerLayer = 200_000

    /// The int8 input step of every g_s convolution: the inputs g_s sees when decoding the
    /// calibration images at every trained level, and for each the clipping threshold T that
    /// minimises the squared quantization error (rounding to T/127 steps plus saturation at ±T).
    func calibrateActivationScales(synthesis: Sequential, images: [PixelBuffer]) throws -> [Float] {
        guard canEncode else {
            throw CodecError(code: .invalidArgument, message: "calibrating int8 activations needs the encoder; use the full exported model")
        }
        var inputs: [[Float]] = []
        let levels = configuration.levelCount
        for image in images {
            let y = try network.analysis.forward(try ImagePadding.tensor(from: image), training: false)
            for level in 0..<levels {
                let position = try QualityPosition(quality: levels == 1 ? 100 : 1 + 99 * Double(level) / Double(levels - 1),
                                                   levelCount: levels)
                let (encoderGains, decoderGains) = gains(at: position)
                let gained = try network.engine.multiplyChannels(y, gains: encoderGains)
                let yHat = try Tensor(shape: gained.shape, values: gained.values().map { $0.rounded() })
                var x = try network.engine.multiplyChannels(yHat, gains: decoderGains)
                var convolution = 0
                for layer in synthesis.layers {
                    if layer is ConvTranspose2D {
                        if inputs.count <= convolution { inputs.append([]) }
                        let values = x.values()
                        let stride = max(1, images.count * levels * values.count / Self.calibrationSamplesPerLayer)
                        for i in Swift.stride(from: (level * 7) % stride, to: values.count, by: stride) {
                            inputs[convolution].append(abs(values[i]))
                        }
                        convolution += 1
                    }
                    x = try layer.forward(x, training: false)
                }
            }
        }
        return inputs.map { Self.clippingThreshold(minimisingErrorOf: $0) / 127 }
    }

    /// The threshold T (among 100 candidates from max|x| down to max|x|/50, geometric) that
    /// minimises Σ (|x| − q_T(|x|))² with q_T rounding to T/127 steps and saturating at T.
    static func clippingThreshold(minimisingErrorOf magnitudes: [Float]) -> Float {
        let peak = magnitudes.max() ?? 0
        guard peak > 0 else { return 1 }
        var best = (error: Double.infinity, threshold: peak)
        for k in 0..<100 {
            let threshold = peak * Float(Foundation.pow(50.0, -Double(k) / 99))
            let step = threshold / 127
            var error = 0.0
            for v in magnitudes {
                let d = Double(v - min(127, (v / step).rounded()) * step)
                error += d * d
            }
            if error < best.error { best = (error, threshold) }
        }
        return best.threshold
    }

    /// x̂ = g_s(x): through oneDNN's int8 convolutions when this is an int8 model with calibrated
    /// activation scales and `usesInt8Kernels`, else through the f32 engine.
    func synthesize(_ x: Tensor) throws -> Tensor {
        guard usesInt8Kernels, decoderPrecision == .int8, !int8ActivationScales.isEmpty else {
            return try network.synthesis.forward(x, training: false)
        }
        if int8Runner == nil {
            int8Runner = try Int8Synthesis(network: network, weights: int8Synthesis, activationScales: int8ActivationScales)
        }
        return try int8Runner!.forward(x)
    }
}
