import NacreEngine
import NacreImage

/// A learned post-filter for decoded images: a small residual CNN at half resolution
/// (`DenoiserArchitecture`) trained for one decoder, stored as its own block (docs/MODEL.md,
/// "Denoiser block") in an archive's model frame and applied on restore when asked for.
public final class Denoiser {
    public let architecture: DenoiserArchitecture
    /// Identifier (`CodecModel.identifier`) of the decoder whose output this denoiser was trained on.
    public let decoderIdentifier: UInt64
    /// Provenance (`key=value`, e.g. training steps and validation gain); part of the block.
    public var info: [String: String]
    let engine: Engine
    let convolutions: [Conv2D]
    let network: Sequential

    /// Steps each side of zero on the stored weight grid (1…127): each output channel's largest
    /// weight is stored as ±`weightLevels`. 127 uses all of int8; a coarser grid (e.g. 31) costs
    /// a little precision and makes the block compress in the archive's zstd frame (about 5
    /// instead of 8 bits a weight). Loading a block restores the grid it was written with.
    public var weightLevels = Denoiser.maximumWeightLevels {
        didSet { weightLevels = min(Self.maximumWeightLevels, max(1, weightLevels)) }
    }

    /// Half-resolution side of the tiles an image is filtered in (bounded memory for any size);
    /// the result does not depend on it (tests change it).
    var tileSide = 256

    /// A denoiser with fresh weights: uniform initialisation, and a zero last layer so that it
    /// starts as the identity (training only ever has to learn a correction).
    public init(architecture: DenoiserArchitecture, decoderIdentifier: UInt64, engine: Engine, seed: UInt64 = 1,
                info: [String: String] = [:]) throws {
        try architecture.validate()
        self.architecture = architecture
        self.decoderIdentifier = decoderIdentifier
        self.engine = engine
        self.info = info
        var rng = SeededRandom(seed: seed)
        var convolutions: [Conv2D] = []
        var layers: [any Layer] = []
        for (index, channels) in architecture.layerChannels.enumerated() {
            let conv = try Conv2D(engine: engine, name: "denoiser.\(index)", inChannels: channels.input,
                                  outChannels: channels.output, kernel: 3, computesInputGradient: index > 0, rng: &rng)
            convolutions.append(conv)
            layers.append(conv)
            if index < architecture.convolutions - 1 { layers.append(ReLU(engine: engine, negativeSlope: architecture.negativeSlope)) }
        }
        for p in convolutions.last!.parameters { try p.setValues([Float](repeating: 0, count: p.count)) }
        // Weights from the always-zero input planes never train: start them at zero, as stored.
        let first = convolutions[0].weight, inputs = first.shape[1], kernelArea = first.count / (first.shape[0] * inputs)
        var firstWeights = first.values()
        for o in 0..<first.shape[0] {
            for i in 0..<inputs where Self.isDead(convolution: 0, of: convolutions.count, output: o, input: i) {
                for k in 0..<kernelArea { firstWeights[(o * inputs + i) * kernelArea + k] = 0 }
            }
        }
        try first.setValues(firstWeights)
        self.convolutions = convolutions
        network = Sequential(layers)
    }

    /// Trainable parameters (weights and biases of every convolution, first to last).
    public var parameters: [Parameter] { network.parameters }

    /// Number of weights and biases.
    public var parameterCount: Int { architecture.parameterCount }

    /// The decoder identifier as 16 hex digits.
    public var decoderIdentifierString: String { Self.hex(decoderIdentifier) }

    /// Throws `wrongDecoder` unless this denoiser was trained for the decoder `identifier`.
    public func requireDecoder(_ identifier: UInt64) throws(CodecError) {
        guard identifier == decoderIdentifier else {
            throw CodecError(code: .wrongDecoder,
                message: "the denoiser was trained for decoder \(Self.hex(decoderIdentifier)) but the image was decoded by \(Self.hex(identifier)); train a denoiser for this decoder (`nacre train-denoiser --model …`) or restore without denoising")
        }
    }

    /// The filtered image: `image` (decoded by the denoiser's decoder at `quality`, 1…100) plus
    /// the predicted residual, rounded to 8 bits; alpha is kept as it is. Works in tiles of 512
    /// pixels with an overlap of the receptive field, so the result does not depend on the tiling.
    public func apply(to image: PixelBuffer, quality: Double) throws -> PixelBuffer {
        guard quality >= 1, quality <= 100 else {
            throw CodecError(code: .invalidArgument, message: "quality \(quality) is outside 1…100")
        }
        let half = DenoiserPlanes.halfSize(width: image.width, height: image.height)
        let margin = architecture.receptiveRadius
        var output = image.rgb
        for tileY in stride(from: 0, to: half.height, by: tileSide) {
            for tileX in stride(from: 0, to: half.width, by: tileSide) {
                let core = DenoiserPlanes.Region(x: tileX, y: tileY, width: min(tileSide, half.width - tileX),
                                                 height: min(tileSide, half.height - tileY))
                let x0 = max(0, core.x - margin), y0 = max(0, core.y - margin)
                let region = DenoiserPlanes.Region(x: x0, y: y0, width: min(half.width, core.x + core.width + margin) - x0,
                                                   height: min(half.height, core.y + core.height + margin) - y0)
                let input = try Tensor(zeros: TensorShape(n: 1, c: DenoiserArchitecture.tensorChannels, h: region.height, w: region.width))
                DenoiserPlanes.writeInput(image, quality: quality, region: region, to: input.data, threads: engine.threads)
                let residual = try infer(input)
                DenoiserPlanes.addResidual(residual.data, region: region, core: core, decoded: image.rgb,
                                           width: image.width, height: image.height, into: &output, threads: engine.threads)
            }
        }
        return try PixelBuffer(width: image.width, height: image.height, rgb: output, alpha: image.alpha)
    }
}

extension Denoiser {
    /// The network's forward pass for inference: the convolutions with the LeakyReLU done in
    /// place (the training layers allocate a new tensor per activation).
    func infer(_ input: Tensor) throws -> Tensor {
        var x = input
        let slope = architecture.negativeSlope
        for (index, conv) in convolutions.enumerated() {
            x = try conv.forward(x, training: false)
            if index < convolutions.count - 1 { Self.leakyReLUInPlace(x.data, count: x.count, slope: slope) }
        }
        return x
    }

    static func leakyReLUInPlace(_ data: UnsafeMutablePointer<Float>, count: Int, slope: Float) {
        for i in 0..<count {
            let v = data[i]
            data[i] = v > 0 ? v : v * slope
        }
    }

    /// `value` as 16 hex digits (how decoder identifiers are shown everywhere).
    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
