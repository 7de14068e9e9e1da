extension EntropyTables {
    /// Factorized-prior tables for z: one per channel.
    ///
    /// `pmfs[c][i]` is the probability that channel c's quantized value equals `firstValues[c] + i`.
    /// The codec centres each range on the channel's rounded median, so pass
    /// `firstValues[c] = round(median_c) − (pmfs[c].count − 1) / 2` for a symmetric range. Whatever
    /// mass the pmf does not cover (`1 − Σ pmf`, at least 0) is given to the escape, which keeps
    /// values outside the range codable.
    public static func factorized(pmfs: [[Double]], firstValues: [Int32]) throws -> EntropyTables {
        var tails: [Double] = []
        for (c, pmf) in pmfs.enumerated() {
            var sum = 0.0
            for p in pmf {
                guard p.isFinite, p >= 0 else {
                    throw EntropyCodingError(.invalidDistribution,
                        "channel \(c) pmf has value \(p); every probability must be finite and ≥ 0")
                }
                sum += p
            }
            tails.append(max(0, 1 - sum))
        }
        return try quantizing(masses: pmfs, tailMasses: tails, minValues: firstValues)
    }
}
