/// A transposed convolution computed as s² phase convolutions stacked into one ordinary
/// convolution plus a pixel shuffle (`SubPixelGeometry`). Used for few-channel outputs (the
/// 3-channel image), where oneDNN's deconvolution would pad the output channels to a block of 16
/// and do 5× the work.
final class SubPixelDeconvolution {
    let inChannels: Int
    let outChannels: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let radius: Int
    let geometry: SubPixelGeometry
    let core: ConvolutionCore
    private let phaseWeights: Parameter   // (s²·O, I, 2r+1, 2r+1), gradients accumulate here
    private let phaseBias: Parameter
    private var seenVersions = (-1, -1)
    private var phaseVersion = 0
    private var savedInput: TensorShape?

    /// Returns nil when the geometry does not decompose cleanly (then use a deconvolution).
    init?(label: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
          outputPadding: Int, computesInputGradient: Bool) throws {
        guard let geometry = SubPixelGeometry(kernel: kernel, stride: stride, padding: padding,
                                              outputPadding: outputPadding) else { return nil }
        self.geometry = geometry
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        radius = geometry.radius
        let taps = geometry.taps
        core = try ConvolutionCore(label: label + ".phases", kind: .convolution, inChannels: inChannels,
                                   outChannels: stride * stride * outChannels, kernel: taps, stride: 1,
                                   padding: radius, hasBias: true, computesInputGradient: computesInputGradient)
        phaseWeights = Parameter(name: label + ".phase-weights", shape: core.weightDims)
        phaseBias = Parameter(name: label + ".phase-bias", shape: [stride * stride * outChannels])
    }

    func outputShape(for input: TensorShape) throws -> TensorShape {
        guard input.c == inChannels else {
            throw EngineError(.shapeMismatch, "transposed convolution expects \(inChannels) input channels, got \(input)")
        }
        return TensorShape(n: input.n, c: outChannels, h: input.h * stride, w: input.w * stride)
    }

    private func forEachTap(_ body: (Int, Int) -> Void) {
        geometry.forEachTap(inChannels: inChannels, outChannels: outChannels, body)
    }

    private func refresh(weights: Parameter, bias: Parameter?) {
        let versions = (weights.version, bias?.version ?? 0)
        guard versions != seenVersions else { return }
        phaseWeights.value.update(repeating: 0, count: phaseWeights.count)
        let pw = phaseWeights.value, w = weights.value
        forEachTap { p, k in pw[p] = w[k] }
        for k in 0..<phaseBias.count { phaseBias.value[k] = bias?.value[k % outChannels] ?? 0 }
        seenVersions = versions
        phaseVersion &+= 1
    }

    func forward(_ x: Tensor, weights: Parameter, bias: Parameter?, training: Bool, engine: Engine) throws -> Tensor {
        refresh(weights: weights, bias: bias)
        let phases = try core.forward(x, weights: phaseWeights.value, weightsVersion: phaseVersion,
                                      bias: phaseBias.value, training: training, engine: engine)
        let y = Tensor(uninitialized: try outputShape(for: x.shape))
        shuffle(phases: phases, image: y, toImage: true, engine: engine)
        savedInput = training ? x.shape : nil
        return y
    }

    func backward(_ dy: Tensor, weights: Parameter, bias: Parameter?, engine: Engine) throws -> Tensor? {
        let input = try takeSaved(&savedInput, "ConvTranspose2D")
        try dy.requireShape(try outputShape(for: input), "ConvTranspose2D.backward gradient")
        let dPhases = Tensor(uninitialized: TensorShape(n: input.n, c: stride * stride * outChannels, h: input.h, w: input.w))
        shuffle(phases: dPhases, image: dy, toImage: false, engine: engine)
        phaseWeights.zeroGradient()
        phaseBias.zeroGradient()
        let dx = try core.backward(dPhases, weights: phaseWeights.value, weightsVersion: phaseVersion,
                                   weightGradient: phaseWeights.gradient, biasGradient: phaseBias.gradient,
                                   engine: engine)
        let pg = phaseWeights.gradient, wg = weights.gradient
        forEachTap { p, k in wg[k] += pg[p] }
        if let bias {
            for k in 0..<phaseBias.count { bias.gradient[k % outChannels] += phaseBias.gradient[k] }
        }
        return dx
    }

    /// Pixel shuffle between the phase tensor (N, s²·O, H, W) and the image (N, O, s·H, s·W):
    /// both plain NCHW, or both nChw16c when O is a multiple of 16 (`shuffleBlocked`).
    private func shuffle(phases: Tensor, image: Tensor, toImage: Bool, engine: Engine) {
        let s = stride, o = outChannels, h = phases.shape.h, w = phases.shape.w
        let pd = phases.data, id = image.data
        if image.layout == .nChw16c {
            shuffleBlocked(phases: phases, image: image, toImage: toImage, engine: engine)
            return
        }
        let planes = image.shape.n * o
        engine.parallelFor(planes, minChunk: 1) { r in
            for plane in r {
                let n = plane / o, oc = plane % o
                for ah in 0..<s { for aw in 0..<s {
                    let src = pd + ((n * s * s * o + (ah * s + aw) * o + oc) * h) * w
                    let dst = id + plane * h * s * w * s
                    for i in 0..<h {
                        let row = dst + (i * s + ah) * w * s + aw
                        let prow = src + i * w
                        if toImage {
                            for j in 0..<w { row[j * s] = prow[j] }
                        } else {
                            for j in 0..<w { prow[j] = row[j * s] }
                        }
                    }
                }}
            }
        }
    }

    /// The nChw16c shuffle: phase p's channels start at block p·O/16, so 16-channel vectors move whole.
    private func shuffleBlocked(phases: Tensor, image: Tensor, toImage: Bool, engine: Engine) {
        let s = stride, blocks = outChannels / 16, h = phases.shape.h, w = phases.shape.w
        let outH = h * s, outW = w * s
        let pd = phases.data, id = image.data
        engine.parallelFor(image.shape.n * blocks * outH, minChunk: 1) { rows in
            for row in rows {
                let r = row % outH, b = (row / outH) % blocks, n = row / (outH * blocks)
                let i = r / s, ah = r % s
                let imageRow = id + ((n * blocks + b) * outH + r) * outW * 16
                for aw in 0..<s {
                    let phaseBlock = (ah * s + aw) * blocks + b
                    let phaseRow = pd + ((n * s * s * blocks + phaseBlock) * h + i) * w * 16
                    for j in 0..<w {
                        let pixel = imageRow + (j * s + aw) * 16, phase = phaseRow + j * 16
                        if toImage {
                            for l in 0..<16 { pixel[l] = phase[l] }
                        } else {
                            for l in 0..<16 { phase[l] = pixel[l] }
                        }
                    }
                }
            }
        }
    }
}
