/// A transposed convolution for inference in int8: the f32 input is quantized per tensor to s8
/// (`round(x / inputScale)`, saturated), convolved with s8 weights (one scale per output channel)
/// accumulating in s32, and scaled back to f32 with the bias added.
///
/// It runs as s² phase convolutions stacked into one ordinary convolution plus a pixel shuffle
/// (`SubPixelGeometry`): oneDNN 2.6's int8 "brgconv" kernels (VNNI) handle a batch-1 convolution
/// far better than its deconvolution, whose batch-1 form parallelises poorly.
public final class Int8TransposedConvolution {
    public let inChannels: Int
    public let outChannels: Int
    /// The input's quantization step: s8 value q stands for `q · inputScale`.
    public let inputScale: Float
    let label: String
    let engine: Engine
    let geometry: SubPixelGeometry
    /// (s²·O, I, taps, taps), plain.
    private let phaseWeights: [Int8]
    /// Per phase channel: inputScale · weight scale (1 for an all-zero channel).
    private let outputScales: [Float]
    /// Per phase channel: bias / output scale (oneDNN 2.x adds the bias before scaling).
    private let phaseBias: [Float]

    private final class Plan {
        let outputShape: TensorShape
        let inputDesc: DNNLMemoryDesc
        let quantizedDesc: DNNLMemoryDesc
        let quantize: DNNLPrimitive
        let phaseDesc: DNNLMemoryDesc
        let convolution: DNNLPrimitive
        let weightsDesc: DNNLMemoryDesc
        let weights: RawBuffer

        init(outputShape: TensorShape, inputDesc: DNNLMemoryDesc, quantizedDesc: DNNLMemoryDesc, quantize: DNNLPrimitive,
             phaseDesc: DNNLMemoryDesc, convolution: DNNLPrimitive, weightsDesc: DNNLMemoryDesc, weights: RawBuffer) {
            self.outputShape = outputShape
            self.inputDesc = inputDesc
            self.quantizedDesc = quantizedDesc
            self.quantize = quantize
            self.phaseDesc = phaseDesc
            self.convolution = convolution
            self.weightsDesc = weightsDesc
            self.weights = weights
        }
    }

    private var plans: [TensorShape: Plan] = [:]
    private let biasDesc: DNNLMemoryDesc

    /// - Parameters:
    ///   - weights: (out, in, k, k) in the engine's transposed-convolution order, each −127…127.
    ///   - weightScales: one per output channel, ≥ 0: weight q stands for `q · weightScales[o]`.
    ///   - bias: one per output channel.
    ///   - inputScale: the activation step, > 0 (calibrated, e.g. a high percentile of |x| / 127).
    /// - Throws: `EngineError.invalidArgument` for counts that do not fit or a geometry that does
    ///   not split into phases (`out = stride · in` is required).
    public init(engine: Engine, label: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
                padding: Int, outputPadding: Int, weights: [Int8], weightScales: [Float], bias: [Float],
                inputScale: Float) throws {
        guard inChannels > 0, outChannels > 0, kernel > 0,
              let geometry = SubPixelGeometry(kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding) else {
            throw EngineError(.invalidArgument, "\(label): int8 transposed convolution needs out = stride · in "
                + "(kernel \(kernel), stride \(stride), padding \(padding), output padding \(outputPadding))")
        }
        guard weights.count == outChannels * inChannels * kernel * kernel, weightScales.count == outChannels,
              bias.count == outChannels, weightScales.allSatisfy({ $0.isFinite && $0 >= 0 }),
              inputScale.isFinite, inputScale > 0 else {
            throw EngineError(.invalidArgument, "\(label): \(weights.count) weights, \(weightScales.count) scales, "
                + "\(bias.count) biases and input scale \(inputScale) do not fit \(inChannels)→\(outChannels), kernel \(kernel)")
        }
        self.engine = engine
        self.label = label
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inputScale = inputScale
        self.geometry = geometry
        let phases = stride * stride
        var phaseWeights = [Int8](repeating: 0, count: phases * outChannels * inChannels * geometry.taps * geometry.taps)
        geometry.forEachTap(inChannels: inChannels, outChannels: outChannels) { p, k in phaseWeights[p] = weights[k] }
        self.phaseWeights = phaseWeights
        let scales = (0..<(phases * outChannels)).map { c -> Float in
            let w = weightScales[c % outChannels]
            return w > 0 ? inputScale * w : 1
        }
        outputScales = scales
        phaseBias = scales.indices.map { bias[$0 % outChannels] / scales[$0] }
        biasDesc = try DNNLMemoryDesc(dims: [phases * outChannels], type: .f32, layout: .vector)
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.c == inChannels else {
            throw EngineError(.shapeMismatch, "\(label) expects \(inChannels) input channels, got \(input)")
        }
        return TensorShape(n: input.n, c: outChannels, h: input.h * geometry.stride, w: input.w * geometry.stride)
    }

    private func plan(for input: TensorShape) throws -> Plan {
        if let p = plans[input] { return p }
        let out = try outputShape(for: input)
        let ctx = engine.context
        let phaseChannels = geometry.stride * geometry.stride * outChannels
        let taps = geometry.taps
        let inputDesc = try DNNLMemoryDesc(dims: input.dims, type: .f32, layout: TensorLayout.preferred(channels: input.c).dnnl)
        let quantizedDesc = try DNNLMemoryDesc(dims: input.dims, type: .s8, layout: .nhwc)
        let quantizeAttr = try DNNLAttributes()
        try quantizeAttr.setOutputScales([1 / inputScale], mask: 0)
        let quantize = try DNNLConvolution.reorder(context: ctx, from: inputDesc, to: quantizedDesc, attr: quantizeAttr)
        let phaseShape = TensorShape(n: input.n, c: phaseChannels, h: input.h, w: input.w)
        let phaseDesc = try DNNLMemoryDesc(dims: phaseShape.dims, type: .f32, layout: .nhwc)
        let anyWeights = try DNNLMemoryDesc(dims: [phaseChannels, inChannels, taps, taps], type: .s8, layout: .any)
        let attr = try DNNLAttributes()
        try attr.setOutputScales(outputScales, mask: 1 << 1)
        let r = Int64(geometry.radius)
        let convolution = try DNNLConvolution.forward(
            .convolution, context: ctx, src: quantizedDesc, weights: anyWeights, bias: biasDesc, dst: phaseDesc,
            geometry: DNNLConvolutionGeometry(strides: [1, 1], paddingLeft: [r, r], paddingRight: [r, r]),
            training: false, attr: attr)
        if convolution.isReference {
            engine.logger.debug("\(label): oneDNN uses its reference int8 kernel for \(input) (\(convolution.implementationName))")
        }
        let weightsDesc = convolution.desc(DNNLPrimitive.weightsQuery)
        let plainWeights = try DNNLMemoryDesc(dims: [phaseChannels, inChannels, taps, taps], type: .s8, layout: .plain)
        let weights = RawBuffer(byteCount: weightsDesc.byteCount)
        var source = phaseWeights
        try source.withUnsafeMutableBytes { raw in
            try DNNLConvolution.reorder(context: ctx, from: plainWeights, to: weightsDesc)
                .reorder(ctx, from: plainWeights, raw.baseAddress!, to: weightsDesc, weights.pointer)
        }
        let p = Plan(outputShape: out, inputDesc: inputDesc, quantizedDesc: quantizedDesc, quantize: quantize,
                     phaseDesc: phaseDesc, convolution: convolution, weightsDesc: weightsDesc, weights: weights)
        if plans.count >= 32 { plans.removeAll() }  // bounded over many image sizes
        plans[input] = p
        return p
    }

    /// y = the transposed convolution of x (f32 in, f32 out, in the engine's tensor layouts).
    public func forward(_ x: Tensor) throws -> Tensor {
        let p = try plan(for: x.shape)
        let ctx = engine.context
        let quantized = RawBuffer(byteCount: p.quantizedDesc.byteCount)
        try p.quantize.reorder(ctx, from: p.inputDesc, UnsafeMutableRawPointer(x.data), to: p.quantizedDesc, quantized.pointer)
        let phases = RawBuffer(byteCount: p.phaseDesc.byteCount)
        try phaseBias.withUnsafeBufferPointer { bias in
            try p.convolution.execute(ctx, [
                DNNLArgument(slot: DNNLSlot.src, desc: p.quantizedDesc, data: quantized.pointer),
                DNNLArgument(slot: DNNLSlot.weights, desc: p.weightsDesc, data: p.weights.pointer),
                DNNLArgument(slot: DNNLSlot.bias, desc: biasDesc, data: UnsafeMutableRawPointer(mutating: bias.baseAddress!)),
                DNNLArgument(slot: DNNLSlot.dst, desc: p.phaseDesc, data: phases.pointer),
            ])
        }
        let y = Tensor(uninitialized: p.outputShape)
        shuffle(phases: phases.floats(p.phaseDesc.byteCount / 4), input: x.shape, into: y)
        return y
    }

    /// Pixel shuffle from the channels-last phase tensor (N, H, W, s²·O) into y (N, O, s·H, s·W)
    /// in y's layout: phase `(ah·s + aw)` of input pixel (i, j) is output pixel (s·i + ah, s·j + aw).
    private func shuffle(phases: UnsafeMutablePointer<Float>, input: TensorShape, into y: Tensor) {
        let s = geometry.stride, o = outChannels, h = input.h, w = input.w
        let outH = h * s, outW = w * s, phaseChannels = s * s * o
        let yd = y.data
        let blocked = y.layout == .nChw16c
        engine.parallelFor(input.n * outH, minChunk: 1) { rows in
            for row in rows {
                let n = row / outH, r = row % outH, i = r / s, ah = r % s
                for c in 0..<outW {
                    let j = c / s, aw = c % s
                    let source = phases + ((n * h + i) * w + j) * phaseChannels + (ah * s + aw) * o
                    if blocked {
                        for b in 0..<(o / 16) {
                            (yd + (((n * (o / 16) + b) * outH + r) * outW + c) * 16).update(from: source + b * 16, count: 16)
                        }
                    } else {
                        for oc in 0..<o { yd[((n * o + oc) * outH + r) * outW + c] = source[oc] }
                    }
                }
            }
        }
    }
}
