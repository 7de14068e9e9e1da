/// Recovers an archive's contents by walking its frames from the start, without trailer or index.
/// Used when the trailer or index is missing or damaged. Damaged stretches are skipped by searching
/// for the next frame magic, so one bad frame loses only itself.
struct FrameScanner {
    /// What the scan found.
    struct Result {
        var manifest: ArchiveManifest?
        /// Why the first frame is not a readable manifest, when it is not.
        var manifestProblem: ArchiveError?
        var frames: [FrameLocation] = []
        var images: [ImageListing] = []
        /// Stretches that are not intact frames, each with the reason.
        var damage: [DamagedRegion] = []
        /// Whether a trailer frame was found at the very end.
        var sawTrailer = false
    }

    static func scan(_ source: any ByteSource) throws(ArchiveError) -> Result {
        var result = Result()
        var cursor = SourceCursor(source: source)
        var position: UInt64 = 0
        let size = source.size
        while position < size {
            do throws(ArchiveError) {
                position += try scanFrame(at: position, cursor: &cursor, into: &result)
            } catch {
                if error.code == .unsupportedVersion { throw error }
                if position == 0 { result.manifestProblem = error.at(offset: 0) }
                // Skip to the next plausible frame start; the skipped stretch is the damage.
                let next = try cursor.nextMagic(from: position + 1)
                result.damage.append(DamagedRegion(offset: position, length: next - position, problem: error.at(offset: position)))
                position = next
            }
        }
        return result
    }

    /// Reads and classifies the frame at `position`; returns its length.
    private static func scanFrame(at position: UInt64, cursor: inout SourceCursor, into result: inout Result) throws(ArchiveError) -> UInt64 {
        let head = try cursor.bytes(at: position, count: min(8, Int(cursor.size - position)))
        guard head.count == 8 else { throw .truncated("A frame header") }
        let magic = littleEndianU32(head, at: head.startIndex)
        if ArchiveFormat.isSkippableMagic(magic) {
            let length = 8 + UInt64(littleEndianU32(head, at: head.startIndex + 4))
            guard length <= cursor.size - position else { throw .truncated("A skippable frame") }
            switch magic {
            case ArchiveFormat.manifestFrameMagic where result.manifest == nil && position == 0:
                let frame = try cursor.source.read(at: position, count: Int(length))
                result.manifest = try ArchiveManifest.decode(payload: Array(frame[8...]))
                result.frames.append(FrameLocation(kind: .manifest, offset: position, length: length, checksum: CRC32C.checksum(frame)))
            case ArchiveFormat.trailerFrameMagic:
                result.sawTrailer = position + length == cursor.size
            default:
                break  // the index (rebuilt by the scan) or a skippable frame of a newer minor
            }
            return length
        }
        guard magic == ArchiveFormat.zstdFrameMagic else { throw .corrupt("No frame starts here (unknown magic)") }
        let length = try ZstdFrame.length(at: position, cursor: &cursor)
        guard length <= UInt64(Int.max) else { throw .corrupt("A frame is impossibly long") }
        let frame = try cursor.source.read(at: position, count: Int(length))
        let content = try ZstdFrame.decompress(frame)
        guard let kindByte = content.first else { throw .corrupt("A zstd frame is empty") }
        let location = FrameLocation(kind: FrameKind(rawValue: kindByte), offset: position, length: length, checksum: CRC32C.checksum(frame))
        if location.kind == .image {
            let image = try ArchiveImage.decode(content: content)
            result.images.append(ImageListing(image: image, frame: location))
        }
        result.frames.append(location)
        return length
    }

    static func littleEndianU32(_ bytes: ArraySlice<UInt8>, at index: Int) -> UInt32 {
        UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
    }
}
