/// One image as listed by the index: enough for `ls` without reading the image's frame.
/// It is the image's record without the original file's SHA-256 and MS-SSIM, plus byte counts and location.
public struct ImageListing: Hashable, Sendable {
    public var name: [UInt8]
    public var width: UInt32
    public var height: UInt32
    public var channels: UInt8
    public var colorType: UInt8
    public var bitDepth: UInt8
    public var quality: Float
    public var psnr: Float
    /// MS-SSIM at encode. Not stored in the index (to keep it small): NaN when listed from the index,
    /// the record's value when the archive was opened by a scan.
    public var msssim: Float
    public var flags: UInt32
    /// Total bytes of the latent bitstreams.
    public var latentByteCount: UInt64
    /// Bytes of the alpha plane before compression (0 when there is none).
    public var alphaByteCount: UInt64
    /// The image's frame.
    public var frame: FrameLocation

    /// The name as text (invalid UTF-8 replaced), for display.
    public var displayName: String { String(decoding: name, as: UTF8.self) }

    /// Latent bits per pixel (bitstreams only).
    public var bitsPerPixel: Double {
        let pixels = Double(width) * Double(height)
        return pixels > 0 ? Double(latentByteCount) * 8 / pixels : 0
    }

    init(image: ArchiveImage, frame: FrameLocation) {
        let record = image.record
        name = record.name
        width = record.width
        height = record.height
        channels = record.channels
        colorType = record.colorType
        bitDepth = record.bitDepth
        quality = record.quality
        psnr = record.psnr
        msssim = record.msssim
        flags = record.flags
        latentByteCount = UInt64(image.latentByteCount)
        alphaByteCount = UInt64(image.alpha?.count ?? 0)
        self.frame = frame
    }

    /// Index-entry fields after the frame location (v1.0).
    func encodeSummary(into writer: inout ByteWriter) {
        writer.lengthPrefixed(name)
        writer.varint(UInt64(width))
        writer.varint(UInt64(height))
        writer.u8(channels)
        writer.u8(colorType)
        writer.u8(bitDepth)
        writer.f32(quality)
        writer.f32(psnr)
        writer.varint(UInt64(flags))
        writer.varint(latentByteCount)
        writer.varint(alphaByteCount)
    }

    static func decodeSummary(from reader: inout ByteReader, frame: FrameLocation) throws(ArchiveError) -> ImageListing {
        let name = try reader.lengthPrefixed()
        func u32(_ value: UInt64) throws(ArchiveError) -> UInt32 {
            guard let narrow = UInt32(exactly: value) else { throw .corrupt("An index field exceeds 32 bits") }
            return narrow
        }
        let width = try u32(try reader.varint())
        let height = try u32(try reader.varint())
        var listing = ImageListing(
            image: ArchiveImage(record: ImageRecord(
                name: name, width: width, height: height, channels: try reader.u8(), colorType: try reader.u8(),
                bitDepth: try reader.u8(), quality: try reader.f32(), originalSHA256: .zero, psnr: try reader.f32(),
                msssim: .nan, flags: 0), bitstreams: []),
            frame: frame)
        listing.flags = try u32(try reader.varint())
        listing.latentByteCount = try reader.varint()
        listing.alphaByteCount = try reader.varint()
        return listing
    }
}
