import CPNG

/// Small helpers around libpng's simplified `png_image` API shared by reader and writer.
///
/// The simplified API reports errors in `png_image.message` and returns 0; it never longjmps
/// through Swift frames.
enum LibPNG {
    // png.h format flags (redeclared as UInt32: the C macros carry mixed integer types).
    static let formatAlpha: UInt32 = 0x01
    static let formatColor: UInt32 = 0x02
    static let formatLinear: UInt32 = 0x04
    static let imageFlag16BitSRGB: UInt32 = 0x04

    /// A fresh control structure for one read or write.
    static func makeImage() -> png_image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        return image
    }

    /// libpng's message for the last failure of `image`.
    static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
