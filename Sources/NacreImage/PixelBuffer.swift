/// An 8-bit image in memory: interleaved RGB samples plus an optional separate alpha plane.
///
/// This is the one pixel form of the pipeline: every PNG is decoded to it, the codec encodes the
/// RGB part, the archive stores the alpha plane losslessly, and restores are written from it.
/// Rows run top to bottom, pixels left to right; colour is not premultiplied by alpha.
public struct PixelBuffer: Sendable, Equatable {
    /// Width in pixels, at least 1.
    public let width: Int
    /// Height in pixels, at least 1.
    public let height: Int
    /// `width * height * 3` samples, R G B per pixel.
    public private(set) var rgb: [UInt8]
    /// `width * height` alpha samples (0 transparent, 255 opaque), or nil for an opaque image.
    public private(set) var alpha: [UInt8]?

    /// Builds a buffer, checking that the arrays match the dimensions.
    public init(width: Int, height: Int, rgb: [UInt8], alpha: [UInt8]? = nil) throws(ImageError) {
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).overflow == false else {
            throw ImageError(code: .invalidPixels, message: "A pixel buffer needs positive dimensions, got \(width)×\(height).")
        }
        let count = width * height
        // Divide rather than multiply: count * 3 may overflow for absurd dimensions.
        guard rgb.count % 3 == 0, rgb.count / 3 == count else {
            throw ImageError(
                code: .invalidPixels,
                message: "A \(width)×\(height) buffer needs 3 RGB samples per pixel, got \(rgb.count) samples.")
        }
        if let alpha, alpha.count != count {
            throw ImageError(
                code: .invalidPixels,
                message: "A \(width)×\(height) buffer needs \(count) alpha samples, got \(alpha.count).")
        }
        self.width = width
        self.height = height
        self.rgb = rgb
        self.alpha = alpha
    }

    /// Number of pixels, `width * height`.
    public var pixelCount: Int { width * height }

    /// True when every pixel has R = G = B.
    public var isGray: Bool {
        rgb.withUnsafeBufferPointer { samples in
            var index = 0
            while index < samples.count {
                if samples[index] != samples[index + 1] || samples[index] != samples[index + 2] { return false }
                index += 3
            }
            return true
        }
    }
}
