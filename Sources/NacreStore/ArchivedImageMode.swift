import NacreArchive
import NacreImage

/// The PNG mode an archived image is restored in, as the image record stores it
/// (channels, PNG colour type, bit depth): `pack` writes it, `unpack` reads it back.
///
/// The stored mode is the one `PNGLayout(restoring:)` writes, not the raw IHDR: a palette source
/// is recorded as RGB (or RGBA with tRNS), a gray source with a tRNS colour as gray+alpha,
/// 1/2/4-bit gray as 8-bit gray, 16-bit as 16-bit.
public struct ArchivedImageMode: Hashable, Sendable {
    public var channels: UInt8
    public var colorType: UInt8
    public var bitDepth: UInt8

    /// The mode a restore of an image read from a file in `source` mode is written in.
    public init(source: SourceFormat) {
        let layout = PNGLayout(restoring: source)
        switch layout.channels {
        case .gray: (channels, colorType) = (1, 0)
        case .grayAlpha: (channels, colorType) = (2, 4)
        case .rgb: (channels, colorType) = (3, 2)
        case .rgba: (channels, colorType) = (4, 6)
        }
        bitDepth = layout.is16Bit ? 16 : 8
    }

    /// The mode stored in `record`.
    public init(record: ImageRecord) {
        channels = record.channels
        colorType = record.colorType
        bitDepth = record.bitDepth
    }

    /// The layout a restore is written in. Unknown colour types (a newer writer's) fall back to
    /// RGB, or RGBA when the record counts 4 channels.
    public var layout: PNGLayout {
        let channels: PNGLayout.Channels
        switch colorType {
        case 0: channels = .gray
        case 4: channels = .grayAlpha
        case 6: channels = .rgba
        default: channels = self.channels == 4 ? .rgba : .rgb
        }
        return PNGLayout(channels: channels, is16Bit: bitDepth == 16)
    }

    /// True when writing in this mode gives back exactly the 8-bit RGB the codec decoded, so
    /// PSNR measured on the decoded pixels is the PSNR of the restored file. Gray layouts
    /// average the channels, and 16-bit alpha layouts can move colour where alpha is 0.
    public var restoresDecodedRGBExactly: Bool {
        let layout = self.layout
        return layout.channels.hasColor && !(layout.is16Bit && layout.channels.hasAlpha)
    }
}
