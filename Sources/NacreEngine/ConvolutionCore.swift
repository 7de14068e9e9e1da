/// The shared machinery of convolution-like layers: per-shape cached oneDNN primitives, weight
/// reorders from the plain master copy, bf16 conversions, and gradient accumulation.
final class ConvolutionCore {
    let kind: DNNLConvolutionKind
    let inChannels: Int
    let outChannels: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let outputPadding: Int
    let hasBias: Bool
    /// Whether `backward` computes the input gradient (false for a network's first layer).
    let computesInputGradient: Bool
    /// Whether `dst = sqrt(dst)` is fused into the forward primitive (GDN's normaliser).
    let sqrtOutput: Bool

    var weightDims: [Int] { [outChannels, inChannels, kernel, kernel] }

    private struct PlanKey: Hashable {
        let input: TensorShape
        let training: Bool
        let precision: Precision
        let lowWeightGradients: Bool
    }

    /// Everything created once per (input shape, training, precision).
    private final class Plan {
        let outputShape: TensorShape
        let geometry: DNNLConvolutionGeometry
        let srcDesc: DNNLMemoryDesc      // f32 tensor layout
        let dstDesc: DNNLMemoryDesc
        let low: Bool                    // bf16 arithmetic
        let lowSrcDesc: DNNLMemoryDesc?
        let lowDstDesc: DNNLMemoryDesc?
        let forward: DNNLPrimitive
        let forwardWeights: WeightSlot
        var backwardData: DNNLPrimitive?
        var backwardDataWeights: WeightSlot?
        var backwardWeights: DNNLPrimitive?
        var diffWeightsToPlain: DNNLPrimitive?
        var diffWeightsDesc: DNNLMemoryDesc?
        /// When the forward primitive writes a layout other than the tensor's (a 3-channel plain
        /// output that only oneDNN's reference code handles directly), its layout and the reorder back.
        var forwardDstDesc: DNNLMemoryDesc?
        var forwardDstToTensor: DNNLPrimitive?
        /// f32 → bf16 conversions of the input and of the output gradient (bf16 plans only).
        var srcToLow: DNNLPrimitive?
        var dstToLow: DNNLPrimitive?
        /// Whether a bf16 plan computes weight gradients in bf16 too.
        var lowWeightGradients = false
        /// The output-gradient layouts the backward primitives take, and the conversions into
        /// them from the f32 tensor (nil when the tensor is used as is).
        var weightsDiffDstDesc: DNNLMemoryDesc?
        var dyToWeights: DNNLPrimitive?
        var dataDiffDstDesc: DNNLMemoryDesc?
        var dyToData: DNNLPrimitive?

        init(outputShape: TensorShape, geometry: DNNLConvolutionGeometry, srcDesc: DNNLMemoryDesc,
             dstDesc: DNNLMemoryDesc, low: Bool, lowSrcDesc: DNNLMemoryDesc?, lowDstDesc: DNNLMemoryDesc?,
             forward: DNNLPrimitive, forwardWeights: WeightSlot) {
            self.outputShape = outputShape
            self.geometry = geometry
            self.srcDesc = srcDesc
            self.dstDesc = dstDesc
            self.low = low
            self.lowSrcDesc = lowSrcDesc
            self.lowDstDesc = lowDstDesc
            self.forward = forward
            self.forwardWeights = forwardWeights
        }
    }

    /// Weights reordered into one primitive's chosen layout, refreshed when the master changes.
    private final class WeightSlot {
        let desc: DNNLMemoryDesc
        let reorder: DNNLPrimitive
        let buffer: RawBuffer
        var version = -1

        init(desc: DNNLMemoryDesc, reorder: DNNLPrimitive) {
            self.desc = desc
            self.reorder = reorder
            buffer = RawBuffer(byteCount: desc.byteCount)
        }
    }

    /// What a training forward keeps for backward.
    private struct Saved {
        let plan: Plan
        let input: Tensor
        let lowInput: RawBuffer?
    }

    private var plans: [PlanKey: Plan] = [:]
    static let maxPlans = 32
    private var saved: Saved?
    private let plainWeightsDescF32: DNNLMemoryDesc
    private let biasDesc: DNNLMemoryDesc
    private let label: String

    init(label: String, kind: DNNLConvolutionKind, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
         padding: Int, outputPadding: Int = 0, hasBias: Bool, computesInputGradient: Bool,
         sqrtOutput: Bool = false) throws {
        guard inChannels > 0, outChannels > 0, kernel > 0, stride > 0, padding >= 0, outputPadding >= 0,
              outputPadding < stride || outputPadding == 0 else {
            throw EngineError(.invalidArgument, "\(label): invalid convolution settings (in \(inChannels), out \(outChannels), "
                + "kernel \(kernel), stride \(stride), padding \(padding), output padding \(outputPadding))")
        }
        self.label = label
        self.kind = kind
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.hasBias = hasBias
        self.computesInputGradient = computesInputGradient
        self.sqrtOutput = sqrtOutput
        plainWeightsDescF32 = try DNNLMemoryDesc(dims: [outChannels, inChannels, kernel, kernel], type: .f32, layout: .plain)
        biasDesc = try DNNLMemoryDesc(dims: [outChannels], type: .f32, layout: .vector)
    }

    /// Output shape for an input shape, or a typed error when the input is too small.
    func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.c == inChannels else {
            throw EngineError(.shapeMismatch, "\(label) expects \(inChannels) input channels, got \(input)")
        }
        func size(_ x: Int) -> Int {
            switch kind {
            case .convolution: return (x + 2 * padding - kernel) >= 0 ? (x + 2 * padding - kernel) / stride + 1 : 0
            case .deconvolution: return (x - 1) * stride - 2 * padding + kernel + outputPadding
            }
        }
        let s = TensorShape(n: input.n, c: outChannels, h: size(input.h), w: size(input.w))
        guard s.h > 0, s.w > 0 else {
            throw EngineError(.shapeMismatch, "\(label): input \(input) is too small for kernel \(kernel), padding \(padding)")
        }
        return s
    }

    private func geometry(input: TensorShape, output: TensorShape) -> DNNLConvolutionGeometry {
        // Right padding makes oneDNN's size formula hit the output size exactly.
        func right(_ i: Int, _ o: Int) -> Int64 {
            switch kind {
            case .convolution: return Int64((o - 1) * stride + kernel - i - padding)
            case .deconvolution: return Int64((i - 1) * stride + kernel - o - padding)
            }
        }
        return DNNLConvolutionGeometry(strides: [Int64(stride), Int64(stride)],
                                       paddingLeft: [Int64(padding), Int64(padding)],
                                       paddingRight: [right(input.h, output.h), right(input.w, output.w)])
    }

    private func plan(for input: TensorShape, training: Bool, engine: Engine) throws -> Plan {
        let key = PlanKey(input: input, training: training, precision: engine.precision,
                          lowWeightGradients: engine.bf16WeightGradients)
        if let p = plans[key] { return p }
        let out = try outputShape(for: input)
        let ctx = engine.context
        let inLayout = TensorLayout.preferred(channels: input.c).dnnl
        let outLayout = TensorLayout.preferred(channels: out.c).dnnl
        let src = try DNNLMemoryDesc(dims: input.dims, type: .f32, layout: inLayout)
        let dst = try DNNLMemoryDesc(dims: out.dims, type: .f32, layout: outLayout)
        let g = geometry(input: input, output: out)
        var attr: DNNLAttributes?
        if sqrtOutput {
            attr = try DNNLAttributes()
            try attr!.appendSqrtPostOp()
        }
        func build(low: Bool) throws -> Plan {
            let t: DNNLDataType = low ? .bf16 : .f32
            let lowSrc = low ? try DNNLMemoryDesc(dims: input.dims, type: .bf16, layout: inLayout) : nil
            let lowDst = low ? try DNNLMemoryDesc(dims: out.dims, type: .bf16, layout: outLayout) : nil
            let anyWeights = try DNNLMemoryDesc(dims: weightDims, type: t, layout: .any)
            var fwd = try DNNLConvolution.forward(kind, context: ctx, src: lowSrc ?? src, weights: anyWeights,
                                                  bias: hasBias ? biasDesc : nil, dst: dst, geometry: g,
                                                  training: training, attr: attr)
            var forwardDst: DNNLMemoryDesc?
            if fwd.isReference, outLayout == .plain {
                // Try layouts oneDNN's JIT kernels write (channels-last, then its own choice, which
                // pads channels to a block) and reorder afterwards: far cheaper than the reference kernel.
                for layout in [DNNLLayout.nhwc, .any] {
                    let altDst = try DNNLMemoryDesc(dims: out.dims, type: .f32, layout: layout)
                    guard let alt = try? DNNLConvolution.forward(kind, context: ctx, src: lowSrc ?? src,
                                                                 weights: anyWeights, bias: hasBias ? biasDesc : nil,
                                                                 dst: altDst, geometry: g, training: training,
                                                                 attr: attr), !alt.isReference else { continue }
                    fwd = alt
                    forwardDst = alt.desc(DNNLPrimitive.dstQuery)
                    break
                }
            }
            if fwd.isReference {
                engine.logger.debug("\(label): oneDNN uses its reference kernel for \(input) (\(fwd.implementationName))")
            }
            let wDesc = fwd.desc(DNNLPrimitive.weightsQuery)
            let slot = WeightSlot(desc: wDesc, reorder: try DNNLConvolution.reorder(context: ctx, from: plainWeightsDescF32, to: wDesc))
            let plan = Plan(outputShape: out, geometry: g, srcDesc: src, dstDesc: dst, low: low, lowSrcDesc: lowSrc,
                            lowDstDesc: lowDst, forward: fwd, forwardWeights: slot)
            if let forwardDst {
                plan.forwardDstDesc = forwardDst
                plan.forwardDstToTensor = try DNNLConvolution.reorder(context: ctx, from: forwardDst, to: dst)
            }
            if let lowSrc, let lowDst {
                plan.srcToLow = try DNNLConvolution.reorder(context: ctx, from: src, to: lowSrc)
                plan.dstToLow = try DNNLConvolution.reorder(context: ctx, from: dst, to: lowDst)
            }
            return plan
        }
        let p: Plan
        if engine.precision == .bf16 {
            do {
                p = try build(low: true)
            } catch let e as EngineError where e.code == .unimplemented {
                engine.logger.debug("\(label): no bf16 implementation for \(input), using f32")
                p = try build(low: false)
            }
        } else {
            p = try build(low: false)
        }
        // Bounded: inference over many image sizes must not grow the cache without limit.
        if plans.count >= ConvolutionCore.maxPlans { plans.removeAll() }
        p.lowWeightGradients = engine.bf16WeightGradients
        plans[key] = p
        return p
    }

    private func refresh(_ slot: WeightSlot, weights: UnsafeMutablePointer<Float>, version: Int, engine: Engine) throws {
        guard slot.version != version else { return }
        try slot.reorder.reorder(engine.context, from: plainWeightsDescF32, UnsafeMutableRawPointer(weights),
                                 to: slot.desc, slot.buffer.pointer)
        slot.version = version
    }

    /// Converts a f32 tensor into a bf16 buffer in the same layout.
    private func toLow(_ t: Tensor, with r: DNNLPrimitive?, from: DNNLMemoryDesc, to: DNNLMemoryDesc,
                       engine: Engine) throws -> RawBuffer {
        let b = RawBuffer(byteCount: to.byteCount)
        try r!.reorder(engine.context, from: from, UnsafeMutableRawPointer(t.data), to: to, b.pointer)
        return b
    }

    /// Runs the forward pass. `weightsVersion` must change whenever `weights` change.
    func forward(_ x: Tensor, weights: UnsafeMutablePointer<Float>, weightsVersion: Int,
                 bias: UnsafeMutablePointer<Float>?, training: Bool, engine: Engine) throws -> Tensor {
        let p = try plan(for: x.shape, training: training, engine: engine)
        try refresh(p.forwardWeights, weights: weights, version: weightsVersion, engine: engine)
        let y = Tensor(uninitialized: p.outputShape)
        var lowInput: RawBuffer?
        var args: [DNNLArgument] = []
        if p.low, let lowSrc = p.lowSrcDesc {
            let b = try toLow(x, with: p.srcToLow, from: p.srcDesc, to: lowSrc, engine: engine)
            lowInput = b
            args.append(DNNLArgument(slot: DNNLSlot.src, desc: lowSrc, data: b.pointer))
        } else {
            args.append(DNNLArgument(slot: DNNLSlot.src, desc: p.srcDesc, data: UnsafeMutableRawPointer(x.data)))
        }
        args.append(DNNLArgument(slot: DNNLSlot.weights, desc: p.forwardWeights.desc, data: p.forwardWeights.buffer.pointer))
        if hasBias, let bias { args.append(DNNLArgument(slot: DNNLSlot.bias, desc: biasDesc, data: UnsafeMutableRawPointer(bias))) }
        if let fd = p.forwardDstDesc, let back = p.forwardDstToTensor {
            let tmp = RawBuffer(byteCount: fd.byteCount)
            args.append(DNNLArgument(slot: DNNLSlot.dst, desc: fd, data: tmp.pointer))
            try p.forward.execute(engine.context, args)
            try back.reorder(engine.context, from: fd, tmp.pointer, to: p.dstDesc, UnsafeMutableRawPointer(y.data))
        } else {
            args.append(DNNLArgument(slot: DNNLSlot.dst, desc: p.dstDesc, data: UnsafeMutableRawPointer(y.data)))
            try p.forward.execute(engine.context, args)
        }
        saved = training ? Saved(plan: p, input: x, lowInput: p.lowWeightGradients ? lowInput : nil) : nil
        return y
    }

    /// Creates the backward primitives on first use. Few-channel plain gradients that only oneDNN's
    /// reference kernels accept are given to the primitives in the channel-padded nChw16c layout.
    /// In bf16 plans the weight gradient is computed in f32 unless `engine.bf16WeightGradients`.
    private func prepareBackward(_ p: Plan, engine: Engine) throws {
        guard p.backwardWeights == nil else { return }
        let ctx = engine.context
        let lowWeights = p.low && p.lowWeightGradients
        // A backward primitive needs a forward hint of matching types.
        var weightsHint = p.forward
        if p.low && !lowWeights {
            let anyW = try DNNLMemoryDesc(dims: weightDims, type: .f32, layout: .any)
            weightsHint = try DNNLConvolution.forward(kind, context: ctx, src: p.srcDesc, weights: anyW,
                                                      bias: hasBias ? biasDesc : nil, dst: p.forwardDstDesc ?? p.dstDesc,
                                                      geometry: p.geometry, training: true)
        }
        /// Builds with the gradient in the tensor's layout, or blocked when that only has a reference kernel.
        func withFallback(_ type: DNNLDataType, _ build: (DNNLMemoryDesc) throws -> DNNLPrimitive) throws
            -> (DNNLPrimitive, DNNLMemoryDesc, DNNLPrimitive?) {
            let plain = type == .f32 ? p.dstDesc : p.lowDstDesc!
            let prim = try build(plain)
            if prim.isReference, p.outputShape.c % 16 != 0 {
                let blocked = try DNNLMemoryDesc(dims: p.outputShape.dims, type: type, layout: .nChw16c)
                if let alt = try? build(blocked), !alt.isReference {
                    return (alt, blocked, try DNNLConvolution.reorder(context: ctx, from: p.dstDesc, to: blocked))
                }
            }
            return (prim, plain, type == .f32 ? nil : p.dstToLow)
        }
        let (bw, bwDy, bwConvert) = try withFallback(lowWeights ? .bf16 : .f32) { dd in
            let anyDW = try DNNLMemoryDesc(dims: weightDims, type: .f32, layout: .any)
            return try DNNLConvolution.backwardWeights(kind, context: ctx, src: lowWeights ? p.lowSrcDesc! : p.srcDesc,
                                                       diffWeights: anyDW, diffBias: hasBias ? biasDesc : nil,
                                                       diffDst: dd, geometry: p.geometry, hint: weightsHint)
        }
        p.weightsDiffDstDesc = bwDy
        p.dyToWeights = bwConvert
        let dwDesc = bw.desc(DNNLPrimitive.diffWeightsQuery)
        p.diffWeightsDesc = dwDesc
        p.diffWeightsToPlain = try DNNLConvolution.reorder(context: ctx, from: dwDesc, to: plainWeightsDescF32)
        p.backwardWeights = bw
        guard computesInputGradient else { return }
        let type: DNNLDataType = p.low ? .bf16 : .f32
        let (bd, bdDy, bdConvert) = try withFallback(type) { dd in
            let anyW = try DNNLMemoryDesc(dims: weightDims, type: type, layout: .any)
            return try DNNLConvolution.backwardData(kind, context: ctx, diffSrc: p.srcDesc, weights: anyW,
                                                    diffDst: dd, geometry: p.geometry, hint: p.forward)
        }
        p.dataDiffDstDesc = bdDy
        p.dyToData = bdConvert
        let wDesc = bd.desc(DNNLPrimitive.weightsQuery)
        p.backwardDataWeights = WeightSlot(desc: wDesc, reorder: try DNNLConvolution.reorder(context: ctx, from: plainWeightsDescF32, to: wDesc))
        p.backwardData = bd
    }

    /// The output gradient as a backward primitive wants it (converted when needed).
    private func gradientArgument(_ dy: Tensor, desc: DNNLMemoryDesc, convert: DNNLPrimitive?, plan p: Plan,
                                  engine: Engine) throws -> (DNNLArgument, RawBuffer?) {
        guard let convert else {
            return (DNNLArgument(slot: DNNLSlot.diffDst, desc: p.dstDesc, data: UnsafeMutableRawPointer(dy.data)), nil)
        }
        let b = RawBuffer(byteCount: desc.byteCount)
        try convert.reorder(engine.context, from: p.dstDesc, UnsafeMutableRawPointer(dy.data), to: desc, b.pointer)
        return (DNNLArgument(slot: DNNLSlot.diffDst, desc: desc, data: b.pointer), b)
    }

    /// Backward pass: adds weight (and bias) gradients into `weightGradient` / `biasGradient` and
    /// returns the input gradient when `computesInputGradient`.
    func backward(_ dy: Tensor, weights: UnsafeMutablePointer<Float>, weightsVersion: Int,
                  weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
                  engine: Engine) throws -> Tensor? {
        let s = try takeSaved(&saved, label)
        let p = s.plan
        try dy.requireShape(p.outputShape, "\(label).backward gradient")
        let ctx = engine.context
        try prepareBackward(p, engine: engine)
        let (dyArg, converted) = try gradientArgument(dy, desc: p.weightsDiffDstDesc!, convert: p.dyToWeights,
                                                      plan: p, engine: engine)
        // Weight gradients.
        let dwDesc = p.diffWeightsDesc!
        let dw = RawBuffer(byteCount: dwDesc.byteCount)
        let count = weightDims.reduce(1, *)
        let dwPlain = RawBuffer(byteCount: count * 4)
        let db = hasBias ? RawBuffer(byteCount: outChannels * 4) : nil
        var args = [
            s.lowInput.map { DNNLArgument(slot: DNNLSlot.src, desc: p.lowSrcDesc!, data: $0.pointer) }
                ?? DNNLArgument(slot: DNNLSlot.src, desc: p.srcDesc, data: UnsafeMutableRawPointer(s.input.data)),
            dyArg,
            DNNLArgument(slot: DNNLSlot.diffWeights, desc: dwDesc, data: dw.pointer),
        ]
        if let db { args.append(DNNLArgument(slot: DNNLSlot.diffBias, desc: biasDesc, data: db.pointer)) }
        try p.backwardWeights!.execute(ctx, args)
        try p.diffWeightsToPlain!.reorder(ctx, from: dwDesc, dw.pointer, to: plainWeightsDescF32, dwPlain.pointer)
        let g = dwPlain.floats(count)
        for i in 0..<count { weightGradient[i] += g[i] }
        if let db, let biasGradient {
            let b = db.floats(outChannels)
            for i in 0..<outChannels { biasGradient[i] += b[i] }
        }

        // Input gradient.
        guard computesInputGradient, let bd = p.backwardData, let slot = p.backwardDataWeights else { return nil }
        try refresh(slot, weights: weights, version: weightsVersion, engine: engine)
        var dataDy = (dyArg, converted)
        if !p.dataDiffDstDesc!.sameLayout(as: p.weightsDiffDstDesc!) {
            dataDy = try gradientArgument(dy, desc: p.dataDiffDstDesc!, convert: p.dyToData, plan: p, engine: engine)
        }
        let dx = Tensor(uninitialized: s.input.shape)
        try bd.execute(ctx, [
            dataDy.0,
            DNNLArgument(slot: DNNLSlot.weights, desc: slot.desc, data: slot.buffer.pointer),
            DNNLArgument(slot: DNNLSlot.diffSrc, desc: p.srcDesc, data: UnsafeMutableRawPointer(dx.data)),
        ])
        withExtendedLifetime((converted, dataDy.1)) {}
        return dx
    }
}
