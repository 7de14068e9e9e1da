import Foundation
import NacreEngine

/// The learned, per-channel univariate density of the hyper-latent z (Ballé et al. 2018,
/// appendix 6.1, "non-parametric" factorized prior).
///
/// For each channel a small monotone network maps x to a logit; the cumulative distribution is
/// c(x) = sigmoid(f(x)) with f = L_K ∘ … ∘ L_1, where layer k computes
/// `h ← softplus(H_k) · h + b_k` and, except for the last layer, `h ← h + tanh(a_k) ⊙ tanh(h)`.
/// softplus keeps the matrices positive and |tanh(a)| < 1 keeps the gating monotone, so c is a
/// valid CDF. The probability of an integer bin is c(z + ½) − c(z − ½).
///
/// Parameters live in one flat array so an optimizer can update them in place; the layout is
/// channel-major: for channel c, for layer k, the matrix (rows × cols), the bias, then the factor.
public struct FactorizedDensity: Sendable {
    /// Hidden widths between the scalar input and scalar output (CompressAI uses 3,3,3,3).
    public let filters: [Int]
    /// Number of channels (independent densities).
    public let channels: Int
    /// All parameters, channel-major (see the type's documentation).
    public var parameters: [Float]

    /// Smallest probability a bin is given, so its cost stays finite (≈ 30 bits).
    public static let likelihoodLowerBound = 1e-9

    /// Layer widths including the scalar ends: [1, filters…, 1].
    var widths: [Int] { [1] + filters + [1] }
    var layerCount: Int { widths.count - 1 }

    /// Parameters per channel.
    public var parametersPerChannel: Int {
        var n = 0
        for k in 0..<layerCount {
            n += widths[k + 1] * widths[k] + widths[k + 1]
            if k < layerCount - 1 { n += widths[k + 1] }
        }
        return n
    }

    /// A density with the initialisation of Ballé et al.: matrices such that the initial CDF
    /// has a scale of about `initScale`, biases uniform in ±½ (from `seed`), factors zero.
    public init(channels: Int, filters: [Int] = [3, 3, 3, 3], initScale: Double = 10, seed: UInt64 = 1) {
        self.channels = channels
        self.filters = filters
        self.parameters = []
        let widths = [1] + filters + [1]
        let scale = pow(initScale, 1 / Double(widths.count - 1))
        var random = SeededRandom(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(channels * 64)
        for _ in 0..<channels {
            for k in 0..<(widths.count - 1) {
                let rows = widths[k + 1], cols = widths[k]
                // softplus(m) = 1 / (scale · rows) at the start, as in Ballé et al.'s reference code.
                let m = Foundation.log(Foundation.expm1(1 / scale / Double(rows)))
                values += [Float](repeating: Float(m), count: rows * cols)
                for _ in 0..<rows { values.append(random.unitFloat() - 0.5) }
                if k < widths.count - 2 { values += [Float](repeating: 0, count: rows) }
            }
        }
        self.parameters = values
    }

    /// Per-element results of `likelihoods`, kept for `backward`.
    public struct Evaluation: Sendable {
        /// Bin probabilities, lower-bounded by `likelihoodLowerBound`.
        public var likelihoods: [Double]
        /// d(likelihood)/d(value) for each element.
        public var valueGradients: [Double]
        fileprivate var values: [Float]
        fileprivate var channelOf: [Int32]
    }

    /// The probability of the unit bin centred on each value: c(v + ½) − c(v − ½), for values of
    /// the given channels.
    public func likelihoods(values: [Float], channelOf: [Int32]) -> Evaluation {
        var likelihoods = [Double](repeating: 0, count: values.count)
        var valueGradients = [Double](repeating: 0, count: values.count)
        let perChannel = parametersPerChannel
        parameters.withUnsafeBufferPointer { p in
            for i in values.indices {
                let base = Int(channelOf[i]) * perChannel
                let v = Double(values[i])
                let (upper, dUpper) = logit(at: v + 0.5, params: p, base: base)
                let (lower, dLower) = logit(at: v - 0.5, params: p, base: base)
                // Evaluate on the side where the sigmoids are not saturated (both tails).
                let sign: Double = (upper + lower) > 0 ? -1 : 1
                let su = sigmoid(sign * upper), sl = sigmoid(sign * lower)
                let diff = su - sl
                likelihoods[i] = max(Swift.abs(diff), Self.likelihoodLowerBound)
                let dDiff = sign * (su * (1 - su) * dUpper - sl * (1 - sl) * dLower)
                valueGradients[i] = diff >= 0 ? dDiff : -dDiff
            }
        }
        return Evaluation(likelihoods: likelihoods, valueGradients: valueGradients,
                          values: values, channelOf: channelOf)
    }

    /// The CDF c(x) of one channel.
    public func cumulative(_ x: Double, channel: Int) -> Double {
        parameters.withUnsafeBufferPointer { p in
            sigmoid(logit(at: x, params: p, base: channel * parametersPerChannel).value)
        }
    }

    /// Adds to `gradient` (same layout as `parameters`) the gradient of Σ w_i · likelihood_i
    /// with respect to the parameters, where `likelihoodWeights[i]` = dLoss/dlikelihood_i.
    public func backward(_ evaluation: Evaluation, likelihoodWeights: [Double], gradient: inout [Float]) {
        let perChannel = parametersPerChannel
        var local = [Double](repeating: 0, count: parameters.count)
        parameters.withUnsafeBufferPointer { p in
            for i in evaluation.values.indices {
                let w = likelihoodWeights[i]
                if w == 0 { continue }
                let base = Int(evaluation.channelOf[i]) * perChannel
                let v = Double(evaluation.values[i])
                let upper = logit(at: v + 0.5, params: p, base: base).value
                let lower = logit(at: v - 0.5, params: p, base: base).value
                let sign: Double = (upper + lower) > 0 ? -1 : 1
                let su = sigmoid(sign * upper), sl = sigmoid(sign * lower)
                let diff = su - sl
                // Below the floor the likelihood is constant, so no gradient.
                if Swift.abs(diff) < Self.likelihoodLowerBound { continue }
                let outer = diff >= 0 ? w * sign : -w * sign
                accumulateLogitGradient(at: v + 0.5, scale: outer * su * (1 - su), params: p, base: base, into: &local)
                accumulateLogitGradient(at: v - 0.5, scale: -outer * sl * (1 - sl), params: p, base: base, into: &local)
            }
        }
        for j in local.indices { gradient[j] += Float(local[j]) }
    }

    /// The logit f(x) and df/dx.
    func logit(at x: Double, params p: UnsafeBufferPointer<Float>, base: Int) -> (value: Double, derivative: Double) {
        var h: [Double] = [x], dh: [Double] = [1]
        var offset = base
        for k in 0..<layerCount {
            let rows = widths[k + 1], cols = widths[k]
            var next = [Double](repeating: 0, count: rows), dNext = [Double](repeating: 0, count: rows)
            for r in 0..<rows {
                var s = 0.0, ds = 0.0
                for c in 0..<cols {
                    let m = softplus(Double(p[offset + r * cols + c]))
                    s += m * h[c]; ds += m * dh[c]
                }
                next[r] = s + Double(p[offset + rows * cols + r]); dNext[r] = ds
            }
            offset += rows * cols + rows
            if k < layerCount - 1 {
                for r in 0..<rows {
                    let a = tanh(Double(p[offset + r])), t = tanh(next[r])
                    dNext[r] *= 1 + a * (1 - t * t)
                    next[r] += a * t
                }
                offset += rows
            }
            h = next; dh = dNext
        }
        return (h[0], dh[0])
    }

    /// Adds scale · df(x)/dθ to `grad` for this channel's parameters θ (reverse mode).
    func accumulateLogitGradient(at x: Double, scale: Double, params p: UnsafeBufferPointer<Float>, base: Int,
                                 into grad: inout [Double]) {
        // Forward pass keeping each layer's input and pre-gating output.
        var inputs: [[Double]] = [], preGate: [[Double]] = [], offsets: [Int] = []
        var h: [Double] = [x]
        var offset = base
        for k in 0..<layerCount {
            let rows = widths[k + 1], cols = widths[k]
            inputs.append(h); offsets.append(offset)
            var next = [Double](repeating: 0, count: rows)
            for r in 0..<rows {
                var s = Double(p[offset + rows * cols + r])
                for c in 0..<cols { s += softplus(Double(p[offset + r * cols + c])) * h[c] }
                next[r] = s
            }
            preGate.append(next)
            offset += rows * cols + rows
            if k < layerCount - 1 {
                for r in 0..<rows { next[r] += tanh(Double(p[offset + r])) * tanh(next[r]) }
                offset += rows
            }
            h = next
        }
        // Backward.
        var g: [Double] = [scale]
        for k in stride(from: layerCount - 1, through: 0, by: -1) {
            let rows = widths[k + 1], cols = widths[k], o = offsets[k]
            if k < layerCount - 1 {
                let factorOffset = o + rows * cols + rows
                for r in 0..<rows {
                    let a = tanh(Double(p[factorOffset + r])), t = tanh(preGate[k][r])
                    grad[factorOffset + r] += g[r] * t * (1 - a * a)
                    g[r] *= 1 + a * (1 - t * t)
                }
            }
            var gIn = [Double](repeating: 0, count: cols)
            for r in 0..<rows {
                grad[o + rows * cols + r] += g[r]
                for c in 0..<cols {
                    let raw = Double(p[o + r * cols + c])
                    grad[o + r * cols + c] += g[r] * inputs[k][c] * sigmoid(raw)
                    gIn[c] += g[r] * softplus(raw)
                }
            }
            g = gIn
        }
    }
}

@inline(__always) func softplus(_ x: Double) -> Double { x > 30 ? x : Foundation.log1p(Foundation.exp(x)) }
@inline(__always) func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
