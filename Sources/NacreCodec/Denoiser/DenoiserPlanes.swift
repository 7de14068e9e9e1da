import NacreImage

/// Conversions between 8-bit RGB images and the denoiser's half-resolution planes.
///
/// Space to depth with factor 2: plane `c·4 + i·2 + j` at half-resolution (y, x) holds colour `c`
/// of the full-resolution pixel (2y + i, 2x + j), in 0…1; pixels past an odd right or bottom edge
/// repeat the last column or row. The input's plane 12 holds quality/100 and planes 13…15 are
/// zero. Tensors have 16 channels (`DenoiserArchitecture.tensorChannels`), so they are in the
/// engine's nChw16c layout: element (c, p) of one image is at `p·16 + c`; that keeps every
/// convolution, forward and backward, on oneDNN's fast blocked kernels.
enum DenoiserPlanes {
    /// A rectangle in half-resolution coordinates.
    struct Region: Hashable, Sendable {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
    }

    /// Half-resolution size of a full-resolution image.
    static func halfSize(width: Int, height: Int) -> (width: Int, height: Int) { ((width + 1) / 2, (height + 1) / 2) }

    static let stride = DenoiserArchitecture.tensorChannels

    /// Writes the input planes of `region` of `image` (one image of a zero-filled 16-channel tensor) to `out`.
    static func writeInput(_ image: PixelBuffer, quality: Double, region: Region, to out: UnsafeMutablePointer<Float>) {
        let plane = region.width * region.height
        writeUnshuffled(image.rgb, width: image.width, height: image.height, region: region, scale: 1 / 255, to: out)
        let q = Float(quality / 100)
        for p in 0..<plane { out[p * stride + DenoiserArchitecture.imageChannels] = q }
    }

    /// Writes the 12 planes of (original − decoded)/255 over `region` (the training target; the
    /// other 4 channels stay as they are, zero).
    static func writeResidual(original: [UInt8], decoded: [UInt8], width: Int, height: Int, region: Region,
                              to out: UnsafeMutablePointer<Float>) {
        let difference = zip(original, decoded).map { Float(Int($0) - Int($1)) }
        difference.withUnsafeBufferPointer { d in
            unshuffle(width: width, height: height, region: region, to: out) { d[$0] / 255 }
        }
    }

    private static func writeUnshuffled(_ samples: [UInt8], width: Int, height: Int, region: Region, scale: Float,
                                        to out: UnsafeMutablePointer<Float>) {
        samples.withUnsafeBufferPointer { s in
            unshuffle(width: width, height: height, region: region, to: out) { Float(s[$0]) * scale }
        }
    }

    @inline(__always)
    private static func unshuffle(width: Int, height: Int, region: Region, to out: UnsafeMutablePointer<Float>,
                                  _ sample: (Int) -> Float) {
        for y in 0..<region.height {
            for i in 0..<2 {
                let row = min(2 * (region.y + y) + i, height - 1)
                for x in 0..<region.width {
                    for j in 0..<2 {
                        let column = min(2 * (region.x + x) + j, width - 1)
                        let source = (row * width + column) * 3
                        let target = y * region.width + x
                        for c in 0..<3 { out[target * stride + c * 4 + i * 2 + j] = sample(source + c) }
                    }
                }
            }
        }
    }

    /// Adds the 12-plane residual (a 16-channel tensor over `region`) to the decoded samples inside `core` (a
    /// sub-rectangle of `region`), rounding and clamping to 8 bits, into `output`.
    static func addResidual(_ residual: UnsafePointer<Float>, region: Region, core: Region, decoded: [UInt8],
                            width: Int, height: Int, into output: inout [UInt8]) {
        decoded.withUnsafeBufferPointer { d in
            output.withUnsafeMutableBufferPointer { o in
                for y in core.y..<(core.y + core.height) {
                    for i in 0..<2 {
                        let row = 2 * y + i
                        guard row < height else { continue }
                        for x in core.x..<(core.x + core.width) {
                            let source = (y - region.y) * region.width + (x - region.x)
                            for j in 0..<2 {
                                let column = 2 * x + j
                                guard column < width else { continue }
                                let target = (row * width + column) * 3
                                for c in 0..<3 {
                                    let value = Float(d[target + c]) + residual[source * stride + c * 4 + i * 2 + j] * 255
                                    o[target + c] = UInt8(max(0, min(255, value.rounded())))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
