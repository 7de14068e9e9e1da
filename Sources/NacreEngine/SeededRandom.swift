/// A deterministic pseudo-random generator (xoshiro256**, seeded through SplitMix64), used for
/// weight initialisation so a seed fully determines a model's starting point.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededRandom.splitMix(&sm)
        s1 = SeededRandom.splitMix(&sm)
        s2 = SeededRandom.splitMix(&sm)
        s3 = SeededRandom.splitMix(&sm)
    }

    /// SplitMix64 step: also a good stateless hash of a counter (used for per-element noise).
    @inline(__always)
    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func unitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [-bound, bound).
    public mutating func symmetric(_ bound: Float) -> Float { (unitFloat() * 2 - 1) * bound }

    /// Fills a parameter with values uniform in [-bound, bound).
    public mutating func fillUniform(_ p: Parameter, bound: Float) {
        for i in 0..<p.count { p.value[i] = symmetric(bound) }
        p.markUpdated()
    }
}
