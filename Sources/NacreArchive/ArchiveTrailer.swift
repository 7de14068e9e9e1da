/// The fixed 48-byte last frame of a sealed archive: where the index is and its checksum.
struct ArchiveTrailer: Hashable, Sendable {
    var majorVersion: UInt16 = ArchiveFormat.majorVersion
    var minorVersion: UInt16 = ArchiveFormat.minorVersion
    /// The index skippable frame (offset and length of the whole frame, CRC-32C of its bytes).
    var indexOffset: UInt64
    var indexLength: UInt64
    var indexChecksum: UInt32

    /// The whole skippable frame: magic, payload size 40, payload.
    func encodedFrame() -> [UInt8] {
        var writer = ByteWriter(capacity: ArchiveFormat.trailerFrameSize)
        writer.u32(ArchiveFormat.trailerFrameMagic)
        writer.u32(ArchiveFormat.trailerPayloadSize)
        writer.raw(ArchiveFormat.trailerMagic)
        writer.u16(majorVersion)
        writer.u16(minorVersion)
        writer.u32(0)
        writer.u64(indexOffset)
        writer.u64(indexLength)
        writer.u32(indexChecksum)
        writer.u32(CRC32C.checksum(writer.bytes[8...]))
        return writer.bytes
    }

    /// Parses the last 48 bytes of a file; throws if they are not an intact trailer of a supported version.
    static func decode(frame bytes: [UInt8]) throws(ArchiveError) -> ArchiveTrailer {
        var reader = ByteReader(bytes, context: "trailer")
        guard bytes.count == ArchiveFormat.trailerFrameSize, try reader.u32() == ArchiveFormat.trailerFrameMagic,
              try reader.u32() == ArchiveFormat.trailerPayloadSize, try reader.bytes(8) == ArchiveFormat.trailerMagic
        else {
            throw ArchiveError(code: .notAnArchive, message: "The file does not end with a Nacre trailer: it is not a sealed Nacre archive, it was cut short, or its end is damaged. The reader falls back to scanning the frames; run `nacre verify`.")
        }
        let major = try reader.u16()
        let minor = try reader.u16()
        _ = try reader.u32()
        let trailer = ArchiveTrailer(majorVersion: major, minorVersion: minor, indexOffset: try reader.u64(),
                                     indexLength: try reader.u64(), indexChecksum: try reader.u32())
        guard try reader.u32() == CRC32C.checksum(bytes[8..<44]) else { throw .checksum("The trailer") }
        try ArchiveManifest.checkVersion(major: major)
        return trailer
    }
}
