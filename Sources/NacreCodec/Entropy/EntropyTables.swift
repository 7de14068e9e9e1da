/// A set of integer probability tables for the rANS coder, selected by index.
///
/// Table `t` codes the integer values `minValue(t) ..< minValue(t) + regularCount(t)` as regular
/// symbols `0 ..< regularCount(t)`; its last symbol (index `regularCount(t)`) is the escape, after
/// which any other value is coded in bypass (see `docs/BITSTREAM.md`). Frequencies are 16-bit
/// precision: every one ≥ 1, each table's sum exactly 65536.
///
/// Tables are built once in Double (`gaussian(scales:tailMass:)`, `factorized(pmfs:firstValues:)`)
/// and from then on are only integers: store `serialized()` with the model, and decoders load them
/// with `init(serialized:)`, so probabilities are identical on every machine.
public struct EntropyTables: Sendable, Equatable {
    /// First coded value of each table.
    public let minValues: [Int32]
    /// Regular (non-escape) symbols of each table.
    public let regularCounts: [Int32]
    /// Cumulative frequencies of all tables, concatenated; table t has regularCount+2 entries
    /// (0, ..., 65536), the last symbol being the escape.
    let cdf: [UInt32]
    /// Where table t's CDF starts in `cdf`.
    let cdfStarts: [Int32]
    /// Decoder search hints, `bucketsPerTable + 1` per table: entry b is the first symbol whose
    /// interval ends above slot `b << 8`, so a slot's symbol lies between entries b and b+1.
    let slotBuckets: [UInt16]
    static let bucketsPerTable = 256

    /// The number of tables.
    public var count: Int { minValues.count }

    /// Builds tables from explicit frequencies (regular symbols then escape, per table).
    ///
    /// - Throws: `.invalidTables` if a table has no regular symbol, a zero frequency, a sum other
    ///   than 65536, or a value range beyond Int32.
    public init(minValues: [Int32], frequencies: [[UInt32]]) throws {
        guard minValues.count == frequencies.count else {
            throw EntropyCodingError(.invalidArgument,
                "\(minValues.count) minimum values for \(frequencies.count) tables; pass one per table")
        }
        var cdf: [UInt32] = []
        var starts: [Int32] = []
        var counts: [Int32] = []
        cdf.reserveCapacity(frequencies.reduce(0) { $0 + $1.count + 1 })
        for (t, freqs) in frequencies.enumerated() {
            let regular = freqs.count - 1
            guard regular >= 1, freqs.count <= CDFQuantizer.total else {
                throw EntropyCodingError(.invalidTables,
                    "table \(t) has \(freqs.count) symbols; it needs 2...65536 (regular symbols plus the escape)")
            }
            guard Int64(minValues[t]) + Int64(regular) - 1 <= Int64(Int32.max) else {
                throw EntropyCodingError(.invalidTables,
                    "table \(t) runs past Int32.max (min \(minValues[t]), \(regular) symbols)")
            }
            starts.append(Int32(cdf.count))
            counts.append(Int32(regular))
            var running: UInt32 = 0
            cdf.append(0)
            for (s, f) in freqs.enumerated() {
                guard f >= 1, f <= UInt32(CDFQuantizer.total) else {
                    throw EntropyCodingError(.invalidTables, "table \(t) symbol \(s) has frequency \(f); every frequency must be 1...65536")
                }
                running &+= f
                guard running <= UInt32(CDFQuantizer.total) else { break }
                cdf.append(running)
            }
            guard running == UInt32(CDFQuantizer.total), cdf.count - Int(starts[t]) == freqs.count + 1 else {
                throw EntropyCodingError(.invalidTables,
                    "table \(t) frequencies sum to \(running), not 65536; re-quantize with CDFQuantizer")
            }
        }
        self.minValues = minValues
        self.regularCounts = counts
        self.cdf = cdf
        self.cdfStarts = starts
        var buckets: [UInt16] = []
        buckets.reserveCapacity(counts.count * (Self.bucketsPerTable + 1))
        for t in counts.indices {
            let base = Int(starts[t])
            var symbol = 0
            for b in 0..<Self.bucketsPerTable {
                while cdf[base + symbol + 1] <= UInt32(b << 8) { symbol += 1 }
                buckets.append(UInt16(symbol))
            }
            buckets.append(UInt16(counts[t]))  // the escape, always the last symbol
        }
        self.slotBuckets = buckets
    }

    /// Raw views of the tables for the coder's inner loops.
    struct Lookup {
        let cdf: UnsafePointer<UInt32>
        let cdfStarts: UnsafePointer<Int32>
        let minValues: UnsafePointer<Int32>
        let regularCounts: UnsafePointer<Int32>
        let slotBuckets: UnsafePointer<UInt16>
        let count: Int
    }

    /// Runs `body` with raw pointers to the tables (valid only inside `body`).
    func withLookup<R>(_ body: (Lookup) throws -> R) rethrows -> R {
        try cdf.withUnsafeBufferPointer { c in
            try cdfStarts.withUnsafeBufferPointer { s in
                try minValues.withUnsafeBufferPointer { m in
                    try regularCounts.withUnsafeBufferPointer { n in
                        try slotBuckets.withUnsafeBufferPointer { b in
                            try body(Lookup(cdf: c.baseAddress!, cdfStarts: s.baseAddress!, minValues: m.baseAddress!,
                                            regularCounts: n.baseAddress!, slotBuckets: b.baseAddress!, count: count))
                        }
                    }
                }
            }
        }
    }

    /// The frequencies of table `t` (regular symbols, then the escape); empty if there is no table t.
    public func frequencies(ofTable t: Int) -> [UInt32] {
        guard t >= 0, t < count else { return [] }
        let start = Int(cdfStarts[t])
        let n = Int(regularCounts[t]) + 1
        return (0..<n).map { cdf[start + $0 + 1] - cdf[start + $0] }
    }

    /// Tables built from probability masses: `masses[t]` covers values `minValues[t]...` and
    /// `tailMasses[t]` is the probability of everything outside (given to the escape).
    public static func quantizing(masses: [[Double]], tailMasses: [Double], minValues: [Int32]) throws -> EntropyTables {
        guard masses.count == tailMasses.count, masses.count == minValues.count else {
            throw EntropyCodingError(.invalidArgument,
                "\(masses.count) pmfs, \(tailMasses.count) tail masses, \(minValues.count) minimum values; pass one of each per table")
        }
        let freqs = try zip(masses, tailMasses).map { try CDFQuantizer.frequencies(masses: $0.0 + [$0.1]) }
        return try EntropyTables(minValues: minValues, frequencies: freqs)
    }

    // MARK: Serialization

    static let magic: [UInt8] = Array("NXET".utf8)
    static let formatVersion: UInt16 = 1

    /// The deterministic little-endian byte encoding (see `docs/BITSTREAM.md` § Entropy tables).
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: Self.magic)
        w.append(Self.formatVersion)
        w.append(UInt8(CDFQuantizer.precisionBits))
        w.append(UInt8(0))
        w.append(UInt32(count))
        for t in 0..<count {
            w.append(minValues[t])
            w.append(UInt32(regularCounts[t]))
            for f in frequencies(ofTable: t) {
                // A table has ≥ 2 symbols of frequency ≥ 1, so every frequency ≤ 65535 fits.
                w.append(UInt16(f))
            }
        }
        return w.bytes
    }

    /// Loads tables written by `serialized()`, validating everything.
    ///
    /// - Throws: `.invalidTables` for a wrong magic, version, precision, length or frequency.
    public init(serialized bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "entropy tables", shortReadCode: .invalidTables)
        guard try r.readBytes(4) == Self.magic else {
            throw EntropyCodingError(.invalidTables, "entropy tables do not start with \"NXET\"; this is not a table block")
        }
        let version = try r.read(UInt16.self)
        guard version == Self.formatVersion else {
            throw EntropyCodingError(.invalidTables, "entropy tables version \(version) is not supported (expected \(Self.formatVersion)); upgrade Nacre")
        }
        let precision = try r.read(UInt8.self)
        _ = try r.read(UInt8.self)
        guard precision == UInt8(CDFQuantizer.precisionBits) else {
            throw EntropyCodingError(.invalidTables, "entropy tables use \(precision)-bit precision; only 16 is supported")
        }
        let tableCount = Int(try r.read(UInt32.self))
        // Each table needs at least 12 bytes, so a huge count in a short block fails fast.
        guard tableCount <= r.remaining / 12 else {
            throw EntropyCodingError(.invalidTables, "entropy tables claim \(tableCount) tables in \(r.remaining) bytes; the block is corrupt")
        }
        var mins: [Int32] = []
        var freqs: [[UInt32]] = []
        for _ in 0..<tableCount {
            mins.append(try r.read(Int32.self))
            let regular = Int(try r.read(UInt32.self))
            guard regular >= 1, regular < CDFQuantizer.total, regular + 1 <= r.remaining / 2 else {
                throw EntropyCodingError(.invalidTables, "an entropy table claims \(regular) symbols; the block is corrupt")
            }
            var f: [UInt32] = []
            f.reserveCapacity(regular + 1)
            for _ in 0...regular { f.append(UInt32(try r.read(UInt16.self))) }
            freqs.append(f)
        }
        guard r.isAtEnd else {
            throw EntropyCodingError(.invalidTables, "\(r.remaining) unexpected bytes after the last entropy table")
        }
        try self.init(minValues: mins, frequencies: freqs)
    }
}
