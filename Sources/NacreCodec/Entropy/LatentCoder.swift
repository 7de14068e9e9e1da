/// Entropy-codes whole latent tensors: y with the Gaussian-conditional tables (one table index per
/// element, from the integer hyper-synthesis), z with the factorized prior (one table per channel).
///
/// Each call produces or consumes one self-contained rANS stream (`docs/BITSTREAM.md`). Decoding
/// checks the stream end, so a wrong table set or a corrupt stream is reported, not silently used.
public enum LatentCoder {
    /// Encodes `y[i] − means[i]` with table `scaleIndices[i]` (means default to 0).
    ///
    /// - Throws: `.invalidArgument` if the lengths differ or an index is not below `tables.count`.
    public static func encodeGaussian(_ y: [Int32], scaleIndices: [UInt8], means: [Int32]? = nil,
                                      tables: EntropyTables) throws -> [UInt8] {
        try checkGaussianArguments(count: y.count, scaleIndices: scaleIndices, means: means, tables: tables)
        var encoder = RANSEncoder(reservingCapacity: y.count)
        for i in y.indices {
            encoder.encodeUnchecked(y[i], mean: means?[i] ?? 0, table: Int(scaleIndices[i]), in: tables)
        }
        return encoder.finish()
    }

    /// Decodes `scaleIndices.count` values written by `encodeGaussian` with the same indices, means
    /// and tables.
    ///
    /// - Throws: `.truncatedStream` or `.corruptStream` for a bad stream, `.invalidArgument` for
    ///   inconsistent arguments.
    public static func decodeGaussian(_ bytes: [UInt8], scaleIndices: [UInt8], means: [Int32]? = nil,
                                      tables: EntropyTables) throws -> [Int32] {
        try checkGaussianArguments(count: scaleIndices.count, scaleIndices: scaleIndices, means: means, tables: tables)
        var decoder = try RANSDecoder(bytes)
        var y = [Int32](repeating: 0, count: scaleIndices.count)
        try tables.withLookup { lookup in
            try y.withUnsafeMutableBufferPointer { out in
                try scaleIndices.withUnsafeBufferPointer { index in
                    if let means {
                        for i in 0..<out.count { out[i] = try decoder.decode(mean: means[i], table: Int(index[i]), lookup: lookup) }
                    } else {
                        for i in 0..<out.count { out[i] = try decoder.decode(mean: 0, table: Int(index[i]), lookup: lookup) }
                    }
                }
            }
        }
        try decoder.finish()
        return y
    }

    /// Encodes z laid out channel-major (`channelCount` planes of `z.count / channelCount` values),
    /// channel c with table c.
    ///
    /// - Throws: `.invalidArgument` if `z.count` is not a multiple of `channelCount` or there are
    ///   fewer tables than channels.
    public static func encodeFactorized(_ z: [Int32], channelCount: Int, tables: EntropyTables) throws -> [UInt8] {
        let plane = try planeSize(count: z.count, channelCount: channelCount, tables: tables)
        var encoder = RANSEncoder(reservingCapacity: z.count)
        for i in z.indices {
            encoder.encodeUnchecked(z[i], mean: 0, table: i / plane, in: tables)
        }
        return encoder.finish()
    }

    /// Decodes `elementCount` values written by `encodeFactorized` (channel-major).
    public static func decodeFactorized(_ bytes: [UInt8], channelCount: Int, elementCount: Int,
                                        tables: EntropyTables) throws -> [Int32] {
        let plane = try planeSize(count: elementCount, channelCount: channelCount, tables: tables)
        var decoder = try RANSDecoder(bytes)
        var z = [Int32](repeating: 0, count: elementCount)
        try tables.withLookup { lookup in
            for i in z.indices { z[i] = try decoder.decode(mean: 0, table: i / plane, lookup: lookup) }
        }
        try decoder.finish()
        return z
    }

    private static func checkGaussianArguments(count: Int, scaleIndices: [UInt8], means: [Int32]?,
                                               tables: EntropyTables) throws {
        guard scaleIndices.count == count else {
            throw EntropyCodingError(.invalidArgument, "\(count) values but \(scaleIndices.count) scale indices; pass one index per element")
        }
        if let means, means.count != count {
            throw EntropyCodingError(.invalidArgument, "\(count) values but \(means.count) means; pass one mean per element or none")
        }
        if let worst = scaleIndices.max(), Int(worst) >= tables.count {
            throw EntropyCodingError(.invalidArgument, "scale index \(worst) but only \(tables.count) tables; clamp indices to the table count")
        }
    }

    private static func planeSize(count: Int, channelCount: Int, tables: EntropyTables) throws -> Int {
        guard channelCount >= 1, count >= 0, count <= LatentBitstream.maximumElements, count % channelCount == 0 else {
            throw EntropyCodingError(.invalidArgument, "\(count) values do not split into \(channelCount) channels (or exceed \(LatentBitstream.maximumElements))")
        }
        guard channelCount <= tables.count else {
            throw EntropyCodingError(.invalidArgument, "\(channelCount) channels but only \(tables.count) factorized tables")
        }
        return max(count / channelCount, 1)
    }
}
