import Foundation
import GRDB

/// One image stored in an archive: the archive's per-image record plus where its frame is.
///
/// Mirrors the `.nacre` image record (name bytes, dimensions, colour type, bit depth, quality,
/// SHA-256 of the original, PSNR and MS-SSIM at encode) so the catalog can be rebuilt from archives.
public struct ImageRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "images"

    /// Row id, assigned on insert. Ids change when the catalog is rebuilt.
    public var id: Int64?
    public var archiveID: String
    /// The original file name exactly as bytes (it need not be UTF-8). Unique within an archive.
    public var nameBytes: Data
    /// `nameBytes` decoded as UTF-8, invalid sequences replaced by U+FFFD; what searches match.
    public var displayName: String
    /// Where the original came from (spool path), when known; archives do not keep it.
    public var sourcePath: String?
    public var width: Int
    public var height: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// PNG colour type code of the original (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA).
    public var colourType: Int
    /// Bits per sample of the original (8 or 16; 1, 2, 4 for low-depth gray/palette PNGs).
    public var bitDepth: Int
    /// Encoder quality setting used.
    public var quality: Double
    /// Size of the original file in bytes.
    public var originalBytes: Int64
    /// Size of the image's latent bitstreams in the archive (decoder not included).
    public var latentBytes: Int64
    /// Lower-case hex SHA-256 of the original file.
    public var originalSHA256: String
    /// PSNR in dB measured at encode.
    public var psnr: Double
    /// MS-SSIM measured at encode (0…1); NaN when it was not measured (a side under 161 px),
    /// stored as NULL.
    public var msSSIM: Double
    /// Byte offset of the image's frame in the archive file.
    public var frameOffset: Int64
    /// Byte length of the image's frame.
    public var frameLength: Int64
    /// When it was encoded; list order and date searches use this.
    public var encodedAt: Date

    public init(id: Int64? = nil, archiveID: String, nameBytes: Data, displayName: String? = nil,
                sourcePath: String? = nil, width: Int, height: Int, channels: Int, colourType: Int,
                bitDepth: Int, quality: Double, originalBytes: Int64, latentBytes: Int64,
                originalSHA256: String, psnr: Double, msSSIM: Double, frameOffset: Int64,
                frameLength: Int64, encodedAt: Date) {
        self.id = id
        self.archiveID = archiveID
        self.nameBytes = nameBytes
        self.displayName = displayName ?? String(decoding: nameBytes, as: UTF8.self)
        self.sourcePath = sourcePath
        self.width = width
        self.height = height
        self.channels = channels
        self.colourType = colourType
        self.bitDepth = bitDepth
        self.quality = quality
        self.originalBytes = originalBytes
        self.latentBytes = latentBytes
        self.originalSHA256 = originalSHA256
        self.psnr = psnr
        self.msSSIM = msSSIM
        self.frameOffset = frameOffset
        self.frameLength = frameLength
        self.encodedAt = encodedAt
    }

    /// Bits per pixel of the latent (decoder not included).
    public var bitsPerPixel: Double {
        Double(latentBytes) * 8 / Double(width * height)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    enum CodingKeys: String, CodingKey {
        case id, archiveID, nameBytes, displayName, sourcePath, width, height, channels, colourType, bitDepth, quality
        case originalBytes, latentBytes, originalSHA256, psnr, msSSIM, frameOffset, frameLength, encodedAt
    }

    /// Decodes a row; a NULL `ms_ssim` (not measured) becomes NaN.
    public init(from decoder: any Decoder) throws {
        let row = try decoder.container(keyedBy: CodingKeys.self)
        id = try row.decodeIfPresent(Int64.self, forKey: .id)
        archiveID = try row.decode(String.self, forKey: .archiveID)
        nameBytes = try row.decode(Data.self, forKey: .nameBytes)
        displayName = try row.decode(String.self, forKey: .displayName)
        sourcePath = try row.decodeIfPresent(String.self, forKey: .sourcePath)
        width = try row.decode(Int.self, forKey: .width)
        height = try row.decode(Int.self, forKey: .height)
        channels = try row.decode(Int.self, forKey: .channels)
        colourType = try row.decode(Int.self, forKey: .colourType)
        bitDepth = try row.decode(Int.self, forKey: .bitDepth)
        quality = try row.decode(Double.self, forKey: .quality)
        originalBytes = try row.decode(Int64.self, forKey: .originalBytes)
        latentBytes = try row.decode(Int64.self, forKey: .latentBytes)
        originalSHA256 = try row.decode(String.self, forKey: .originalSHA256)
        psnr = try row.decode(Double.self, forKey: .psnr)
        msSSIM = try row.decodeIfPresent(Double.self, forKey: .msSSIM) ?? .nan
        frameOffset = try row.decode(Int64.self, forKey: .frameOffset)
        frameLength = try row.decode(Int64.self, forKey: .frameLength)
        encodedAt = try row.decode(Date.self, forKey: .encodedAt)
    }
}
