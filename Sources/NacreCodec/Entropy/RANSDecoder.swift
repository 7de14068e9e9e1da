/// The rANS decoder matching `RANSEncoder`. Every read is bounds-checked and every loop bounded:
/// a truncated or corrupt stream throws `EntropyCodingError`, never traps or hangs.
public struct RANSDecoder: Sendable {
    private var state: UInt64
    private let bytes: [UInt8]
    private var position: Int

    /// Starts decoding `bytes` (a stream from `RANSEncoder.finish()`).
    ///
    /// - Throws: `.truncatedStream` if the 8-byte initial state is missing, `.corruptStream` if it is
    ///   outside the coder's state interval.
    public init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 8 else {
            throw EntropyCodingError(.truncatedStream,
                "an rANS stream starts with an 8-byte state, but only \(bytes.count) byte(s) were given")
        }
        var s: UInt64 = 0
        for i in 0..<8 { s |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard s >= RANSEncoder.stateLowerBound else {
            throw EntropyCodingError(.corruptStream, "the rANS initial state \(s) is below 2^31; the stream is corrupt")
        }
        self.state = s
        self.bytes = bytes
        self.position = 8
    }

    /// Takes the decoded symbol (cumulative `start`, `frequency`, `slot`) off the state and refills it.
    @inline(__always)
    private mutating func consume(start: UInt32, frequency: UInt32, slot: UInt32) throws {
        state = UInt64(frequency) &* (state >> UInt64(CDFQuantizer.precisionBits)) &+ UInt64(slot &- start)
        if state < RANSEncoder.stateLowerBound {
            guard position + 4 <= bytes.count else {
                throw EntropyCodingError(.truncatedStream,
                    "the rANS stream ended at byte \(bytes.count) while symbols remained; it is truncated")
            }
            let word = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8
                | UInt32(bytes[position + 2]) << 16 | UInt32(bytes[position + 3]) << 24
            position += 4
            state = (state << 32) | UInt64(word)
        }
    }

    /// Decodes one value coded by `RANSEncoder.encode(_:mean:table:in:)` with the same table and mean.
    ///
    /// - Throws: `.truncatedStream` / `.corruptStream` on a bad stream, `.invalidArgument` for a
    ///   table index out of range.
    public mutating func decode(mean: Int32 = 0, table: Int, in tables: EntropyTables) throws -> Int32 {
        guard table >= 0, table < tables.count else {
            throw EntropyCodingError(.invalidArgument, "table index \(table) is outside 0..<\(tables.count)")
        }
        return try tables.withLookup { try decode(mean: mean, table: table, lookup: $0) }
    }

    /// `decode(mean:table:in:)` on raw tables; `table` must be below `lookup.count`.
    @inline(__always)
    mutating func decode(mean: Int32, table: Int, lookup: EntropyTables.Lookup) throws -> Int32 {
        let cdf = lookup.cdf + Int(lookup.cdfStarts[table])
        let regular = Int(lookup.regularCounts[table])
        let slot = UInt32(truncatingIfNeeded: state) & 0xFFFF
        // The slot's symbol s (cdf[s] ≤ slot < cdf[s+1]) lies between two bucket hints.
        let hints = lookup.slotBuckets + table * (EntropyTables.bucketsPerTable + 1) + Int(slot >> 8)
        var lo = Int(hints[0]), hi = Int(hints[1])  // invariant: cdf[lo] ≤ slot, answer ≤ hi
        while lo < hi {
            let mid = (lo + hi + 1) >> 1
            if cdf[mid] <= slot { lo = mid } else { hi = mid - 1 }
        }
        let symbol = lo
        let start = cdf[symbol]
        try consume(start: start, frequency: cdf[symbol + 1] - start, slot: slot)
        let minValue = Int64(lookup.minValues[table])
        let residual: Int64
        if symbol < regular {
            residual = minValue + Int64(symbol)
        } else {
            let below = try decodeBypass(bitCount: 1) == 1
            let magnitude = try decodeEscapeMagnitude()
            // magnitude < 2^35 here, so these cannot overflow Int64.
            residual = below ? minValue - 1 - magnitude : minValue + Int64(regular) + magnitude
        }
        let value = residual + Int64(mean)
        guard let result = Int32(exactly: value) else {
            throw EntropyCodingError(.corruptStream, "an escaped value decodes to \(value), outside Int32; the stream is corrupt")
        }
        return result
    }

    /// The magnitude after the side bit (see `RANSEncoder`); bounded so an Int32 value stays in reach.
    private mutating func decodeEscapeMagnitude() throws -> Int64 {
        let length = Int(try decodeBypass(bitCount: RANSEncoder.escapeLengthBits)) + 1
        // Int32 residuals with Int32 means stay below 2^34.
        guard length <= 35 else {
            throw EntropyCodingError(.corruptStream, "an escape claims a \(length)-bit magnitude; the stream is corrupt")
        }
        var m1: Int64 = 1
        var remaining = length - 1
        while remaining > 0 {
            let chunk = min(remaining, RANSEncoder.bypassChunkBits)
            remaining -= chunk
            m1 = (m1 << Int64(chunk)) | Int64(try decodeBypass(bitCount: chunk))
        }
        return m1 - 1
    }

    /// Decodes `bitCount` (1...16) raw bits coded by `RANSEncoder.encodeBypass`.
    public mutating func decodeBypass(bitCount: Int) throws -> UInt32 {
        guard bitCount >= 1, bitCount <= RANSEncoder.bypassChunkBits else {
            throw EntropyCodingError(.invalidArgument, "bypass chunks are 1...16 bits, not \(bitCount)")
        }
        let shift = UInt32(CDFQuantizer.precisionBits - bitCount)
        let slot = UInt32(truncatingIfNeeded: state) & 0xFFFF
        let value = slot >> shift
        try consume(start: value << shift, frequency: 1 << shift, slot: slot)
        return value
    }

    /// Checks that the stream ended exactly: final state back at its start value, no bytes left.
    ///
    /// - Throws: `.corruptStream` otherwise (this catches most corruption that decoded silently).
    public func finish() throws {
        guard state == RANSEncoder.stateLowerBound else {
            throw EntropyCodingError(.corruptStream, "the rANS stream did not return to its initial state; it is corrupt or was decoded with other tables")
        }
        guard position == bytes.count else {
            throw EntropyCodingError(.corruptStream, "\(bytes.count - position) byte(s) left after the last symbol; the stream is corrupt or longer than expected")
        }
    }
}
