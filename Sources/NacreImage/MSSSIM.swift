import Foundation

/// Multi-scale structural similarity (Wang, Simoncelli & Bovik 2003) of 8-bit RGB images,
/// in the convention of `pytorch_msssim.ms_ssim` that CompressAI reports:
/// - 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333);
/// - an 11×11 Gaussian window, σ = 1.5, applied separably with 'valid' filtering (no padding);
/// - K1 = 0.01, K2 = 0.03, data range 255 (samples on the 0…255 scale);
/// - between scales a 2×2 average pool with stride 2; a dimension of odd size is first padded
///   by one zero sample on each side, the zeros counting in the average (PyTorch's
///   `avg_pool2d(padding=1)`, as pytorch_msssim does);
/// - contrast-structure means (scales 1–4) and the SSIM mean (scale 5) are clamped at 0,
///   raised to their weights and multiplied, per RGB channel; the result is the mean over the
///   three channels.
///
/// Images need at least 161 pixels on their shorter side (the window must still fit after four
/// halvings). Smaller images get a `.tooSmall` error rather than a different, incomparable
/// number; use PSNR for them. Alpha planes are ignored. Arithmetic is in Double.
public enum MSSSIM {
    /// Per-scale exponents, finest scale first.
    public static let weights: [Double] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    /// The Gaussian window's size and standard deviation.
    public static let windowSize = 11
    public static let windowSigma = 1.5
    /// Smallest accepted side: (windowSize − 1)·2⁴ + 1.
    public static let minimumSide = (windowSize - 1) * 16 + 1

    private static let c1 = (0.01 * 255) * (0.01 * 255)
    private static let c2 = (0.03 * 255) * (0.03 * 255)

    /// The normalized 1-D Gaussian window.
    static let window: [Double] = {
        let center = Double(windowSize / 2)
        let raw = (0..<windowSize).map { exp(-(Double($0) - center) * (Double($0) - center) / (2 * windowSigma * windowSigma)) }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }()

    /// MS-SSIM of `distorted` against `reference`, in [0, 1] (1 for identical images).
    public static func compute(reference: PixelBuffer, distorted: PixelBuffer) throws(ImageError) -> Double {
        try PSNR.checkSameSize(reference, distorted)
        guard min(reference.width, reference.height) >= minimumSide else {
            throw ImageError(code: .tooSmall, message: "MS-SSIM needs at least \(minimumSide) pixels on each side, got \(reference.width)×\(reference.height). Use PSNR for smaller images.")
        }
        var total = 0.0
        for channel in 0..<3 {
            total += channelValue(plane(reference, channel), plane(distorted, channel))
        }
        return total / 3
    }

    /// One colour channel as a Double plane.
    private static func plane(_ pixels: PixelBuffer, _ channel: Int) -> Plane {
        var values = [Double](repeating: 0, count: pixels.pixelCount)
        pixels.rgb.withUnsafeBufferPointer { rgb in
            for index in values.indices { values[index] = Double(rgb[3 * index + channel]) }
        }
        return Plane(width: pixels.width, height: pixels.height, values: values)
    }

    private static func channelValue(_ reference: Plane, _ distorted: Plane) -> Double {
        var x = reference, y = distorted
        var product = 1.0
        for scale in 0..<weights.count {
            let (ssim, contrastStructure) = similarityMeans(x, y)
            if scale < weights.count - 1 {
                product *= pow(max(contrastStructure, 0), weights[scale])
                x = x.halved()
                y = y.halved()
            } else {
                product *= pow(max(ssim, 0), weights[scale])
            }
        }
        return product
    }

    /// Means of the SSIM map and of the contrast-structure map over all valid window positions.
    ///
    /// Separable filtering: each input row is filtered horizontally once into a ring of the last
    /// `windowSize` rows of the five moments (x, y, x², y², xy, one plane each), and each output
    /// row filters that ring vertically. Memory is O(width), whatever the height. The loops run
    /// along a row so they vectorize; each value still sums its taps in window order, and the
    /// means sum the map in raster order.
    private static func similarityMeans(_ x: Plane, _ y: Plane) -> (ssim: Double, contrastStructure: Double) {
        let taps = windowSize
        let outWidth = x.width - taps + 1, outHeight = x.height - taps + 1
        let ringRow = outWidth * 5
        var ring = [Double](repeating: 0, count: taps * ringRow)
        // The vertical sums of one output row (five planes), then its SSIM and cs maps.
        var sums = [Double](repeating: 0, count: ringRow)
        var ssimRow = [Double](repeating: 0, count: outWidth), csRow = [Double](repeating: 0, count: outWidth)
        var ssimSum = 0.0, csSum = 0.0
        let (c1, c2) = (Self.c1, Self.c2)
        window.withUnsafeBufferPointer { g in
            ring.withUnsafeMutableBufferPointer { ringBuffer in
                sums.withUnsafeMutableBufferPointer { sumBuffer in
                    ssimRow.withUnsafeMutableBufferPointer { ssimBuffer in
                        csRow.withUnsafeMutableBufferPointer { csBuffer in
                            x.values.withUnsafeBufferPointer { xv in
                                y.values.withUnsafeBufferPointer { yv in
                                    let m = ringBuffer.baseAddress!, u = sumBuffer.baseAddress!
                                    let ssimMap = ssimBuffer.baseAddress!, csMap = csBuffer.baseAddress!
                                    for inputRow in 0..<x.height {
                                        let slot = m + (inputRow % taps) * ringRow
                                        slot.update(repeating: 0, count: ringRow)
                                        let rx = xv.baseAddress! + inputRow * x.width, ry = yv.baseAddress! + inputRow * y.width
                                        for tap in 0..<taps {
                                            accumulateMoments(slot, outWidth, rx + tap, ry + tap, g[tap])
                                        }
                                        // Rows inputRow-10 ... inputRow are in the ring: one output row.
                                        let outputRow = inputRow - taps + 1
                                        guard outputRow >= 0 else { continue }
                                        u.update(repeating: 0, count: ringRow)
                                        for tap in 0..<taps {
                                            accumulate(u, ringRow, m + ((outputRow + tap) % taps) * ringRow, g[tap])
                                        }
                                        similarityRow(u, outWidth, c1, c2, ssimMap, csMap)
                                        for column in 0..<outWidth {
                                            csSum += csMap[column]
                                            ssimSum += ssimMap[column]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let count = Double(outWidth * outHeight)
        return (ssimSum / count, csSum / count)
    }

    /// Adds `w` times the moments of one tap position to the five planes at `into`.
    @inline(__always)
    private static func accumulateMoments(_ into: UnsafeMutablePointer<Double>, _ count: Int,
                                          _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ w: Double) {
        let sx = into, sy = into + count, sxx = into + 2 * count, syy = into + 3 * count, sxy = into + 4 * count
        for column in 0..<count {
            let p = a[column], q = b[column]
            sx[column] += w * p
            sy[column] += w * q
            sxx[column] += w * p * p
            syy[column] += w * q * q
            sxy[column] += w * p * q
        }
    }

    /// `into[i] += w · from[i]`.
    @inline(__always)
    private static func accumulate(_ into: UnsafeMutablePointer<Double>, _ count: Int, _ from: UnsafePointer<Double>, _ w: Double) {
        for index in 0..<count { into[index] += w * from[index] }
    }

    /// The SSIM and contrast-structure maps of one output row from its local moments.
    @inline(__always)
    private static func similarityRow(_ moments: UnsafePointer<Double>, _ count: Int, _ c1: Double, _ c2: Double,
                                      _ ssim: UnsafeMutablePointer<Double>, _ cs: UnsafeMutablePointer<Double>) {
        let mx = moments, my = moments + count, exx = moments + 2 * count, eyy = moments + 3 * count, exy = moments + 4 * count
        for column in 0..<count {
            let ux = mx[column], uy = my[column]
            let varianceX = exx[column] - ux * ux, varianceY = eyy[column] - uy * uy, covariance = exy[column] - ux * uy
            let value = (2 * covariance + c2) / (varianceX + varianceY + c2)
            cs[column] = value
            ssim[column] = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * value
        }
    }

    /// A single-channel image of Double samples.
    struct Plane {
        var width: Int
        var height: Int
        var values: [Double]

        /// 2×2 average pooling with stride 2; an odd dimension gets one zero of padding on each
        /// side, counted in the average (PyTorch `avg_pool2d`, `count_include_pad=True`).
        func halved() -> Plane {
            let padX = width % 2, padY = height % 2
            let outWidth = (width + 2 * padX) / 2, outHeight = (height + 2 * padY) / 2
            var out = [Double](repeating: 0, count: outWidth * outHeight)
            values.withUnsafeBufferPointer { v in
                func sample(_ column: Int, _ row: Int) -> Double {
                    column >= 0 && column < width && row >= 0 && row < height ? v[row * width + column] : 0
                }
                for row in 0..<outHeight {
                    for column in 0..<outWidth {
                        let left = 2 * column - padX, top = 2 * row - padY
                        out[row * outWidth + column] = (sample(left, top) + sample(left + 1, top)
                            + sample(left, top + 1) + sample(left + 1, top + 1)) / 4
                    }
                }
            }
            return Plane(width: outWidth, height: outHeight, values: out)
        }
    }
}
