/// How a PNG was stored on disk, kept next to its decoded pixels so a restore can write the
/// same mode back (see `PNGLayout.init(restoring:)`).
public struct SourceFormat: Sendable, Hashable, Codable {
    /// The PNG colour type from the IHDR chunk.
    public enum ColorType: String, Sendable, Hashable, Codable, CaseIterable {
        case gray, grayAlpha, rgb, rgba, palette

        /// The IHDR colour type byte.
        public var pngCode: UInt8 {
            switch self {
            case .gray: 0
            case .rgb: 2
            case .palette: 3
            case .grayAlpha: 4
            case .rgba: 6
            }
        }

        /// The colour type for an IHDR byte, or nil for an undefined value.
        public init?(pngCode: UInt8) {
            switch pngCode {
            case 0: self = .gray
            case 2: self = .rgb
            case 3: self = .palette
            case 4: self = .grayAlpha
            case 6: self = .rgba
            default: return nil
            }
        }

        /// The bit depths the PNG specification allows for this colour type.
        public var allowedBitDepths: [Int] {
            switch self {
            case .gray: [1, 2, 4, 8, 16]
            case .palette: [1, 2, 4, 8]
            case .grayAlpha, .rgb, .rgba: [8, 16]
            }
        }
    }

    /// The colour type of the file.
    public var colorType: ColorType
    /// Bits per sample (per palette index for `.palette`): 1, 2, 4, 8 or 16.
    public var bitDepth: Int
    /// True for Adam7-interlaced files.
    public var isInterlaced: Bool
    /// True when the file carries transparency: an alpha channel, or a tRNS chunk.
    public var hasAlpha: Bool

    public init(colorType: ColorType, bitDepth: Int, isInterlaced: Bool, hasAlpha: Bool) {
        self.colorType = colorType
        self.bitDepth = bitDepth
        self.isInterlaced = isInterlaced
        self.hasAlpha = hasAlpha
    }
}
