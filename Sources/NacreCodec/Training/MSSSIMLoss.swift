import Foundation

/// MS-SSIM as a training objective: its value and its exact gradient with respect to the
/// reconstruction, for `--distortion ms-ssim` (the MS-SSIM-optimised variant). Same definition
/// as the evaluation metric `NacreImage.MSSSIM` (pytorch_msssim's convention: 5 scales with
/// weights 0.0448…0.1333, 11×11 Gaussian window σ = 1.5 applied 'valid', K1 = 0.01, K2 = 0.03,
/// 2×2 average pooling, per-scale means clamped at 0), on samples in 0…1 (data range 1), per
/// image plane. Sides must be even at every scale and at least 176 (the window must fit after four
/// halvings): training crops that are multiples of 64 from 192 up qualify.
///
/// The backward pass differentiates the per-pixel SSIM / contrast-structure terms with respect to
/// the filtered moments μx, E[x²], E[xy] (y is the fixed target), takes those back through the
/// transposed Gaussian filter, and the coarser scales back through the pooling.
public enum MSSSIMLoss {
    static let weights: [Double] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    static let c1 = 0.01 * 0.01
    static let c2 = 0.03 * 0.03
    static let taps = 11
    static let window: [Float] = {
        let raw = (0..<11).map { Foundation.exp(-Double(($0 - 5) * ($0 - 5)) / (2 * 1.5 * 1.5)) }
        let sum = raw.reduce(0, +)
        return raw.map { Float($0 / sum) }
    }()

    /// Smallest side accepted.
    public static let minimumSide = 176

    /// Whether planes of this size can be evaluated.
    public static func accepts(height: Int, width: Int) -> Bool {
        height >= minimumSide && width >= minimumSide && height % 16 == 0 && width % 16 == 0
    }

    /// MS-SSIM of each of `planes` planes of `reconstruction` against `target` (plain
    /// planes × height × width), and d(MS-SSIM of its plane)/d(reconstruction) per element.
    public static func evaluate(reconstruction: [Float], target: [Float], planes: Int, height: Int, width: Int)
        -> (values: [Double], gradient: [Float]) {
        precondition(accepts(height: height, width: width) && reconstruction.count == planes * height * width
                     && target.count == reconstruction.count)
        var values = [Double](repeating: 0, count: planes)
        var gradient = [Float](repeating: 0, count: reconstruction.count)
        let plane = height * width
        values.withUnsafeMutableBufferPointer { valuesOut in
            gradient.withUnsafeMutableBufferPointer { gradientOut in
                // Each iteration writes only its own plane's slots.
                nonisolated(unsafe) let valuesBase = valuesOut.baseAddress!
                nonisolated(unsafe) let gradientBase = gradientOut.baseAddress!
                DispatchQueue.concurrentPerform(iterations: planes) { p in
                    let x = Array(reconstruction[(p * plane)..<((p + 1) * plane)])
                    let y = Array(target[(p * plane)..<((p + 1) * plane)])
                    let (value, planeGradient) = evaluatePlane(x: x, y: y, height: height, width: width)
                    valuesBase[p] = value
                    (gradientBase + p * plane).update(from: planeGradient, count: plane)
                }
            }
        }
        return (values, gradient)
    }

    /// One plane: MS-SSIM and its gradient.
    static func evaluatePlane(x: [Float], y: [Float], height: Int, width: Int) -> (Double, [Float]) {
        var xs = [x], ys = [y], sizes = [(height, width)]
        for _ in 1..<weights.count {
            let (h, w) = sizes.last!
            xs.append(pooled(xs.last!, height: h, width: w))
            ys.append(pooled(ys.last!, height: h, width: w))
            sizes.append((h / 2, w / 2))
        }
        let last = weights.count - 1
        let statistics = (0...last).map { s in
            moments(xs[s], ys[s], height: sizes[s].0, width: sizes[s].1)
        }
        var means = [Double](repeating: 0, count: weights.count)
        for s in 0...last { means[s] = statistics[s].mean(ssim: s == last) }
        let clamped = means.map { Swift.max($0, 0) }
        var value = 1.0
        for s in 0...last { value *= Foundation.pow(clamped[s], weights[s]) }

        // Gradient, coarsest scale first, each scale's pooled gradient handed to the finer one.
        var carried: [Float]? = nil
        for s in stride(from: last, through: 0, by: -1) {
            let (h, w) = sizes[s]
            var g = [Float](repeating: 0, count: h * w)
            if clamped[s] > 0, value > 0 {
                let coefficient = weights[s] * value / clamped[s]
                g = statistics[s].inputGradient(x: xs[s], y: ys[s], ssim: s == last, coefficient: coefficient)
            }
            if let carried {
                for row in 0..<(h / 2) {
                    for column in 0..<(w / 2) {
                        let share = carried[row * (w / 2) + column] / 4
                        g[2 * row * w + 2 * column] += share
                        g[2 * row * w + 2 * column + 1] += share
                        g[(2 * row + 1) * w + 2 * column] += share
                        g[(2 * row + 1) * w + 2 * column + 1] += share
                    }
                }
            }
            carried = g
        }
        return (value, carried!)
    }

    /// 2×2 average pooling, stride 2 (even sides).
    static func pooled(_ v: [Float], height: Int, width: Int) -> [Float] {
        let (h, w) = (height / 2, width / 2)
        var out = [Float](repeating: 0, count: h * w)
        for row in 0..<h {
            for column in 0..<w {
                let i = 2 * row * width + 2 * column
                out[row * w + column] = (v[i] + v[i + 1] + v[i + width] + v[i + width + 1]) / 4
            }
        }
        return out
    }

    /// The Gaussian-filtered moments of one scale ('valid' window positions).
    struct Moments {
        let height: Int, width: Int, outHeight: Int, outWidth: Int
        let mx: [Float], my: [Float], exx: [Float], eyy: [Float], exy: [Float]

        /// Mean of the contrast-structure map, or of the SSIM map.
        func mean(ssim: Bool) -> Double {
            var sum = 0.0
            for i in mx.indices {
                let (a, b) = (Double(mx[i]), Double(my[i]))
                let cs = (2 * (Double(exy[i]) - a * b) + c2) / (Double(exx[i]) - a * a + Double(eyy[i]) - b * b + c2)
                sum += ssim ? (2 * a * b + c1) / (a * a + b * b + c1) * cs : cs
            }
            return sum / Double(mx.count)
        }

        /// coefficient · d(mean map)/dx for this scale's input x.
        func inputGradient(x: [Float], y: [Float], ssim: Bool, coefficient: Double) -> [Float] {
            let count = Double(mx.count)
            var dMean = [Float](repeating: 0, count: mx.count)
            var dSquare = dMean, dCross = dMean
            for i in mx.indices {
                let (a, b) = (Double(mx[i]), Double(my[i]))
                let n2 = 2 * (Double(exy[i]) - a * b) + c2
                let d2 = Double(exx[i]) - a * a + Double(eyy[i]) - b * b + c2
                let cs = n2 / d2
                // cs: ∂/∂E[xy] = 2/d2; ∂/∂E[x²] = −n2/d2²; ∂/∂μx = −2b/d2 + 2a·n2/d2².
                var gCross = 2 / d2, gSquare = -n2 / (d2 * d2), gMean = -2 * b / d2 + 2 * a * n2 / (d2 * d2)
                if ssim {
                    let n1 = 2 * a * b + c1, d1 = a * a + b * b + c1, l = n1 / d1
                    gMean = (2 * b / d1 - 2 * a * n1 / (d1 * d1)) * cs + l * gMean
                    gSquare *= l
                    gCross *= l
                }
                let k = coefficient / count
                dMean[i] = Float(gMean * k)
                dSquare[i] = Float(gSquare * k)
                dCross[i] = Float(gCross * k)
            }
            let backMean = MSSSIMLoss.filterTransposed(dMean, height: height, width: width)
            let backSquare = MSSSIMLoss.filterTransposed(dSquare, height: height, width: width)
            let backCross = MSSSIMLoss.filterTransposed(dCross, height: height, width: width)
            var out = [Float](repeating: 0, count: height * width)
            for i in out.indices { out[i] = backMean[i] + 2 * x[i] * backSquare[i] + y[i] * backCross[i] }
            return out
        }
    }

    static func moments(_ x: [Float], _ y: [Float], height: Int, width: Int) -> Moments {
        var xx = x, yy = y, xy = x
        for i in x.indices { xx[i] = x[i] * x[i]; yy[i] = y[i] * y[i]; xy[i] = x[i] * y[i] }
        return Moments(height: height, width: width, outHeight: height - taps + 1, outWidth: width - taps + 1,
                       mx: filter(x, height: height, width: width), my: filter(y, height: height, width: width),
                       exx: filter(xx, height: height, width: width), eyy: filter(yy, height: height, width: width),
                       exy: filter(xy, height: height, width: width))
    }

    /// Separable 'valid' Gaussian filtering: (height − 10) × (width − 10) outputs.
    static func filter(_ v: [Float], height: Int, width: Int) -> [Float] {
        let (outHeight, outWidth) = (height - taps + 1, width - taps + 1)
        var horizontal = [Float](repeating: 0, count: height * outWidth)
        var out = [Float](repeating: 0, count: outHeight * outWidth)
        window.withUnsafeBufferPointer { g in
            v.withUnsafeBufferPointer { input in
                horizontal.withUnsafeMutableBufferPointer { h in
                    for row in 0..<height {
                        for tap in 0..<taps {
                            let weight = g[tap], source = row * width + tap, destination = row * outWidth
                            for column in 0..<outWidth { h[destination + column] += weight * input[source + column] }
                        }
                    }
                }
            }
            horizontal.withUnsafeBufferPointer { h in
                out.withUnsafeMutableBufferPointer { o in
                    for row in 0..<outHeight {
                        for tap in 0..<taps {
                            let weight = g[tap], source = (row + tap) * outWidth, destination = row * outWidth
                            for column in 0..<outWidth { o[destination + column] += weight * h[source + column] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The transpose of `filter`: a gradient on the outputs back onto the height × width inputs.
    static func filterTransposed(_ d: [Float], height: Int, width: Int) -> [Float] {
        let (outHeight, outWidth) = (height - taps + 1, width - taps + 1)
        var horizontal = [Float](repeating: 0, count: height * outWidth)
        var out = [Float](repeating: 0, count: height * width)
        window.withUnsafeBufferPointer { g in
            d.withUnsafeBufferPointer { gradient in
                horizontal.withUnsafeMutableBufferPointer { h in
                    for row in 0..<outHeight {
                        for tap in 0..<taps {
                            let weight = g[tap], source = row * outWidth, destination = (row + tap) * outWidth
                            for column in 0..<outWidth { h[destination + column] += weight * gradient[source + column] }
                        }
                    }
                }
            }
            horizontal.withUnsafeBufferPointer { h in
                out.withUnsafeMutableBufferPointer { o in
                    for row in 0..<height {
                        for tap in 0..<taps {
                            let weight = g[tap], source = row * outWidth, destination = row * width + tap
                            for column in 0..<outWidth { o[destination + column] += weight * h[source + column] }
                        }
                    }
                }
            }
        }
        return out
    }
}
