/// 2-D convolution with square kernel, stride and zero padding, and an optional bias.
/// Weights are (out, in, k, k); initialised uniform in ±1/sqrt(in·k²) (PyTorch's default).
public final class Conv2D: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let engine: Engine
    let core: ConvolutionCore

    /// - Parameters:
    ///   - padding: zero padding on every side; `nil` means `kernel / 2` ("same" at stride 1).
    ///   - computesInputGradient: false for a network's first layer, whose input needs no gradient.
    public init(engine: Engine, name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, bias: Bool = true, computesInputGradient: Bool = true,
                rng: inout SeededRandom) throws {
        self.engine = engine
        core = try ConvolutionCore(label: name, kind: .convolution, inChannels: inChannels, outChannels: outChannels,
                                   kernel: kernel, stride: stride, padding: padding ?? kernel / 2, hasBias: bias,
                                   computesInputGradient: computesInputGradient)
        weight = Parameter(name: name + ".weight", shape: core.weightDims)
        self.bias = bias ? Parameter(name: name + ".bias", shape: [outChannels]) : nil
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        rng.fillUniform(weight, bound: bound)
        if let b = self.bias { rng.fillUniform(b, bound: bound) }
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { try core.outputShape(for: input) }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        try core.forward(x, weights: weight.value, weightsVersion: weight.version, bias: bias?.value,
                         training: training, engine: engine)
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        try core.backward(dy, weights: weight.value, weightsVersion: weight.version, weightGradient: weight.gradient,
                          biasGradient: bias?.gradient, engine: engine)
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}
