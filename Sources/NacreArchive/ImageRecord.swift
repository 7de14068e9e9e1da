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

    public init(name: [UInt8], width: UInt32, height: UInt32, channels: UInt8, colorType: UInt8, bitDepth: UInt8,
                quality: Float, originalSHA256: SHA256Digest, psnr: Float, msssim: Float, flags: UInt32 = 0) {
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
    }

    /// Reads the v1.0 fields; bytes after them (fields of newer minors) are left for the caller to skip.
    static func decode(from reader: inout ByteReader) throws(ArchiveError) -> ImageRecord {
        let name = try reader.lengthPrefixed()
        return ImageRecord(
            name: name, width: try reader.u32(), height: try reader.u32(), channels: try reader.u8(),
            colorType: try reader.u8(), bitDepth: try reader.u8(), quality: try reader.f32(),
            originalSHA256: SHA256Digest(unchecked: try reader.bytes(32)), psnr: try reader.f32(),
            msssim: try reader.f32(), flags: try reader.u32())
    }
}
