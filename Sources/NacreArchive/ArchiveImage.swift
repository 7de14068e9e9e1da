/// One image as stored: its record, its latent bitstreams and an optional lossless alpha plane.
public struct ArchiveImage: Hashable, Sendable {
    public var record: ImageRecord
    /// The codec's entropy-coded bitstreams (e.g. z then y), opaque to the container.
    public var bitstreams: [[UInt8]]
    /// The alpha plane, stored losslessly (zstd compresses it), or nil for images without alpha.
    public var alpha: [UInt8]?

    public init(record: ImageRecord, bitstreams: [[UInt8]], alpha: [UInt8]? = nil) {
        self.record = record
        self.bitstreams = bitstreams
        self.alpha = alpha
    }

    /// Total bytes of the latent bitstreams.
    public var latentByteCount: Int { bitstreams.reduce(0) { $0 + $1.count } }

    /// SHA-256 of the frame content this value encodes to: two images with the same digest hold
    /// the same record, bitstreams and alpha, which is all that decoding reads (from the parsed
    /// value, as here), so they decode alike. The daemon checks an image before its archive is
    /// sealed and afterwards compares only this digest with the sealed frame's.
    public var contentDigest: SHA256Digest { SHA256.hash(encodedContent()) }

    /// The zstd frame content: kind byte, record (length-prefixed), bitstreams, alpha.
    func encodedContent() -> [UInt8] {
        var record = ByteWriter(capacity: 80 + self.record.name.count)
        self.record.encode(into: &record)
        var writer = ByteWriter(capacity: record.bytes.count + latentByteCount + (alpha?.count ?? 0) + 32)
        writer.u8(FrameKind.image.rawValue)
        writer.lengthPrefixed(record.bytes)
        writer.varint(bitstreams.count)
        for stream in bitstreams { writer.lengthPrefixed(stream) }
        if let alpha {
            writer.varint(UInt64(alpha.count) + 1)
            writer.raw(alpha)
        } else {
            writer.varint(0)
        }
        return writer.bytes
    }

    /// Parses the content of an image frame (after its kind byte has been checked).
    static func decode(content: [UInt8]) throws(ArchiveError) -> ArchiveImage {
        var reader = ByteReader(content, from: 1, context: "image frame")
        var recordReader = try reader.lengthPrefixedReader(context: "image record")
        let record = try ImageRecord.decode(from: &recordReader)
        let streamCount = try reader.count(limit: reader.remaining)
        var streams: [[UInt8]] = []
        streams.reserveCapacity(streamCount)
        for _ in 0..<streamCount { streams.append(try reader.lengthPrefixed()) }
        let alphaCode = try reader.count(limit: reader.remaining + 1)
        let alpha = alphaCode == 0 ? nil : try reader.bytes(alphaCode - 1)
        return ArchiveImage(record: record, bitstreams: streams, alpha: alpha)
    }
}
