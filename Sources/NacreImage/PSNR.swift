import Foundation

/// Peak signal-to-noise ratio of 8-bit RGB images, the learned-compression field's convention:
/// one MSE over the three colour channels of all pixels of one image, then
/// PSNR = 10·log10(255² / MSE). Averages over a data set are taken over per-image PSNRs.
/// Alpha planes are ignored.
public struct PSNR: Sendable, Hashable {
    /// Mean squared error over all RGB samples, on the 0…255 scale.
    public var mse: Double
    /// 10·log10(255² / mse) in dB; `.infinity` when the images are identical (mse = 0).
    public var decibels: Double

    /// Compares `distorted` with `reference`; they must have the same dimensions.
    public init(reference: PixelBuffer, distorted: PixelBuffer) throws(ImageError) {
        try Self.checkSameSize(reference, distorted)
        var squaredErrors: UInt64 = 0
        reference.rgb.withUnsafeBufferPointer { a in
            distorted.rgb.withUnsafeBufferPointer { b in
                for index in 0..<a.count {
                    let difference = Int(a[index]) - Int(b[index])
                    squaredErrors += UInt64(difference * difference)
                }
            }
        }
        self.init(mse: Double(squaredErrors) / Double(reference.rgb.count))
    }

    /// The PSNR of a known MSE (0…255 scale).
    public init(mse: Double) {
        self.mse = mse
        decibels = mse == 0 ? .infinity : 10 * log10(255.0 * 255.0 / mse)
    }

    static func checkSameSize(_ a: PixelBuffer, _ b: PixelBuffer) throws(ImageError) {
        guard a.width == b.width, a.height == b.height else {
            throw ImageError(code: .sizeMismatch, message: "Cannot compare a \(a.width)×\(a.height) image with a \(b.width)×\(b.height) one; quality metrics need equal sizes.")
        }
    }
}
