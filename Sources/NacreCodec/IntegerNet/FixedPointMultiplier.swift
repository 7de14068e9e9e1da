/// A positive real rescaling factor as an integer multiplier and right shift:
/// `rescale(a) = (a · multiplier + 2^(shift−1)) >> shift` with an arithmetic (flooring) shift,
/// i.e. `a · multiplier / 2^shift` rounded to nearest, halves toward +∞. Exact 64-bit integer
/// arithmetic, so every machine gets the same result.
public struct FixedPointMultiplier: Sendable, Equatable {
    /// 0 ..< 2^31; normalised to [2^30, 2^31) unless the factor is tiny.
    public let multiplier: Int32
    /// 0 ... 62.
    public let shift: UInt8

    public static let maximumShift: UInt8 = 62

    /// Wraps stored values; throws `.invalidNetwork` if out of range.
    public init(multiplier: Int32, shift: UInt8) throws {
        guard multiplier >= 0, shift <= Self.maximumShift else {
            throw EntropyCodingError(.invalidNetwork,
                "fixed-point multiplier \(multiplier) >> \(shift) is out of range (multiplier ≥ 0, shift ≤ 62)")
        }
        self.multiplier = multiplier
        self.shift = shift
    }

    /// The closest representable factor to `real` (≥ 0, < 2^31), with 31 significant bits.
    public init(approximating real: Double) throws {
        guard real.isFinite, real >= 0, real < Double(1 << 31) else {
            throw EntropyCodingError(.invalidNetwork,
                "rescaling factor \(real) cannot be a fixed-point multiplier; it must be finite and in [0, 2^31)")
        }
        guard real > 0 else {
            try self.init(multiplier: 0, shift: 0)
            return
        }
        // real = fraction · 2^exponent with fraction in [0.5, 1): multiplier = fraction · 2^31.
        var shift = 31 - Int(real.exponent + 1)
        var m = (real * Double(sign: .plus, exponent: shift, significand: 1)).rounded()
        if m >= Double(1 << 31) { m /= 2; shift -= 1 }
        if shift > Int(Self.maximumShift) {
            m = (real * Double(sign: .plus, exponent: Int(Self.maximumShift), significand: 1)).rounded()
            shift = Int(Self.maximumShift)
        }
        if shift < 0 {
            throw EntropyCodingError(.invalidNetwork, "rescaling factor \(real) is too large for a fixed-point multiplier")
        }
        try self.init(multiplier: Int32(m), shift: UInt8(shift))
    }

    /// The factor this represents (for diagnostics and tests; never used in inference).
    public var realValue: Double { Double(multiplier) / Double(sign: .plus, exponent: Int(shift), significand: 1) }

    /// `value · factor`, rounded to nearest (halves up). |value| < 2^31 cannot overflow.
    @inline(__always)
    public func rescale(_ value: Int32) -> Int64 {
        let product = Int64(value) &* Int64(multiplier)
        guard shift > 0 else { return product }
        return (product &+ (Int64(1) << Int64(shift - 1))) >> Int64(shift)
    }
}
