import Dispatch
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

    static let stride = DenoiserArchitecture.tensorChannels

    /// Half-resolution size of a full-resolution image.
    static func halfSize(width: Int, height: Int) -> (width: Int, height: Int) { ((width + 1) / 2, (height + 1) / 2) }

    /// Writes the input planes of `region` of `image` (one image of a zero-filled 16-channel
    /// tensor) to `out`, rows split over `threads`.
    static func writeInput(_ image: PixelBuffer, quality: Double, region: Region, to out: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let q = Float(quality / 100), width = image.width, height = image.height
        image.rgb.withUnsafeBufferPointer { s in
            let samples = s.baseAddress!
            forEachRow(region.height, threads: threads) { y in
                for i in 0..<2 {
                    let row = samples + min(2 * (region.y + y) + i, height - 1) * width * 3
                    var target = out + y * region.width * stride
                    for x in 0..<region.width {
                        for j in 0..<2 {
                            let source = row + min(2 * (region.x + x) + j, width - 1) * 3
                            target[i * 2 + j] = Float(source[0]) * (1 / 255)
                            target[4 + i * 2 + j] = Float(source[1]) * (1 / 255)
                            target[8 + i * 2 + j] = Float(source[2]) * (1 / 255)
                        }
                        target[DenoiserArchitecture.imageChannels] = q
                        target += stride
                    }
                }
            }
        }
    }

    /// Writes the 12 planes of (original − decoded)/255 over `region` (the training target; the
    /// other 4 channels stay as they are, zero).
    static func writeResidual(original: [UInt8], decoded: [UInt8], width: Int, height: Int, region: Region,
                              to out: UnsafeMutablePointer<Float>) {
        for y in 0..<region.height {
            for i in 0..<2 {
                let row = min(2 * (region.y + y) + i, height - 1)
                for x in 0..<region.width {
                    for j in 0..<2 {
                        let source = (row * width + min(2 * (region.x + x) + j, width - 1)) * 3
                        let target = (y * region.width + x) * stride
                        for c in 0..<3 {
                            out[target + c * 4 + i * 2 + j] = Float(Int(original[source + c]) - Int(decoded[source + c])) / 255
                        }
                    }
                }
            }
        }
    }

    /// Adds the 12-plane residual (a 16-channel tensor over `region`) to the decoded samples inside
    /// `core` (a sub-rectangle of `region`), rounding and clamping to 8 bits, into `output`.
    static func addResidual(_ residual: UnsafePointer<Float>, region: Region, core: Region, decoded: [UInt8],
                            width: Int, height: Int, into output: inout [UInt8], threads: Int = 1) {
        decoded.withUnsafeBufferPointer { d in
            output.withUnsafeMutableBufferPointer { o in
                let input = d.baseAddress!, result = o.baseAddress!
                forEachRow(core.height, threads: threads) { row in
                    let y = core.y + row
                    for i in 0..<2 where 2 * y + i < height {
                        let offset = (2 * y + i) * width * 3
                        var source = residual + ((y - region.y) * region.width + (core.x - region.x)) * stride
                        for x in core.x..<(core.x + core.width) {
                            for j in 0..<2 where 2 * x + j < width {
                                let target = offset + (2 * x + j) * 3
                                for c in 0..<3 {
                                    let value = Float(input[target + c]) + source[c * 4 + i * 2 + j] * 255
                                    result[target + c] = UInt8(max(0, min(255, value.rounded())))
                                }
                            }
                            source += stride
                        }
                    }
                }
            }
        }
    }

    /// Runs `body(row)` for every row, in `threads` contiguous bands.
    private static func forEachRow(_ rows: Int, threads: Int, _ body: (Int) -> Void) {
        let bands = max(1, min(threads, rows / 16))
        guard bands > 1 else {
            for row in 0..<rows { body(row) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The bands write disjoint rows; the box only carries the closure across threads.
            let shared = RowBody(run: body)
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                for row in (band * rows / bands)..<((band + 1) * rows / bands) { shared.run(row) }
            }
        }
    }

    private struct RowBody: @unchecked Sendable {
        let run: (Int) -> Void
    }
}
