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
    /// `windowSize` rows of the five moments (x, y, x², y², xy, interleaved), and each output row
    /// filters that ring vertically. Memory is O(width), whatever the height.
    private static func similarityMeans(_ x: Plane, _ y: Plane) -> (ssim: Double, contrastStructure: Double) {
        let taps = windowSize
        let outWidth = x.width - taps + 1, outHeight = x.height - taps + 1
        let ringRow = outWidth * 5
        var ring = [Double](repeating: 0, count: taps * ringRow)
        var ssimSum = 0.0, csSum = 0.0
        window.withUnsafeBufferPointer { g in
            ring.withUnsafeMutableBufferPointer { m in
                x.values.withUnsafeBufferPointer { xv in
                    y.values.withUnsafeBufferPointer { yv in
                        for inputRow in 0..<x.height {
                            let slot = (inputRow % taps) * ringRow
                            for column in 0..<outWidth {
                                var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
                                let start = inputRow * x.width + column
                                for tap in 0..<taps {
                                    let a = xv[start + tap], b = yv[start + tap], w = g[tap]
                                    sx += w * a
                                    sy += w * b
                                    sxx += w * a * a
                                    syy += w * b * b
                                    sxy += w * a * b
                                }
                                let out = slot + 5 * column
                                m[out] = sx
                                m[out + 1] = sy
                                m[out + 2] = sxx
                                m[out + 3] = syy
                                m[out + 4] = sxy
                            }
                            // Rows inputRow-10 ... inputRow are in the ring: one output row.
                            let outputRow = inputRow - taps + 1
                            guard outputRow >= 0 else { continue }
                            for column in 0..<outWidth {
                                var ux = 0.0, uy = 0.0, exx = 0.0, eyy = 0.0, exy = 0.0
                                for tap in 0..<taps {
                                    let index = ((outputRow + tap) % taps) * ringRow + 5 * column, w = g[tap]
                                    ux += w * m[index]
                                    uy += w * m[index + 1]
                                    exx += w * m[index + 2]
                                    eyy += w * m[index + 3]
                                    exy += w * m[index + 4]
                                }
                                let varianceX = exx - ux * ux, varianceY = eyy - uy * uy, covariance = exy - ux * uy
                                let cs = (2 * covariance + c2) / (varianceX + varianceY + c2)
                                csSum += cs
                                ssimSum += (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs
                            }
                        }
                    }
                }
            }
        }
        let count = Double(outWidth * outHeight)
        return (ssimSum / count, csSum / count)
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
