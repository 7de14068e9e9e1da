import NacreChecksums
/// The chunk-level structure of a PNG stream, read without libpng.
///
/// The reader walks the chunks before handing the bytes to libpng, so that it can classify
/// damage precisely (empty, not a PNG, truncated) and check the declared size against
/// `ImageLimits` before libpng allocates anything. It checks the CRC of every chunk but IDAT;
/// IDAT CRCs and the compressed data are left to libpng, which reads them anyway.
struct PNGStructure {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// One chunk: its type and where its data lies in the stream.
    struct Chunk {
        var type: String
        /// Offset of the chunk's length field.
        var start: Int
        var dataLength: Int
        /// Offset just past the chunk's CRC.
        var end: Int { start + 12 + dataLength }
    }

    var width: UInt64
    var height: UInt64
    var colorType: SourceFormat.ColorType
    var bitDepth: Int
    var isInterlaced: Bool
    var chunks: [Chunk]

    /// Walks `bytes` from the signature to IEND. Stops at IEND; bytes after it are ignored.
    init(bytes: UnsafeRawBufferPointer) throws(ImageError) {
        if bytes.isEmpty {
            throw ImageError(code: .empty, message: "The input is empty (0 bytes); there is no image to read.")
        }
        let prefix = min(bytes.count, Self.signature.count)
        guard bytes.prefix(prefix).elementsEqual(Self.signature.prefix(prefix)) else {
            throw ImageError(code: .notPNG, message: "The input does not start with the PNG signature; it is not a PNG file.")
        }
        guard bytes.count > Self.signature.count else {
            throw ImageError(code: .truncated, message: "The PNG ends after \(bytes.count) bytes, inside its signature.")
        }

        var chunks: [Chunk] = []
        var offset = Self.signature.count
        while true {
            guard bytes.count - offset >= 8 else {
                throw Self.truncated(at: offset, total: bytes.count, inside: chunks.last?.type)
            }
            let length = Self.readUInt32(bytes, at: offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length <= 0x7FFF_FFFF else {
                throw ImageError(code: .corrupt, message: "PNG chunk '\(type)' at byte \(offset) declares length \(length), over the 2^31−1 maximum. The file is damaged.")
            }
            let chunk = Chunk(type: type, start: offset, dataLength: Int(length))
            guard chunk.end <= bytes.count else {
                throw Self.truncated(at: bytes.count, total: bytes.count, inside: type)
            }
            // libpng checks IDAT CRCs itself but only warns about (or never reads) others:
            // a damaged tRNS would silently drop transparency, a damaged IEND go unnoticed.
            if type != "IDAT" {
                let stored = Self.readUInt32(bytes, at: chunk.end - 4)
                let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(chunk.end - 4)]))
                guard stored == computed else {
                    throw ImageError(code: .corrupt, message: "PNG chunk '\(type)' at byte \(offset) fails its CRC check. The file is damaged.")
                }
            }
            if chunks.isEmpty && (type != "IHDR" || length != 13) {
                throw ImageError(code: .corrupt, message: "The PNG's first chunk is '\(type)' of \(length) bytes, not a 13-byte IHDR. The file is damaged.")
            }
            chunks.append(chunk)
            offset = chunk.end
            if type == "IEND" { break }
        }
        self.chunks = chunks

        // IHDR: width, height, bit depth, colour type, compression, filter, interlace.
        let ihdr = chunks[0].start + 8
        width = UInt64(Self.readUInt32(bytes, at: ihdr))
        height = UInt64(Self.readUInt32(bytes, at: ihdr + 4))
        bitDepth = Int(bytes[ihdr + 8])
        let colorCode = bytes[ihdr + 9]
        guard let colorType = SourceFormat.ColorType(pngCode: colorCode) else {
            throw ImageError(code: .corrupt, message: "The PNG header declares colour type \(colorCode), which the PNG specification does not define. The file is damaged.")
        }
        self.colorType = colorType
        guard colorType.allowedBitDepths.contains(bitDepth) else {
            throw ImageError(code: .corrupt, message: "The PNG header declares bit depth \(bitDepth) for colour type \(colorType), which PNG does not allow. The file is damaged.")
        }
        let compression = bytes[ihdr + 10], filter = bytes[ihdr + 11], interlace = bytes[ihdr + 12]
        guard compression == 0, filter == 0, interlace <= 1 else {
            throw ImageError(code: .unsupported, message: "The PNG uses compression method \(compression), filter method \(filter), interlace method \(interlace); only 0/0/0-1 are defined and supported.")
        }
        isInterlaced = interlace == 1
    }

    private static func truncated(at offset: Int, total: Int, inside type: String?) -> ImageError {
        let place = type.map { " in or after its '\($0)' chunk" } ?? ""
        return ImageError(code: .truncated, message: "The PNG ends after \(total) bytes\(place), before its IEND chunk. The file is incomplete (still being written, or cut short); copy it again.")
    }

    static func readUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16) | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
    }

    /// The stream with the chunks of the given types left out.
    func removingChunks(_ types: Set<String>, from bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var output = Array(bytes[0..<Self.signature.count])
        for chunk in chunks where !types.contains(chunk.type) {
            output += bytes[chunk.start..<chunk.end]
        }
        return output
    }

    /// Chunks that say how samples map to colours; the simplified API acts on gAMA, sRGB, cHRM.
    static let colorSpaceChunks: Set<String> = ["gAMA", "cHRM", "sRGB", "iCCP"]
}
