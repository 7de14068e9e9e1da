/// Size limits checked from a PNG's header before any pixel memory is allocated.
///
/// They protect the daemon against decompression bombs (a few hundred bytes declaring a
/// 60000×60000 image) and against files too big to hold in memory.
public struct ImageLimits: Sendable, Hashable {
    /// Largest accepted width in pixels.
    public var maxWidth: Int
    /// Largest accepted height in pixels.
    public var maxHeight: Int
    /// Largest accepted width × height.
    public var maxPixels: Int
    /// Largest accepted file size in bytes for `PNGReader.read(contentsOfFile:limits:)`.
    public var maxFileBytes: Int

    public init(
        maxWidth: Int = 32_768, maxHeight: Int = 32_768,
        maxPixels: Int = 100_000_000, maxFileBytes: Int = 1 << 30
    ) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
    }

    /// 32768 px a side, 100 megapixels, 1 GiB files.
    public static let `default` = ImageLimits()

    /// Throws `.tooLarge` (or `.corrupt` for a zero side) unless `width`×`height` fits.
    func check(width: UInt64, height: UInt64) throws(ImageError) {
        if width == 0 || height == 0 {
            throw ImageError(
                code: .corrupt,
                message: "The PNG header declares a \(width)×\(height) image; a PNG needs at least one pixel. The file is damaged.")
        }
        // Limits are Ints a caller may set to anything; clamp rather than trap on negatives.
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if width > UInt64(clamping: maxWidth) || height > UInt64(clamping: maxHeight)
            || overflow || pixels > UInt64(clamping: maxPixels) {
            throw ImageError(
                code: .tooLarge,
                message: "The PNG header declares \(width)×\(height) pixels, over the limit of \(maxWidth)×\(maxHeight) and \(maxPixels) pixels. Raise ImageLimits if the image is genuine.")
        }
    }
}
