/// A transposed convolution for inference in int8: the f32 input is quantized per tensor to s8
/// (`q₁ = clamp(round(x / inputScale), ±127)`), convolved with s8 weights (one scale per output
/// channel) accumulating in s32, and scaled back to f32 with the bias added.
///
/// With two passes the quantization residual is quantized again with a 254× finer step,
/// `q₂ = clamp(round((x − q₁·inputScale) · 254 / inputScale), ±127)`, and convolved into the same
/// output: the input then carries about 15 bits for twice the int8 work.
///
/// It runs as s² phase convolutions stacked into one ordinary convolution plus a pixel shuffle
/// (`SubPixelGeometry`): oneDNN 2.6's int8 "brgconv" kernels (VNNI) handle a batch-1 convolution
/// far better than its deconvolution, whose batch-1 form parallelises poorly.
public final class Int8TransposedConvolution {
    public let inChannels: Int
    public let outChannels: Int
    /// The input's quantization step: s8 value q stands for `q · inputScale`.
    public let inputScale: Float
    /// 1 or 2 (see above).
    public let passes: Int
    /// The second pass's step is `inputScale / residualRatio` (|residual| ≤ inputScale / 2).
    static let residualRatio: Float = 254
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
        let quantizedDesc: DNNLMemoryDesc
        let phaseDesc: DNNLMemoryDesc
        /// The first pass (with bias) and, with two passes, the residual pass (adds to dst).
        let convolutions: [DNNLPrimitive]
        let weightsDesc: DNNLMemoryDesc
        let weights: RawBuffer

        init(outputShape: TensorShape, quantizedDesc: DNNLMemoryDesc, phaseDesc: DNNLMemoryDesc,
             convolutions: [DNNLPrimitive], weightsDesc: DNNLMemoryDesc, weights: RawBuffer) {
            self.outputShape = outputShape
            self.quantizedDesc = quantizedDesc
            self.phaseDesc = phaseDesc
            self.convolutions = convolutions
            self.weightsDesc = weightsDesc
            self.weights = weights
        }
    }

    private var plans: [TensorShape: Plan] = [:]
    private let biasDesc: DNNLMemoryDesc

    /// - Parameters:
    ///   - weights: (out, in, k, k) in the engine's transposed-convolution order, each −127…127.
    ///   - weightScales: one per output channel, ≥ 0: weight q stands for `q · weightScales[o]`
    ///     (so a zero scale zeroes the channel's weights).
    ///   - bias: one per output channel.
    ///   - inputScale: the activation step, > 0 (calibrated, e.g. a high percentile of |x| / 127).
    ///   - passes: 1, or 2 to convolve the quantization residual too.
    /// - Throws: `EngineError.invalidArgument` for counts that do not fit or a geometry that does
    ///   not split into phases (`out = stride · in` is required).
    public init(engine: Engine, label: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
                padding: Int, outputPadding: Int, weights: [Int8], weightScales: [Float], bias: [Float],
                inputScale: Float, passes: Int = 1) throws {
        guard inChannels > 0, outChannels > 0, kernel > 0,
              let geometry = SubPixelGeometry(kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding) else {
            throw EngineError(.invalidArgument, "\(label): int8 transposed convolution needs out = stride · in "
                + "(kernel \(kernel), stride \(stride), padding \(padding), output padding \(outputPadding))")
        }
        guard weights.count == outChannels * inChannels * kernel * kernel, weightScales.count == outChannels,
              bias.count == outChannels, weightScales.allSatisfy({ $0.isFinite && $0 >= 0 }),
              inputScale.isFinite, inputScale > 0, (1...2).contains(passes) else {
            throw EngineError(.invalidArgument, "\(label): \(weights.count) weights, \(weightScales.count) scales, "
                + "\(bias.count) biases, input scale \(inputScale) and \(passes) passes do not fit \(inChannels)→\(outChannels), kernel \(kernel)")
        }
        self.engine = engine
        self.label = label
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inputScale = inputScale
        self.passes = passes
        self.geometry = geometry
        let phases = stride * stride
        var phaseWeights = [Int8](repeating: 0, count: phases * outChannels * inChannels * geometry.taps * geometry.taps)
        let perChannel = inChannels * kernel * kernel
        geometry.forEachTap(inChannels: inChannels, outChannels: outChannels) { p, k in
            phaseWeights[p] = weightScales[k / perChannel] > 0 ? weights[k] : 0
        }
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
        let quantizedDesc = try DNNLMemoryDesc(dims: input.dims, type: .s8, layout: .nhwc)
        let phaseShape = TensorShape(n: input.n, c: phaseChannels, h: input.h, w: input.w)
        let phaseDesc = try DNNLMemoryDesc(dims: phaseShape.dims, type: .f32, layout: .nhwc)
        let anyWeights = try DNNLMemoryDesc(dims: [phaseChannels, inChannels, taps, taps], type: .s8, layout: .any)
        let r = Int64(geometry.radius)
        let phaseGeometry = DNNLConvolutionGeometry(strides: [1, 1], paddingLeft: [r, r], paddingRight: [r, r])
        let attr = try DNNLAttributes()
        try attr.setOutputScales(outputScales, mask: 1 << 1)
        let convolution = try DNNLConvolution.forward(.convolution, context: ctx, src: quantizedDesc, weights: anyWeights,
                                                      bias: biasDesc, dst: phaseDesc, geometry: phaseGeometry,
                                                      training: false, attr: attr)
        var convolutions = [convolution]
        if passes == 2 {
            let residualAttr = try DNNLAttributes()
            try residualAttr.setOutputScales(outputScales.map { $0 / Self.residualRatio }, mask: 1 << 1)
            try residualAttr.appendSumPostOp()
            let residual = try DNNLConvolution.forward(.convolution, context: ctx, src: quantizedDesc, weights: anyWeights,
                                                       bias: nil, dst: phaseDesc, geometry: phaseGeometry,
                                                       training: false, attr: residualAttr)
            guard residual.desc(DNNLPrimitive.weightsQuery).sameLayout(as: convolution.desc(DNNLPrimitive.weightsQuery)) else {
                throw EngineError(.unimplemented, "\(label): oneDNN chose different weight layouts for the two int8 passes")
            }
            convolutions.append(residual)
        }
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
        let p = Plan(outputShape: out, quantizedDesc: quantizedDesc, phaseDesc: phaseDesc, convolutions: convolutions,
                     weightsDesc: weightsDesc, weights: weights)
        if plans.count >= 32 { plans.removeAll() }  // bounded over many image sizes
        plans[input] = p
        return p
    }

    /// y = the transposed convolution of x (f32 in, f32 out, in the engine's tensor layouts).
    public func forward(_ x: Tensor) throws -> Tensor {
        let p = try plan(for: x.shape)
        let ctx = engine.context
        let quantized = (0..<passes).map { _ in RawBuffer(byteCount: p.quantizedDesc.byteCount) }
        quantize(x, into: quantized.map { $0.pointer.bindMemory(to: Int8.self, capacity: x.count) })
        let phases = RawBuffer(byteCount: p.phaseDesc.byteCount)
        for (pass, convolution) in p.convolutions.enumerated() {
            var args = [DNNLArgument(slot: DNNLSlot.src, desc: p.quantizedDesc, data: quantized[pass].pointer),
                        DNNLArgument(slot: DNNLSlot.weights, desc: p.weightsDesc, data: p.weights.pointer),
                        DNNLArgument(slot: DNNLSlot.dst, desc: p.phaseDesc, data: phases.pointer)]
            try phaseBias.withUnsafeBufferPointer { bias in
                if pass == 0 {
                    args.append(DNNLArgument(slot: DNNLSlot.bias, desc: biasDesc, data: UnsafeMutableRawPointer(mutating: bias.baseAddress!)))
                }
                try convolution.execute(ctx, args)
            }
        }
        let y = Tensor(uninitialized: p.outputShape)
        shuffle(phases: phases.floats(p.phaseDesc.byteCount / 4), input: x.shape, into: y)
        return y
    }

    /// x (engine layout, f32) → channels-last s8: the first pass and, with two, the residual pass.
    /// Rounds to nearest even like oneDNN (adding 1.5·2²³ leaves the rounded integer in the low
    /// mantissa bits, which keeps the loop free of conversions that check for overflow).
    private func quantize(_ x: Tensor, into outputs: [UnsafeMutablePointer<Int8>]) {
        let (n, c, h, w) = (x.shape.n, x.shape.c, x.shape.h, x.shape.w)
        let xd = x.data, first = outputs[0], second = outputs.count > 1 ? outputs[1] : nil
        let inverse = 1 / inputScale, step = inputScale, fineInverse = Self.residualRatio / inputScale
        let blocked = x.layout == .nChw16c
        @inline(__always) func emit(_ v: Float, at index: Int) {
            let (q, rounded) = Self.roundedStep(v * inverse)
            first[index] = q
            if let second { second[index] = Self.roundedStep((v - rounded * step) * fineInverse).0 }
        }
        engine.parallelFor(n * h, minChunk: 1) { rows in
            for row in rows {
                let image = row / h, i = row % h
                for j in 0..<w {
                    let out = ((image * h + i) * w + j) * c
                    if blocked {  // nChw16c: 16 channels contiguous per pixel, blocks h·w·16 apart
                        for b in 0..<(c / 16) {
                            let source = xd + (((image * (c / 16) + b) * h + i) * w + j) * 16
                            for l in 0..<16 { emit(source[l], at: out + b * 16 + l) }
                        }
                    } else {
                        let source = xd + (image * c * h + i) * w + j
                        for k in 0..<c { emit(source[k * h * w], at: out + k) }
                    }
                }
            }
        }
    }

    /// round-to-nearest-even(clamp(v, ±127)) as s8 and as a float (NaN gives 0).
    @inline(__always)
    static func roundedStep(_ v: Float) -> (Int8, Float) {
        let magic: Float = 12_582_912  // 1.5 · 2²³
        let clamped = v != v ? 0 : Swift.max(-127, Swift.min(127, v))
        let t = clamped + magic
        return (Int8(truncatingIfNeeded: Int32(bitPattern: t.bitPattern)), t - magic)
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
                            let target = yd + (((n * (o / 16) + b) * outH + r) * outW + c) * 16
                            UnsafeMutableRawPointer(target).storeBytes(
                                of: UnsafeRawPointer(source + b * 16).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                        }
                    } else {
                        for oc in 0..<o { yd[((n * o + oc) * outH + r) * outW + c] = source[oc] }
                    }
                }
            }
        }
    }
}
