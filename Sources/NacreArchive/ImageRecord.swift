/// What the archive knows about one image besides its bitstreams: stored at the head of its frame.
/// Field values are the codec's; the container stores them exactly.
public struct ImageRecord: Hashable, Sendable {
    /// The original file name (or relative path) as raw bytes: file names need not be UTF-8.
    public var name: [UInt8]
    public var width: UInt32
    public var height: UInt32
    /// Number of channels of the original (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
    public var channels: UInt8
    /// PNG colour type of the original: 0 gray, 2 RGB, 4 gray+alpha, 6 RGBA.
    public var colorType: UInt8
    /// Bits per sample of the original (8 or 16).
    public var bitDepth: UInt8
    /// Encoder quality (1...100, continuous).
    public var quality: Float
    /// SHA-256 of the original file.
    public var originalSHA256: SHA256Digest
    /// PSNR in dB measured at encode.
    public var psnr: Float
    /// MS-SSIM measured at encode (0...1).
    public var msssim: Float
    /// Codec-defined flags, opaque to the container.
    public var flags: UInt32
    /// Size of the original file in bytes (format v1.1); nil when unknown, as for every v1.0 record.
    public var originalByteCount: UInt64?

    public init(name: [UInt8], width: UInt32, height: UInt32, channels: UInt8, colorType: UInt8, bitDepth: UInt8,
                quality: Float, originalSHA256: SHA256Digest, psnr: Float, msssim: Float, flags: UInt32 = 0,
                originalByteCount: UInt64? = nil) {
        self.name = name
        self.width = width
        self.height = height
        self.channels = channels
        self.colorType = colorType
        self.bitDepth = bitDepth
        self.quality = quality
        self.originalSHA256 = originalSHA256
        self.psnr = psnr
        self.msssim = msssim
        self.flags = flags
        self.originalByteCount = originalByteCount
    }

    /// The name as text (invalid UTF-8 replaced), for display.
    public var displayName: String { String(decoding: name, as: UTF8.self) }

    /// Longest name the format stores.
    public static let maximumNameLength = 65_535

    func encode(into writer: inout ByteWriter) {
        writer.lengthPrefixed(name)
        writer.u32(width)
        writer.u32(height)
        writer.u8(channels)
        writer.u8(colorType)
        writer.u8(bitDepth)
        writer.f32(quality)
        writer.raw(originalSHA256.bytes)
        writer.f32(psnr)
        writer.f32(msssim)
        writer.u32(flags)
        ImageRecord.encodeOptionalCount(originalByteCount, into: &writer)  // v1.1
    }

    /// Reads the v1.0 fields and, when present, the v1.1 original size; bytes after them (fields of
    /// newer minors) are left for the caller to skip. A v1.0 record ends after the flags.
    static func decode(from reader: inout ByteReader) throws(ArchiveError) -> ImageRecord {
        let name = try reader.lengthPrefixed()
        var record = ImageRecord(
            name: name, width: try reader.u32(), height: try reader.u32(), channels: try reader.u8(),
            colorType: try reader.u8(), bitDepth: try reader.u8(), quality: try reader.f32(),
            originalSHA256: SHA256Digest(unchecked: try reader.bytes(32)), psnr: try reader.f32(),
            msssim: try reader.f32(), flags: try reader.u32())
        record.originalByteCount = try decodeOptionalCount(from: &reader)
        return record
    }

    /// A count that may be unknown, as the format stores it since v1.1: `varint` of the value plus one,
    /// 0 for unknown (the convention of the alpha-plane field).
    static func encodeOptionalCount(_ value: UInt64?, into writer: inout ByteWriter) {
        // UInt64.max cannot be stored (it would need 2^64); no file is that large, so it reads as unknown.
        guard let value, value < UInt64.max else { writer.varint(0); return }
        writer.varint(value + 1)
    }

    /// Reads an optional count (see `encodeOptionalCount`); nil at the end of the enclosing structure,
    /// which is where a v1.0 record or index entry ends.
    static func decodeOptionalCount(from reader: inout ByteReader) throws(ArchiveError) -> UInt64? {
        guard !reader.isAtEnd else { return nil }
        let stored = try reader.varint()
        return stored == 0 ? nil : stored - 1
    }
}
