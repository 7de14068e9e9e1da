/// Turns a probability mass function into integer symbol frequencies for the coder.
///
/// The result always has every frequency ≥ 1 and a total of exactly `1 << precisionBits`, so any
/// symbol, even one the model thought impossible, stays codable. The procedure is deterministic
/// (no sort instability, no platform-dependent math beyond IEEE +, ×, ÷, floor):
/// 1. every symbol gets 1;
/// 2. the remaining `R = 2^16 − count` units are shared in proportion: `floor(p_i / Σp · R)`;
/// 3. the units still left go one each to the largest fractional remainders (ties: lower index).
public enum CDFQuantizer {
    /// Bits of probability precision. Frequencies sum to `1 << precisionBits`.
    public static let precisionBits = 16
    /// The total every table's frequencies sum to.
    public static let total = 1 << precisionBits

    /// Quantizes `masses` (one per symbol, ≥ 0, any total) to frequencies summing to 2^16.
    ///
    /// - Throws: `.invalidDistribution` if a mass is negative or not finite, or if there are no
    ///   symbols or more than 2^16 of them.
    public static func frequencies(masses: [Double]) throws -> [UInt32] {
        let count = masses.count
        guard count >= 1, count <= total else {
            throw EntropyCodingError(.invalidDistribution,
                "a table needs 1...\(total) symbols, got \(count); narrow the value range")
        }
        var sum = 0.0
        for (i, m) in masses.enumerated() {
            guard m.isFinite, m >= 0 else {
                throw EntropyCodingError(.invalidDistribution,
                    "mass \(m) at symbol \(i) is negative or not finite; clamp the density first")
            }
            sum += m
        }
        let spare = total - count
        var freqs = [UInt32](repeating: 1, count: count)
        if spare == 0 { return freqs }
        // No mass at all: share evenly.
        let normalised: [Double] = sum > 0 ? masses.map { $0 / sum } : Array(repeating: 1.0 / Double(count), count: count)

        var remainders = [Double](repeating: 0, count: count)
        var given = 0
        for i in 0..<count {
            let share = normalised[i] * Double(spare)
            let whole = share.rounded(.down)
            let units = min(Int(whole), spare)
            freqs[i] += UInt32(units)
            given += units
            remainders[i] = share - whole
        }
        if given > spare {
            // Rounding can only overshoot by a hair; take the excess back from the largest.
            var excess = given - spare
            while excess > 0 {
                let i = freqs.indices.max { freqs[$0] < freqs[$1] || (freqs[$0] == freqs[$1] && $0 > $1) }!
                let take = min(excess, Int(freqs[i]) - 1)
                if take == 0 { break }  // unreachable (the total would be ≤ count), but never spin
                freqs[i] -= UInt32(take)
                excess -= take
            }
        } else if given < spare {
            let order = remainders.indices.sorted {
                remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1
            }
            var left = spare - given
            var k = 0
            while left > 0 {
                freqs[order[k % count]] += 1
                left -= 1
                k += 1
            }
        }
        return freqs
    }
}
