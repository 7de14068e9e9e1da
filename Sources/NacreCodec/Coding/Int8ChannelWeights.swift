import Foundation

/// Convolution weights in per-output-channel symmetric int8: `w ≈ q · scale[o]` with q in −127…127
/// and one f32 scale per output channel (dimension 0 of the shape, which is the output channel
/// for convolutions and for the engine's transposed convolutions alike).
public struct Int8ChannelWeights: Sendable, Equatable {
    /// How a channel's scale is chosen from its weights.
    public enum Clipping: String, Sendable, CaseIterable {
        /// scale = max |w| / 127: no weight is clipped.
        case maximum
        /// The clipping threshold (a fraction 0.50…1.00 of max |w|, in steps of 0.01) that
        /// minimises the channel's squared weight error: trades clipped outliers for finer steps.
        case meanSquaredError
    }

    /// (out, in, k, k) or any shape whose first dimension is the output channel.
    public let shape: [Int]
    /// One per output channel, finite and ≥ 0 (0 only for an all-zero channel).
    public let scales: [Float]
    /// Row-major like `shape`, each within −127…127.
    public let values: [Int8]

    /// Wraps stored weights, checking the counts and ranges (for loading).
    ///
    /// - Throws: `CodecError.incompatibleModel` when they do not fit.
    public init(shape: [Int], scales: [Float], values: [Int8]) throws {
        guard shape.count >= 1, shape.allSatisfy({ $0 > 0 }), scales.count == shape[0],
              values.count == shape.reduce(1, *) else {
            throw CodecError(code: .incompatibleModel,
                message: "int8 weights of shape \(shape) with \(scales.count) scales and \(values.count) values do not fit; re-export the model")
        }
        guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw CodecError(code: .incompatibleModel, message: "an int8 weight scale is negative, NaN or infinite; the model is corrupt, re-export it")
        }
        guard !values.contains(Int8.min) else {
            throw CodecError(code: .incompatibleModel, message: "an int8 weight is −128 (symmetric weights stop at −127); the model is corrupt, re-export it")
        }
        self.shape = shape
        self.scales = scales
        self.values = values
    }

    /// Quantizes float weights (shape's first dimension = output channel).
    public init(quantizing weights: [Float], shape: [Int], clipping: Clipping = .maximum) throws {
        guard shape.count >= 1, shape[0] > 0, weights.count == shape.reduce(1, *), weights.allSatisfy(\.isFinite) else {
            throw CodecError(code: .invalidArgument, message: "cannot quantize \(weights.count) weights as shape \(shape) (counts differ or a value is not finite)")
        }
        let perChannel = weights.count / shape[0]
        var scales: [Float] = []
        var values: [Int8] = []
        values.reserveCapacity(weights.count)
        for o in 0..<shape[0] {
            let channel = weights[(o * perChannel)..<((o + 1) * perChannel)]
            let scale = Self.scale(for: channel, clipping: clipping)
            scales.append(scale)
            values += channel.map { Self.quantize($0, scale: scale) }
        }
        try self.init(shape: shape, scales: scales, values: values)
    }

    /// The float weights the int8 ones stand for: `q · scale[o]`.
    public func dequantized() -> [Float] {
        let perChannel = values.count / shape[0]
        var result = [Float](repeating: 0, count: values.count)
        for o in 0..<shape[0] {
            let scale = scales[o]
            for i in (o * perChannel)..<((o + 1) * perChannel) { result[i] = Float(values[i]) * scale }
        }
        return result
    }

    static func quantize(_ w: Float, scale: Float) -> Int8 {
        guard scale > 0 else { return 0 }
        return Int8(max(-127, min(127, (w / scale).rounded())))
    }

    /// The scale of one output channel (see `Clipping`).
    static func scale(for channel: ArraySlice<Float>, clipping: Clipping) -> Float {
        let peak = channel.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { return 0 }
        switch clipping {
        case .maximum:
            return peak / 127
        case .meanSquaredError:
            var best = (error: Double.infinity, scale: peak / 127)
            for step in stride(from: 100, through: 50, by: -1) {
                let scale = peak * Float(step) / 100 / 127
                var error = 0.0
                for w in channel {
                    let d = Double(w - Float(quantize(w, scale: scale)) * scale)
                    error += d * d
                }
                if error < best.error { best = (error, scale) }
            }
            return best.scale
        }
    }
}
