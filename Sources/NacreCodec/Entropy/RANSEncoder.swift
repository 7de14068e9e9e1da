/// An rANS encoder: 64-bit state, 32-bit output words, 16-bit probability precision.
///
/// rANS codes last-in-first-out, so `encode` only records each symbol's (start, frequency); `finish()`
/// runs the coder backwards over them and lays the words out so the decoder reads forwards.
/// Byte layout: `docs/BITSTREAM.md` § rANS stream.
public struct RANSEncoder: Sendable {
    /// Lower bound of the normalised state interval [L, L·2^32).
    static let stateLowerBound: UInt64 = 1 << 31
    /// Bits of a bypass chunk: uniform symbols carry at most this many raw bits.
    static let bypassChunkBits = 16
    /// Bits of the escape's length field (the bit length of `magnitude + 1`, minus one).
    static let escapeLengthBits = 6

    /// Each recorded symbol as `start | (frequency − 1) << 16`.
    private var symbols: [UInt32] = []

    /// An encoder with no symbols yet.
    public init() {}

    /// An encoder with room for about `capacity` symbols.
    public init(reservingCapacity capacity: Int) {
        symbols.reserveCapacity(capacity)
    }

    /// The number of coder symbols recorded so far (escapes record several).
    public var symbolCount: Int { symbols.count }

    /// Records one symbol by its cumulative start and frequency (start + frequency ≤ 65536).
    @inline(__always)
    mutating func push(start: UInt32, frequency: UInt32) {
        symbols.append(start | ((frequency &- 1) << 16))
    }

    /// Encodes `value − mean` with table `table`: a regular symbol if the table covers it, otherwise
    /// the escape symbol followed by the residual in bypass. Every Int32 value and mean round-trips.
    ///
    /// - Throws: `.invalidArgument` if `table` is not below `tables.count`.
    public mutating func encode(_ value: Int32, mean: Int32 = 0, table: Int, in tables: EntropyTables) throws {
        guard table >= 0, table < tables.count else {
            throw EntropyCodingError(.invalidArgument, "table index \(table) is outside 0..<\(tables.count)")
        }
        encodeUnchecked(value, mean: mean, table: table, in: tables)
    }

    /// `encode` for a table index already checked by the caller.
    mutating func encodeUnchecked(_ value: Int32, mean: Int32, table: Int, in tables: EntropyTables) {
        let base = Int(tables.cdfStarts[table])
        let minValue = Int64(tables.minValues[table])
        let regular = Int64(tables.regularCounts[table])
        let symbol = Int64(value) - Int64(mean) - minValue
        if symbol >= 0 && symbol < regular {
            let lo = tables.cdf[base + Int(symbol)]
            push(start: lo, frequency: tables.cdf[base + Int(symbol) + 1] - lo)
            return
        }
        let lo = tables.cdf[base + Int(regular)]
        push(start: lo, frequency: UInt32(CDFQuantizer.total) - lo)
        // Distance beyond the nearest end of the table, ≥ 0, plus a side bit.
        if symbol < 0 {
            encodeEscapeMagnitude(UInt64(-1 - symbol), below: true)
        } else {
            encodeEscapeMagnitude(UInt64(symbol - regular), below: false)
        }
    }

    /// Escape payload: 1 side bit, 6 bits of (bit length of m+1) − 1, then the bits of m+1 under its
    /// leading one, high chunk first (an Elias-gamma code with a fixed-width length field).
    private mutating func encodeEscapeMagnitude(_ magnitude: UInt64, below: Bool) {
        pushBypass(below ? 1 : 0, bitCount: 1)
        let m1 = magnitude + 1  // magnitude < 2^34 for Int32 latents and offsets, no overflow
        let length = UInt64.bitWidth - m1.leadingZeroBitCount
        pushBypass(UInt32(length - 1), bitCount: Self.escapeLengthBits)
        var remaining = length - 1
        while remaining > 0 {
            let chunk = min(remaining, Self.bypassChunkBits)
            remaining -= chunk
            pushBypass(UInt32(truncatingIfNeeded: (m1 >> UInt64(remaining)) & ((1 << UInt64(chunk)) - 1)), bitCount: chunk)
        }
    }

    /// Encodes the low `bitCount` bits of `bits` with uniform probability.
    ///
    /// - Throws: `.invalidArgument` unless `bitCount` is 1...16.
    public mutating func encodeBypass(_ bits: UInt32, bitCount: Int) throws {
        guard bitCount >= 1, bitCount <= Self.bypassChunkBits else {
            throw EntropyCodingError(.invalidArgument, "bypass chunks are 1...16 bits, not \(bitCount)")
        }
        pushBypass(bits, bitCount: bitCount)
    }

    private mutating func pushBypass(_ bits: UInt32, bitCount: Int) {
        let shift = UInt32(CDFQuantizer.precisionBits - bitCount)
        let value = bits & ((1 << UInt32(bitCount)) - 1)
        push(start: value << shift, frequency: 1 << shift)
    }

    /// Runs the coder and returns the stream: the final 64-bit state, then the 32-bit words in the
    /// order the decoder consumes them, all little endian.
    public func finish() -> [UInt8] {
        var state = Self.stateLowerBound
        var words: [UInt32] = []
        words.reserveCapacity(symbols.count / 2 + 4)
        let precision = UInt64(CDFQuantizer.precisionBits)
        symbols.withUnsafeBufferPointer { recorded in
            var i = recorded.count
            while i > 0 {
                i -= 1
                let packed = recorded[i]
                let start = UInt64(packed & 0xFFFF)
                let frequency = UInt64(packed >> 16) + 1
                // Keep the state below L·2^32 after coding: x < (L >> precision) << 32 · freq.
                if state >= (frequency << (63 - precision)) {
                    words.append(UInt32(truncatingIfNeeded: state))
                    state >>= 32
                }
                state = ((state / frequency) << precision) + (state % frequency) + start
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(8 + 4 * words.count)
        withUnsafeBytes(of: state.littleEndian) { out.append(contentsOf: $0) }
        for word in words.reversed() {
            withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }
}
