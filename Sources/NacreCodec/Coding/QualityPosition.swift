/// Where a continuous quality 1…100 falls between the model's trained levels, in integers only so
/// that encoder and decoder derive the same scale-index offsets on every machine.
///
/// Mapping (docs/MODEL.md § Quality): the quality is stored as `code = round(quality · 100)`
/// (100 … 10000). With L trained levels, the position in 1/256 level steps is
/// `p = ((code − 100) · (L − 1) · 256 + 4950) / 9900` (integer division), so quality 1 is level 0,
/// quality 100 is level L − 1, and the levels are evenly spaced in between (their λ are
/// log-spaced, so quality is linear in log λ). The lower neighbour is `l = min(p >> 8, L − 2)` and
/// the weight of the upper one `f = p − 256·l` (0…256). Gains interpolate in the log domain
/// (exponential interpolation of gains, Cui et al. 2021).
public struct QualityPosition: Sendable, Equatable {
    /// Quality × 100, rounded: what the bitstream stores.
    public let code: UInt16
    /// The lower neighbouring level.
    public let level: Int
    /// The weight of level `level + 1`, in 1/256 (0 … 256).
    public let fraction: Int

    /// Smallest and largest quality.
    public static let qualityRange: ClosedRange<Double> = 1...100

    /// The position of a stored quality code among `levelCount` levels.
    ///
    /// - Throws: `.invalidArgument` for a code outside 100…10000 or no levels.
    public init(code: UInt16, levelCount: Int) throws {
        guard (100...10_000).contains(code), levelCount >= 1 else {
            throw CodecError(code: .invalidArgument, message: "quality code \(code) must lie in 100…10000 (quality 1…100) with at least one level")
        }
        self.code = code
        guard levelCount > 1 else {
            level = 0
            fraction = 0
            return
        }
        let position = ((Int(code) - 100) * (levelCount - 1) * 256 + 4950) / 9900
        level = min(position >> 8, levelCount - 2)
        fraction = position - 256 * level
    }

    /// The position of a quality in 1…100.
    public init(quality: Double, levelCount: Int) throws {
        guard quality.isFinite, Self.qualityRange.contains(quality) else {
            throw CodecError(code: .invalidArgument, message: "quality \(quality) must lie in 1…100")
        }
        try self.init(code: UInt16((quality * 100).rounded()), levelCount: levelCount)
    }

    /// The quality this code stands for.
    public var quality: Double { Double(code) / 100 }

    /// Linear interpolation of per-level float values (log gains), `values[level · m + c]`.
    public func interpolate(_ values: [Float], channels m: Int) -> [Float] {
        let w = Float(fraction) / 256
        return (0..<m).map { c in
            let low = values[level * m + c]
            guard fraction > 0 else { return low }
            return low * (1 - w) + values[(level + 1) * m + c] * w
        }
    }

    /// Integer interpolation of per-level offsets, `(o_l·(256 − f) + o_{l+1}·f + 128) >> 8`
    /// (arithmetic shift): exact, so the decoder's scale indices never depend on floating point.
    public func interpolate(_ offsets: [Int32], channels m: Int) -> [Int32] {
        (0..<m).map { c in
            let low = Int64(offsets[level * m + c])
            let high = fraction > 0 ? Int64(offsets[(level + 1) * m + c]) : 0
            return Int32((low * Int64(256 - fraction) + high * Int64(fraction) + 128) >> 8)
        }
    }
}
