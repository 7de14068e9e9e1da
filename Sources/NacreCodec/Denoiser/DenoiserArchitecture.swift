/// The shape of a denoiser network.
///
/// The network works at half resolution on the pixel-unshuffled image: each 2×2 block of RGB
/// pixels becomes 12 channels, plus one constant channel holding quality/100, so the filter can
/// adapt its strength to the coding quality. `convolutions` 3×3 convolutions (13 → C, C → C …,
/// C → 12) with LeakyReLU between them predict the 12-channel residual, which is shuffled back to
/// full resolution and added to the decoded image.
public struct DenoiserArchitecture: Hashable, Sendable, CustomStringConvertible {
    /// Hidden channels C (1…256).
    public var hiddenChannels: Int
    /// Number of 3×3 convolutions (2…16).
    public var convolutions: Int
    /// Negative slope of the LeakyReLUs, in 1/256 units (0 = ReLU), so it is stored exactly.
    public var negativeSlope256: Int

    /// Space-to-depth factor (fixed at 2 by this format version).
    public static let factor = 2
    /// Channels of the unshuffled image (3 · factor²).
    public static let imageChannels = 12
    /// Input channels: the unshuffled image and the quality plane.
    public static let inputChannels = imageChannels + 1

    public init(hiddenChannels: Int = 16, convolutions: Int = 4, negativeSlope256: Int = 26) {
        self.hiddenChannels = hiddenChannels
        self.convolutions = convolutions
        self.negativeSlope256 = negativeSlope256
    }

    /// Throws unless every field is within its documented range.
    public func validate() throws(DenoiserError) {
        guard (1...256).contains(hiddenChannels), (2...16).contains(convolutions), (0...255).contains(negativeSlope256) else {
            throw DenoiserError(code: .invalidArgument,
                                message: "denoiser architecture \(self) is out of range (channels 1…256, convolutions 2…16, slope 0…255/256)")
        }
    }

    /// The LeakyReLU slope.
    public var negativeSlope: Float { Float(negativeSlope256) / 256 }

    /// (input, output) channels of each convolution, first to last.
    public var layerChannels: [(input: Int, output: Int)] {
        (0..<convolutions).map { i in
            (i == 0 ? Self.inputChannels : hiddenChannels, i == convolutions - 1 ? Self.imageChannels : hiddenChannels)
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
