/// The sampling rule of the crop reservoir: Vitter's Algorithm R over every crop ever offered.
///
/// After `n` offers each offered crop is in the reservoir with probability `min(1, k/n)`, so the
/// reservoir represents the whole ingest history, not its most recent part. The count of offers
/// persists in the catalog (`reservoir.offered`), so the rule holds across restarts.
struct ReservoirSampler: Sendable, Equatable {
    /// What to do with the crop being offered.
    enum Decision: Sendable, Equatable {
        /// Keep it in a free slot (the reservoir is not full yet).
        case add
        /// Keep it in place of the crop in slot `slot` (0-based, in the reservoir's order).
        case replace(slot: Int)
        /// Do not keep it.
        case skip
    }

    /// Largest number of crops kept.
    let capacity: Int

    /// The decision for the offer that comes after `offeredBefore` earlier offers, with the
    /// reservoir currently holding `held` crops. `random(upTo:)` returns a uniform integer in
    /// `0..<upTo` (injected so the statistics can be tested with a seeded generator).
    func decide(offeredBefore: Int, held: Int, random: (Int) -> Int) -> Decision {
        guard capacity > 0 else { return .skip }
        if held < capacity { return .add }
        // Algorithm R: the (n+1)-th item replaces a uniformly chosen slot with probability k/(n+1).
        let j = random(max(offeredBefore, held) + 1)
        return j < capacity ? .replace(slot: j) : .skip
    }

    /// Whether crops of the original with this SHA-256 (hex) are held back for the gate: a
    /// stable function of the source, so all crops of one photo land on the same side and the
    /// split never changes. `percent` of sources, to within the hash's resolution (1/65536).
    static func isHeldBack(sourceSHA256 hex: String, percent: Double) -> Bool {
        guard percent > 0 else { return false }
        let prefix = UInt32(hex.prefix(4), radix: 16) ?? 0
        return Double(prefix) < percent / 100 * 65_536
    }
}
