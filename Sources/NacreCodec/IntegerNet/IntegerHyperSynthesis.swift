/// The integer hyper-synthesis h_s: quantized z → one Gaussian scale-table index per element of y,
/// computed with integer layers only, so encoder and decoder agree bit for bit on every machine.
///
/// Output convention: the last layer predicts the continuous index `t = (ln σ − ln σ₀) / Δ`, with
/// Δ the table's log step (for the default table σ₀ = 0.11, Δ = ln(256/0.11)/63), in fixed point
/// with `indexFractionBits` fraction bits. The table index of element (c, i) is
/// `clamp((t_fixed + offset_c + 2^(f−1)) >> f, 0, indexCount − 1)` where `offset_c` is an optional
/// per-channel integer offset in the same units (the codec adds the quality's log-gain there).
/// With `indexFractionBits = 0` (format version 1) the last layer outputs the index itself,
/// already clamped to `0 ..< indexCount`.
/// Train the float h_s with the relaxation σ = σ₀ · exp(Δ · t).
public struct IntegerHyperSynthesis: Sendable, Equatable {
    /// The layers in order; each one's input range is the previous one's output range.
    public let layers: [IntegerConvLayer]
    /// Fraction bits of the last layer's output (0: it is the index itself).
    public let indexFractionBits: Int
    /// Number of scale tables; indices are clamped to `0 ..< indexCount`.
    public let indexCount: Int

    /// The largest supported `indexFractionBits`.
    public static let maximumIndexFractionBits = 12

    /// - Parameters:
    ///   - indexFractionBits: 0 for a last layer that outputs the index (its range must then lie
    ///     in 0...255), or 1...12 for a fixed-point continuous index.
    ///   - indexCount: number of tables; `nil` means `outputRange.upperBound + 1` of the last
    ///     layer when `indexFractionBits` is 0, and 64 otherwise.
    /// - Throws: `.invalidNetwork` if layers do not chain (channels, ranges) or the final output
    ///   range does not suit the index convention.
    public init(layers: [IntegerConvLayer], indexFractionBits: Int = 0, indexCount: Int? = nil) throws {
        guard let last = layers.last else { throw EntropyCodingError(.invalidNetwork, "a hyper-synthesis needs at least one layer") }
        for (l, pair) in zip(layers, layers.dropFirst()).enumerated() {
            guard pair.0.outputChannels == pair.1.inputChannels, pair.0.outputRange == pair.1.inputRange else {
                throw EntropyCodingError(.invalidNetwork,
                    "layer \(l) outputs \(pair.0.outputChannels) channels in \(pair.0.outputRange) but layer \(l + 1) expects \(pair.1.inputChannels) in \(pair.1.inputRange)")
            }
        }
        guard (0...Self.maximumIndexFractionBits).contains(indexFractionBits) else {
            throw EntropyCodingError(.invalidNetwork, "index fraction bits \(indexFractionBits) must lie in 0...\(Self.maximumIndexFractionBits)")
        }
        if indexFractionBits == 0 {
            guard last.outputRange.lowerBound >= 0, last.outputRange.upperBound <= 255 else {
                throw EntropyCodingError(.invalidNetwork, "the last layer's output range \(last.outputRange) must lie in 0...255 (scale indices)")
            }
        }
        let count = indexCount ?? (indexFractionBits == 0 ? Int(last.outputRange.upperBound) + 1 : 64)
        guard (1...256).contains(count) else {
            throw EntropyCodingError(.invalidNetwork, "index count \(count) must lie in 1...256")
        }
        self.layers = layers
        self.indexFractionBits = indexFractionBits
        self.indexCount = count
    }

    /// z channels expected.
    public var inputChannels: Int { layers[0].inputChannels }
    /// y channels produced.
    public var outputChannels: Int { layers[layers.count - 1].outputChannels }

    /// y's height and width for a z of `height × width` (4× for the standard h_s), or nil if too small.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        var size: (height: Int, width: Int)? = (height, width)
        for layer in layers { size = size.flatMap { layer.geometry.outputSize(height: $0.height, width: $0.width) } }
        return size
    }

    /// The last layer's raw output (the fixed-point continuous index, or the index itself when
    /// `indexFractionBits` is 0), channel-major. z values are clamped to the first layer's input range.
    ///
    /// - Throws: `.invalidArgument` if z has the wrong channel count or is too small.
    public func rawIndices(for z: IntegerFeatureMap) throws -> IntegerFeatureMap {
        try apply(layers[...], to: z)
    }

    /// The output of every layer but the last (what a mean head reads), channel-major, in that
    /// layer's integer units (0...255). Exact like the indices.
    public func hiddenFeatures(for z: IntegerFeatureMap) throws -> IntegerFeatureMap {
        try apply(layers.dropLast(), to: z)
    }

    private func apply(_ chosen: ArraySlice<IntegerConvLayer>, to z: IntegerFeatureMap) throws -> IntegerFeatureMap {
        guard z.channels == inputChannels else {
            throw EntropyCodingError(.invalidArgument, "the hyper-synthesis expects \(inputChannels) z channels, got \(z.channels)")
        }
        var values = IntegerConvLayer.channelsLast(z, clampedTo: layers[0].inputRange)
        var height = z.height, width = z.width
        for layer in chosen {
            (values, height, width) = try layer.applyChannelsLast(values, height: height, width: width)
        }
        let channels = chosen.last?.outputChannels ?? inputChannels
        return IntegerConvLayer.channelsFirst(values, channels: channels, height: height, width: width)
    }

    /// The scale index of every element of y, channel-major (CHW, `outputChannels × outputSize`):
    /// `clamp((raw + offset_c + 2^(f−1)) >> f, 0, indexCount − 1)` (no rounding term when f = 0).
    ///
    /// - Parameter channelOffsets: one offset per y channel in units of 2^−f index steps, each
    ///   within ±2^24; nil means zeros.
    /// - Throws: `.invalidArgument` for a wrong z, or offsets of the wrong count or range.
    public func scaleIndices(for z: IntegerFeatureMap, channelOffsets: [Int32]? = nil) throws -> [UInt8] {
        if let channelOffsets {
            guard channelOffsets.count == outputChannels, channelOffsets.allSatisfy({ abs($0) <= 1 << 24 }) else {
                throw EntropyCodingError(.invalidArgument,
                    "\(channelOffsets.count) index offsets for \(outputChannels) channels (each within ±2^24); pass one per y channel")
            }
        }
        let raw = try rawIndices(for: z)
        let plane = raw.height * raw.width
        let shift = Int64(indexFractionBits)
        let half: Int64 = indexFractionBits > 0 ? 1 << (shift - 1) : 0
        let top = Int64(indexCount - 1)
        var out = [UInt8](repeating: 0, count: raw.values.count)
        for c in 0..<raw.channels {
            let offset = Int64(channelOffsets?[c] ?? 0) + half
            for i in (c * plane)..<((c + 1) * plane) {
                let index = (Int64(raw.values[i]) + offset) >> shift
                out[i] = UInt8(min(max(index, 0), top))
            }
        }
        return out
    }
}
