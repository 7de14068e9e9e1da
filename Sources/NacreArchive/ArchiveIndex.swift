/// The index: every frame's location and checksum, and per image the listing `ls` shows.
/// Stored as one zstd frame inside the index skippable frame.
struct ArchiveIndex: Sendable {
    /// Every frame before the index (manifest, model, images, kinds from newer minors), in file order.
    var frames: [FrameLocation]
    /// The image listings, in file order (a subset of `frames`).
    var images: [ImageListing]

    /// The index table: entry count, then per entry a length-prefixed
    /// `kind, gap, length, crc32c[, image summary]`, where gap is the offset minus the previous
    /// frame's end (0 for contiguous frames, so one byte).
    func encodedTable() -> [UInt8] {
        var writer = ByteWriter(capacity: frames.count * 48 + 8)
        writer.varint(frames.count)
        var imageIterator = images.makeIterator()
        var previousEnd: UInt64 = 0
        for frame in frames {
            var entry = ByteWriter(capacity: 96)
            entry.u8(frame.kind.rawValue)
            entry.varint(frame.offset - previousEnd)
            previousEnd = frame.end
            entry.varint(frame.length)
            entry.u32(frame.checksum)
            if frame.kind == .image, let image = imageIterator.next() { image.encodeSummary(into: &entry) }
            writer.lengthPrefixed(entry.bytes)
        }
        return writer.bytes
    }

    /// Parses an index table and checks that every frame lies inside `0..<limit`, in order, without overlap.
    static func decode(table: [UInt8], limit: UInt64) throws(ArchiveError) -> ArchiveIndex {
        var reader = ByteReader(table, context: "index")
        // Each entry takes at least 8 bytes, which bounds the count before any allocation.
        let count = try reader.count(limit: reader.remaining / 8)
        var frames: [FrameLocation] = []
        var images: [ImageListing] = []
        frames.reserveCapacity(count)
        var previousEnd: UInt64 = 0
        for _ in 0..<count {
            var entry = try reader.lengthPrefixedReader(context: "index entry")
            let kind = FrameKind(rawValue: try entry.u8())
            let gap = try entry.varint()
            let length = try entry.varint()
            let checksum = try entry.u32()
            guard length > 0, gap <= limit, previousEnd <= limit - gap, length <= limit - previousEnd - gap else {
                throw ArchiveError(code: .indexOutOfBounds, message: "The index lists a \(kind) frame of \(length) bytes \(gap) bytes after byte \(previousEnd), beyond the \(limit) bytes before the index; the index is damaged. The reader falls back to scanning the frames; run `nacre verify`.")
            }
            let offset = previousEnd + gap
            previousEnd = offset + length
            let frame = FrameLocation(kind: kind, offset: offset, length: length, checksum: checksum)
            frames.append(frame)
            if kind == .image { images.append(try ImageListing.decodeSummary(from: &entry, frame: frame)) }
        }
        return ArchiveIndex(frames: frames, images: images)
    }
}
