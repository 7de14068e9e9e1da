import Foundation

/// A density's parameters in the form its evaluation uses, computed once per call instead of
/// once per element: softplus of each matrix entry, tanh of each gating factor, the biases as
/// they are, and the derivatives of those maps (same layout as `FactorizedDensity.parameters`).
struct PreparedDensityNetwork {
    let widths: [Int]
    let perChannel: Int
    /// Offset of each layer's matrix within a channel's parameters.
    let layerOffsets: [Int]
    let widest: Int
    /// softplus(m) | b | tanh(a).
    let weights: [Double]
    /// sigmoid(m) (= softplus′) | 1 | 1 − tanh²(a).
    let slopes: [Double]

    /// - Parameter onlyChannel: prepare this channel's parameters only (the others stay unset).
    init(_ density: FactorizedDensity, onlyChannel: Int? = nil) {
        widths = density.widths
        perChannel = density.parametersPerChannel
        widest = widths.max() ?? 1
        var offsets: [Int] = [], offset = 0
        var kinds: [UInt8] = []  // 0 matrix, 1 bias, 2 factor
        for k in 0..<(widths.count - 1) {
            let rows = widths[k + 1], cols = widths[k]
            offsets.append(offset)
            kinds += [UInt8](repeating: 0, count: rows * cols) + [UInt8](repeating: 1, count: rows)
            offset += rows * cols + rows
            if k < widths.count - 2 {
                kinds += [UInt8](repeating: 2, count: rows)
                offset += rows
            }
        }
        layerOffsets = offsets
        var weights = [Double](repeating: 0, count: density.parameters.count)
        var slopes = [Double](repeating: 1, count: density.parameters.count)
        let channelSize = density.parametersPerChannel
        let prepared = onlyChannel.map { ($0 * channelSize)..<(($0 + 1) * channelSize) } ?? density.parameters.indices
        for j in prepared {
            let raw = Double(density.parameters[j])
            switch kinds[j % channelSize] {
            case 0: weights[j] = softplus(raw); slopes[j] = sigmoid(raw)
            case 1: weights[j] = raw
            default: let a = tanh(raw); weights[j] = a; slopes[j] = 1 - a * a
            }
        }
        self.weights = weights
        self.slopes = slopes
    }

    var layerCount: Int { widths.count - 1 }

    /// Scratch for one evaluation at a time: h, dh, next, dNext, gradient in and out.
    func makeWorkspace() -> UnsafeMutablePointer<Double> { .allocate(capacity: 6 * widest) }

    /// Each layer's input and tanh of its pre-gating output, for `accumulateGradient`.
    func makeTrace() -> UnsafeMutablePointer<Double> { .allocate(capacity: 2 * layerCount * widest) }

    /// The logit f(x) and df/dx of the channel whose parameters start at `base`; with `trace`,
    /// keeps what the reverse pass needs.
    func logit(at x: Double, base: Int, workspace: UnsafeMutablePointer<Double>,
               trace: UnsafeMutablePointer<Double>?) -> (value: Double, derivative: Double) {
        var h = workspace, dh = workspace + widest, next = workspace + 2 * widest, dNext = workspace + 3 * widest
        h[0] = x; dh[0] = 1
        weights.withUnsafeBufferPointer { p in
            for k in 0..<layerCount {
                let rows = widths[k + 1], cols = widths[k], o = base + layerOffsets[k]
                if let trace { for c in 0..<cols { trace[2 * k * widest + c] = h[c] } }
                for r in 0..<rows {
                    var s = 0.0, ds = 0.0
                    for c in 0..<cols {
                        let m = p[o + r * cols + c]
                        s += m * h[c]; ds += m * dh[c]
                    }
                    next[r] = s + p[o + rows * cols + r]; dNext[r] = ds
                }
                if k < layerCount - 1 {
                    for r in 0..<rows {
                        let a = p[o + rows * cols + rows + r], t = tanh(next[r])
                        if let trace { trace[(2 * k + 1) * widest + r] = t }
                        dNext[r] *= 1 + a * (1 - t * t)
                        next[r] += a * t
                    }
                }
                swap(&h, &next); swap(&dh, &dNext)
            }
        }
        return (h[0], dh[0])
    }

    /// Adds scale · df(x)/dθ to `gradient` (this channel's parameters θ, reverse mode) from the
    /// trace `logit` kept for x.
    func accumulateGradient(scale: Double, base: Int, trace: UnsafePointer<Double>,
                            workspace: UnsafeMutablePointer<Double>, into gradient: UnsafeMutablePointer<Double>) {
        var g = workspace + 4 * widest, gIn = workspace + 5 * widest
        g[0] = scale
        weights.withUnsafeBufferPointer { p in
            slopes.withUnsafeBufferPointer { d in
                for k in stride(from: layerCount - 1, through: 0, by: -1) {
                    let rows = widths[k + 1], cols = widths[k], o = base + layerOffsets[k]
                    if k < layerCount - 1 {
                        let factorOffset = o + rows * cols + rows
                        for r in 0..<rows {
                            let a = p[factorOffset + r], t = trace[(2 * k + 1) * widest + r]
                            gradient[factorOffset + r] += g[r] * t * d[factorOffset + r]
                            g[r] *= 1 + a * (1 - t * t)
                        }
                    }
                    for c in 0..<cols { gIn[c] = 0 }
                    for r in 0..<rows {
                        gradient[o + rows * cols + r] += g[r]
                        for c in 0..<cols {
                            let j = o + r * cols + c
                            gradient[j] += g[r] * trace[2 * k * widest + c] * d[j]
                            gIn[c] += g[r] * p[j]
                        }
                    }
                    swap(&g, &gIn)
                }
            }
        }
    }
}
