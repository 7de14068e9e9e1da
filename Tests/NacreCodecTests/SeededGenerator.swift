/// SplitMix64: a tiny deterministic generator so test data (and the golden fixture) never depend
/// on the platform's random source.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An approximately Gaussian integer (sum of uniforms) with standard deviation about `sigma`.
    mutating func roughGaussian(sigma: Double) -> Int32 {
        var sum = 0.0
        for _ in 0..<4 { sum += Double.random(in: -1...1, using: &self) }
        // Var of one U(-1,1) is 1/3, four of them 4/3.
        return Int32((sum * sigma / (4.0 / 3.0).squareRoot()).rounded())
    }
}
