/// The shape of a denoiser network.
///
/// The network works at half resolution on the pixel-unshuffled image: each 2×2 block of RGB
/// pixels becomes 12 channels, plus one constant channel holding quality/100, so the filter can
/// adapt its strength to the coding quality, and 3 zero channels (16 in all: oneDNN's blocked
/// layout, whose backward kernels are fast where 13-channel plain tensors fell to a slow one).
/// `convolutions` 3×3 convolutions (16 → C, C → C …, C → 16) with LeakyReLU between them
/// predict the residual in the first 12 output channels (the other 4 are trained to zero and
/// ignored), which is shuffled back to full resolution and added to the decoded image.
public struct DenoiserArchitecture: Hashable, Sendable, CustomStringConvertible {
    /// Hidden channels C (a multiple of 16 in 16…256: the engine's blocked layout).
    public var hiddenChannels: Int
    /// Number of 3×3 convolutions (2…16).
    public var convolutions: Int
    /// Negative slope of the LeakyReLUs, in 1/256 units (0 = ReLU), so it is stored exactly.
    public var negativeSlope256: Int

    /// Space-to-depth factor (fixed at 2 by this format version).
    public static let factor = 2
    /// Channels of the unshuffled image (3 · factor²).
    public static let imageChannels = 12
    /// Channels of the network's input and output tensors.
    public static let tensorChannels = 16

    public init(hiddenChannels: Int = 16, convolutions: Int = 4, negativeSlope256: Int = 26) {
        self.hiddenChannels = hiddenChannels
        self.convolutions = convolutions
        self.negativeSlope256 = negativeSlope256
    }

    /// Throws unless every field is within its documented range.
    public func validate() throws(CodecError) {
        guard (16...256).contains(hiddenChannels), hiddenChannels % 16 == 0, (2...16).contains(convolutions), (0...255).contains(negativeSlope256) else {
            throw CodecError(code: .invalidArgument,
                                message: "denoiser architecture \(self) is out of range (channels a multiple of 16 in 16…256, convolutions 2…16, slope 0…255/256)")
        }
    }

    /// The LeakyReLU slope.
    public var negativeSlope: Float { Float(negativeSlope256) / 256 }

    /// (input, output) channels of each convolution, first to last.
    public var layerChannels: [(input: Int, output: Int)] {
        (0..<convolutions).map { i in
            (i == 0 ? Self.tensorChannels : hiddenChannels, i == convolutions - 1 ? Self.tensorChannels : hiddenChannels)
        }
    }

    /// Weights and biases.
    public var parameterCount: Int { layerChannels.reduce(0) { $0 + $1.input * $1.output * 9 + $1.output } }

    /// Multiply-accumulates per full-resolution pixel.
    public var multiplyAccumulatesPerPixel: Double {
        Double(layerChannels.reduce(0) { $0 + $1.input * $1.output * 9 }) / Double(Self.factor * Self.factor)
    }

    /// How far (in half-resolution pixels) an output depends on its input: one per 3×3 convolution.
    public var receptiveRadius: Int { convolutions }

    public var description: String { "C=\(hiddenChannels), \(convolutions) convolutions, slope \(negativeSlope256)/256" }
}
