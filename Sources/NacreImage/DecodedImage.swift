/// A decoded PNG: its pixels at 8 bits per sample, and how the file stored them.
public struct DecodedImage: Sendable, Equatable {
    /// The pixels; `pixels.alpha` is set exactly when `source.hasAlpha` is true.
    public var pixels: PixelBuffer
    /// The file's colour type, bit depth, interlacing and transparency.
    public var source: SourceFormat

    public init(pixels: PixelBuffer, source: SourceFormat) {
        self.pixels = pixels
        self.source = source
    }
}
