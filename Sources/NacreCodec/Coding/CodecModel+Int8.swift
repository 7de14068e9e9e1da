import Foundation
import NacreEngine
import NacreImage

extension CodecModel {
    /// The same model with g_s's convolution weights (and a mean head's) stored in `precision`.
    ///
    /// f32 → int8 quantizes them per output channel (`Int8ChannelWeights`, with `clipping`); int8 →
    /// f32 keeps the dequantized values (the original floats are gone). With `calibrationImages`
    /// (real photos, never the test set; needs the encoder) an int8 model also gets the per-tensor
    /// input steps that oneDNN's int8 convolutions need (`int8ActivationScales`). The new model
    /// has its own copy of the networks and its own identifier; latents coded by one decode with
    /// the other to the same integers (h_s is integer), only the pixels differ slightly.
    public func withDecoderPrecision(_ precision: DecoderPrecision, clipping: Int8ChannelWeights.Clipping = .meanSquaredError,
                                     calibrationImages: [PixelBuffer] = []) throws -> CodecModel {
        let copy = try HyperpriorModel(configuration: configuration, engine: network.engine)
        for (target, source) in zip(copy.parameters, network.parameters) { try target.setValues(source.values()) }
        var int8: [String: Int8ChannelWeights] = [:]
        var activationScales: [Float] = []
        if precision == .int8 {
            for p in Self.int8StoredWeights(of: copy) {
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
                              canEncode: canEncode, info: info, int8Synthesis: int8, int8ActivationScales: activationScales,
                              meanHeadInputStep: meanHeadInputStep)
    }

    /// The int8 range covers this multiple of the largest calibration input, so that images
    /// with stronger activations than the calibration photos rarely saturate.
    static let activationMargin: Float = 2

    /// The int8 input step of every g_s convolution: `activationMargin · max|x| / 127` over the
    /// inputs g_s sees when decoding the calibration images at every trained level. The decoder
    /// quantizes in two passes (`Int8Synthesis.passes`), so a coarse step costs no precision;
    /// clipping for one pass was measured and lost too much (BENCHMARKS.md, int8 decoder).
    func calibrateActivationScales(synthesis: Sequential, images: [PixelBuffer]) throws -> [Float] {
        guard canEncode else {
            throw CodecError(code: .invalidArgument, message: "calibrating int8 activations needs the encoder; use the full exported model")
        }
        var peaks: [Float] = []
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
                        if peaks.count <= convolution { peaks.append(0) }
                        peaks[convolution] = x.values().reduce(peaks[convolution]) { max($0, abs($1)) }
                        convolution += 1
                    }
                    x = try layer.forward(x, training: false)
                }
            }
        }
        return peaks.map { $0 > 0 ? Self.activationMargin * $0 / 127 : 1 }
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
