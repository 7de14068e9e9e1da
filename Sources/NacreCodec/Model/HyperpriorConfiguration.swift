/// Shape and rate settings of the scale-hyperprior model.
public struct HyperpriorConfiguration: Codable, Sendable, Equatable {
    /// Channels of the hidden layers of every transform (N).
    public var hiddenChannels: Int
    /// Channels of the latent y (M).
    public var latentChannels: Int
    /// Rate-distortion trade-offs of the model's quality levels, lowest rate first, for
    /// loss = bits/pixel + λ · MSE on the 0…255 scale. Defaults: CompressAI's 8 MSE levels.
    public var lambdas: [Double]
    /// Whether h_s also predicts y's means (the mean-scale hyperprior of Minnen et al. 2018),
    /// with a float head on the integer h_s's hidden features: the coder then codes
    /// round(y − μ) under the same zero-mean tables, and μ only moves the reconstruction.
    public var predictsMeans: Bool

    /// N = 64, M = 192 and the 8 MSE levels 0.0018 … 0.18: the shape of the shipped base model
    /// (base-v2). M = 96 (base-v1) saturated at high rates: 96 latents per 16 × 16 × 3 pixel
    /// values are too few (models/base-v2/README.md), and M costs the decoder little.
    public static let standard = HyperpriorConfiguration(
        hiddenChannels: 64, latentChannels: 192,
        lambdas: [0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800])

    public init(hiddenChannels: Int, latentChannels: Int, lambdas: [Double], predictsMeans: Bool = false) {
        self.hiddenChannels = hiddenChannels
        self.latentChannels = latentChannels
        self.lambdas = lambdas
        self.predictsMeans = predictsMeans
    }

    private enum CodingKeys: String, CodingKey {
        case hiddenChannels, latentChannels, lambdas, predictsMeans
    }

    /// Reads configurations saved before means existed as scale-only models.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hiddenChannels = try container.decode(Int.self, forKey: .hiddenChannels)
        latentChannels = try container.decode(Int.self, forKey: .latentChannels)
        lambdas = try container.decode([Double].self, forKey: .lambdas)
        predictsMeans = try container.decodeIfPresent(Bool.self, forKey: .predictsMeans) ?? false
    }

    /// Number of trained quality levels.
    public var levelCount: Int { lambdas.count }

    /// Multiply-accumulates per image pixel of the decoder (g_s and h_s), convolutions and
    /// (I)GDN included, activations and gains excluded.
    public var decoderMACsPerPixel: Double {
        let n = Double(hiddenChannels), m = Double(latentChannels)
        // A transposed convolution costs in·out·k² per *input* pixel; input resolutions of g_s
        // are 1/16, 1/8, 1/4 and 1/2 of the image side.
        let synthesis = (m * n * 25) / 256 + (n * n * 25) / 64 + (n * n * 25) / 16 + (n * 3 * 25) / 4
        let igdn = n * n * (1.0 / 64 + 1.0 / 16 + 1.0 / 4)
        // h_s: two 5×5 stride-2 transposed convolutions from 1/64 and 1/32, then a 3×3 at 1/16.
        let hyperSynthesis = (n * n * 25) / 4096 + (n * n * 25) / 1024 + (n * m * 9) / 256
        // The mean head: one more 3×3 convolution at 1/16 beside h_s's last.
        let meanHead = predictsMeans ? (n * m * 9) / 256 : 0
        return synthesis + igdn + hyperSynthesis + meanHead
    }
}
