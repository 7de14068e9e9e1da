import CZstd

/// Reading standard zstd frames (RFC 8878): their stored length and their content.
enum ZstdFrame {
    /// Largest content a reader decompresses from one frame (decompression-bomb guard).
    static let maximumContentSize: UInt64 = 1 << 31
    private static let maximumBlockSize = 128 * 1024

    /// The content of `frame`, which must be exactly one zstd frame with a declared content size.
    /// zstd verifies the frame's XXH64 content checksum.
    static func decompress(_ frame: [UInt8]) throws(ArchiveError) -> [UInt8] {
        let declared = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if declared == UInt64.max - 1 { throw .corrupt("A zstd frame header is invalid") }
        if declared == UInt64.max { throw .corrupt("A zstd frame does not declare its content size (Nacre writers always do)") }
        // A block of 3 header bytes expands to at most 128 KiB, which bounds honest content sizes.
        let plausible = (UInt64(frame.count) / 3 + 1) * UInt64(maximumBlockSize)
        guard declared <= min(maximumContentSize, plausible) else {
            throw ArchiveError(code: .tooLarge, message: "A zstd frame of \(frame.count) bytes declares \(declared) bytes of content, more than it can hold or than the reader accepts; the frame header is damaged. Run `nacre verify`.")
        }
        let compressedSize = frame.withUnsafeBytes { ZSTD_findFrameCompressedSize($0.baseAddress, $0.count) }
        guard ZSTD_isError(compressedSize) == 0, compressedSize == frame.count else {
            throw .corrupt("A zstd frame's blocks do not add up to its stored length")
        }
        var content = [UInt8](repeating: 0, count: Int(declared))
        let produced = content.withUnsafeMutableBytes { out in
            frame.withUnsafeBytes { input in
                ZSTD_decompress(out.baseAddress, out.count, input.baseAddress, input.count)
            }
        }
        if ZSTD_isError(produced) != 0 {
            if ZSTD_getErrorCode(produced) == ZSTD_error_checksum_wrong { throw .checksum("A zstd frame's content") }
            throw .corrupt("zstd cannot decode a frame (\(String(cString: ZSTD_getErrorName(produced))))")
        }
        guard produced == content.count else { throw .corrupt("A zstd frame decodes to fewer bytes than it declares") }
        return content
    }

    /// The stored length of the zstd frame starting at `offset`, found by walking its header and
    /// block headers through `cursor` (reads only headers). Throws if the frame is malformed or
    /// runs past the end of the source.
    static func length(at offset: UInt64, cursor: inout SourceCursor) throws(ArchiveError) -> UInt64 {
        let header = Array(try cursor.bytes(at: offset, count: 6))
        let descriptor = header[4]
        guard descriptor & 0x08 == 0 else { throw .corrupt("A zstd frame header has its reserved bit set") }
        let contentSizeFlag = descriptor >> 6
        let singleSegment = descriptor & 0x20 != 0
        let hasChecksum = descriptor & 0x04 != 0
        let dictionaryIDSizes: [UInt64] = [0, 1, 2, 4]
        let contentSizeSizes: [UInt64] = [singleSegment ? 1 : 0, 2, 4, 8]
        var position = offset + 5 + (singleSegment ? 0 : 1) + dictionaryIDSizes[Int(descriptor & 3)]
            + contentSizeSizes[Int(contentSizeFlag)]
        while true {
            let blockHeader = Array(try cursor.bytes(at: position, count: 3))
            let value = UInt32(blockHeader[0]) | UInt32(blockHeader[1]) << 8 | UInt32(blockHeader[2]) << 16
            let isLast = value & 1 != 0
            let blockType = (value >> 1) & 3
            let blockSize = Int(value >> 3)
            position += 3
            switch blockType {
            case 0, 2:
                guard blockSize <= maximumBlockSize else { throw .corrupt("A zstd block is larger than 128 KiB") }
                position += UInt64(blockSize)
            case 1:
                position += 1
            default:
                throw .corrupt("A zstd block has the reserved type 3")
            }
            if isLast { break }
        }
        if hasChecksum { position += 4 }
        guard position <= cursor.size else { throw .truncated("A zstd frame") }
        return position - offset
    }
}
