/// 2-D transposed convolution (oneDNN deconvolution): output size
/// `(in - 1)·stride - 2·padding + kernel + outputPadding`, so kernel 5, stride 2, padding 2,
/// output padding 1 doubles the resolution. Weights are (out, in, k, k) in oneDNN's order
/// (PyTorch's ConvTranspose2d stores (in, out, k, k)): `y[o][i·s - p + k] += x[i] · w[o][c][k]`.
/// Initialised uniform in ±1/sqrt(out·k²) (PyTorch's default for transposed convolutions).
public final class ConvTranspose2D: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let engine: Engine
    let core: ConvolutionCore
    /// Replaces `core` for few-channel outputs, or on request (see `SubPixelDeconvolution`).
    private(set) var subPixel: SubPixelDeconvolution?
    private let settings: (padding: Int, outputPadding: Int, computesInputGradient: Bool)

    /// - Parameters:
    ///   - padding: `nil` means `kernel / 2`.
    ///   - outputPadding: `nil` means `stride - 1` (output = input × stride for odd kernels).
    public init(engine: Engine, name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, outputPadding: Int? = nil, bias: Bool = true,
                computesInputGradient: Bool = true, rng: inout SeededRandom) throws {
        self.engine = engine
        core = try ConvolutionCore(label: name, kind: .deconvolution, inChannels: inChannels,
                                   outChannels: outChannels, kernel: kernel, stride: stride,
                                   padding: padding ?? kernel / 2, outputPadding: outputPadding ?? (stride - 1),
                                   hasBias: bias, computesInputGradient: computesInputGradient)
        subPixel = outChannels % 16 == 0 ? nil : try SubPixelDeconvolution(
            label: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
            padding: padding ?? kernel / 2, outputPadding: outputPadding ?? (stride - 1),
            computesInputGradient: computesInputGradient)
        settings = (padding ?? kernel / 2, outputPadding ?? (stride - 1), computesInputGradient)
        weight = Parameter(name: name + ".weight", shape: core.weightDims)
        self.bias = bias ? Parameter(name: name + ".bias", shape: [outChannels]) : nil
        let bound = 1 / Float(outChannels * kernel * kernel).squareRoot()
        rng.fillUniform(weight, bound: bound)
        if let b = self.bias { rng.fillUniform(b, bound: bound) }
    }

    /// Computes the layer as s² phase convolutions plus a pixel shuffle from now on, also for
    /// outputs whose channels are a multiple of 16: oneDNN 2.6 runs a batch-1 deconvolution
    /// poorly. Results differ from the deconvolution's in f32 rounding only. Returns whether the
    /// geometry allows it (`out = stride · in`); a no-op when already in use.
    @discardableResult
    public func usePhaseConvolutions() throws -> Bool {
        if subPixel != nil { return true }
        subPixel = try SubPixelDeconvolution(label: weight.name.replacingOccurrences(of: ".weight", with: ""),
                                             inChannels: core.inChannels, outChannels: core.outChannels, kernel: core.kernel,
                                             stride: core.stride, padding: settings.padding,
                                             outputPadding: settings.outputPadding,
                                             computesInputGradient: settings.computesInputGradient)
        return subPixel != nil
    }

    public var kernel: Int { core.kernel }
    public var stride: Int { core.stride }
    public var padding: Int { core.padding }
    public var outputPadding: Int { core.outputPadding }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try core.outputShape(for: input) }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        if let subPixel { return try subPixel.forward(x, weights: weight, bias: bias, training: training, engine: engine) }
        return try core.forward(x, weights: weight.value, weightsVersion: weight.version, bias: bias?.value,
                         training: training, engine: engine)
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        if let subPixel { return try subPixel.backward(dy, weights: weight, bias: bias, engine: engine) }
        return try core.backward(dy, weights: weight.value, weightsVersion: weight.version, weightGradient: weight.gradient,
                          biasGradient: bias?.gradient, engine: engine)
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}
