/// The integer hyper-synthesis h_s: quantized z → one Gaussian scale-table index per element of y,
/// computed with integer layers only, so encoder and decoder agree bit for bit on every machine.
///
/// Output convention: the last layer predicts the index directly, in index units
/// `t = (ln σ − ln σ₀) / Δ` with Δ the table's log step (for the default table σ₀ = 0.11,
/// Δ = ln(256/0.11)/63); the integer output is `clamp(round(t), 0, indexCount − 1)`. Train the float
/// h_s with that relaxation: σ = σ₀ · exp(Δ · t) (optionally with t clamped to [0, 63]).
public struct IntegerHyperSynthesis: Sendable, Equatable {
    /// The layers in order; each one's input range is the previous one's output range.
    public let layers: [IntegerConvLayer]

    /// - Throws: `.invalidNetwork` if layers do not chain (channels, ranges) or the final output
    ///   range is not inside 0...255.
    public init(layers: [IntegerConvLayer]) throws {
        guard let last = layers.last else { throw EntropyCodingError(.invalidNetwork, "a hyper-synthesis needs at least one layer") }
        for (l, pair) in zip(layers, layers.dropFirst()).enumerated() {
            guard pair.0.outputChannels == pair.1.inputChannels, pair.0.outputRange == pair.1.inputRange else {
                throw EntropyCodingError(.invalidNetwork,
                    "layer \(l) outputs \(pair.0.outputChannels) channels in \(pair.0.outputRange) but layer \(l + 1) expects \(pair.1.inputChannels) in \(pair.1.inputRange)")
            }
        }
        guard last.outputRange.lowerBound >= 0, last.outputRange.upperBound <= 255 else {
            throw EntropyCodingError(.invalidNetwork, "the last layer's output range \(last.outputRange) must lie in 0...255 (scale indices)")
        }
        self.layers = layers
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

    /// The scale index of every element of y, channel-major (CHW, `outputChannels × outputSize`).
    /// z values are clamped to the first layer's input range.
    ///
    /// - Throws: `.invalidArgument` if z has the wrong channel count or is too small.
    public func scaleIndices(for z: IntegerFeatureMap) throws -> [UInt8] {
        guard z.channels == inputChannels else {
            throw EntropyCodingError(.invalidArgument, "the hyper-synthesis expects \(inputChannels) z channels, got \(z.channels)")
        }
        var values = IntegerConvLayer.channelsLast(z, clampedTo: layers[0].inputRange)
        var height = z.height, width = z.width
        for layer in layers {
            (values, height, width) = try layer.applyChannelsLast(values, height: height, width: width)
        }
        let map = IntegerConvLayer.channelsFirst(values, channels: outputChannels, height: height, width: width)
        return map.values.map { UInt8(truncatingIfNeeded: $0) }
    }
}
