/// A float convolution layer as trained (PyTorch weight layouts), the input to
/// `IntegerHyperSynthesis.quantizing`. Its `forward` is a plain reference (Double accumulation)
/// used for calibration and for checking the integer network; it never decides a probability.
public struct FloatConvLayer: Sendable, Equatable {
    /// The nonlinearity after the layer.
    public enum Activation: Sendable, Equatable {
        case relu
        case identity
    }

    public let geometry: ConvolutionGeometry
    public let inputChannels: Int
    public let outputChannels: Int
    /// PyTorch layout: convolution `[out][in][ky][kx]`, transposed convolution `[in][out][ky][kx]`.
    public let weights: [Float]
    public let biases: [Float]
    public let activation: Activation

    /// - Throws: `.invalidNetwork` if the array lengths do not match the shape or a value is not finite.
    public init(geometry: ConvolutionGeometry, inputChannels: Int, outputChannels: Int,
                weights: [Float], biases: [Float], activation: Activation) throws {
        guard inputChannels >= 1, outputChannels >= 1,
              weights.count == inputChannels * outputChannels * geometry.kernelHeight * geometry.kernelWidth,
              biases.count == outputChannels else {
            throw EntropyCodingError(.invalidNetwork,
                "a \(inputChannels)→\(outputChannels) \(geometry.kernelHeight)×\(geometry.kernelWidth) layer needs \(inputChannels * outputChannels * geometry.kernelHeight * geometry.kernelWidth) weights and \(outputChannels) biases; got \(weights.count) and \(biases.count)")
        }
        guard weights.allSatisfy(\.isFinite), biases.allSatisfy(\.isFinite) else {
            throw EntropyCodingError(.invalidNetwork, "layer weights or biases contain NaN or infinity; the model is broken")
        }
        self.geometry = geometry
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.weights = weights
        self.biases = biases
        self.activation = activation
    }

    /// The weight from input channel i to output channel o at tap t (= ky · kernelWidth + kx).
    func weight(out o: Int, in i: Int, tap t: Int) -> Float {
        let taps = geometry.kernelHeight * geometry.kernelWidth
        switch geometry.kind {
        case .convolution: return weights[(o * inputChannels + i) * taps + t]
        case .transposedConvolution: return weights[(i * outputChannels + o) * taps + t]
        }
    }

    /// The layer's output (reference implementation).
    public func forward(_ input: FloatFeatureMap) throws -> FloatFeatureMap {
        guard input.channels == inputChannels, let (oh, ow) = geometry.outputSize(height: input.height, width: input.width) else {
            throw EntropyCodingError(.invalidArgument,
                "a \(input.channels)×\(input.height)×\(input.width) input does not fit this \(inputChannels)-channel layer")
        }
        let rows = geometry.contributions(outputs: oh, inputs: input.height, kernel: geometry.kernelHeight)
        let columns = geometry.contributions(outputs: ow, inputs: input.width, kernel: geometry.kernelWidth)
        let plane = input.height * input.width
        var out = [Float](repeating: 0, count: outputChannels * oh * ow)
        for o in 0..<outputChannels {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = Double(biases[o])
                    for (ky, iy) in rows[oy] {
                        for (kx, ix) in columns[ox] {
                            let t = ky * geometry.kernelWidth + kx
                            for i in 0..<inputChannels {
                                sum += Double(weight(out: o, in: i, tap: t)) * Double(input.values[i * plane + iy * input.width + ix])
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = Float(activation == .relu ? max(sum, 0) : sum)
                }
            }
        }
        return try FloatFeatureMap(channels: outputChannels, height: oh, width: ow, values: out)
    }
}
