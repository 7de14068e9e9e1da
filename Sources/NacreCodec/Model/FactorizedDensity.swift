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
        let count = values.count
        let likelihoods = UnsafeMutablePointer<Double>.allocate(capacity: max(1, count))
        let valueGradients = UnsafeMutablePointer<Double>.allocate(capacity: max(1, count))
        defer { likelihoods.deallocate(); valueGradients.deallocate() }
        let network = PreparedDensityNetwork(self)
        let out = ChunkSharedPointer(base: likelihoods), dOut = ChunkSharedPointer(base: valueGradients)
        FixedChunks.forEach(of: count, minimumPerChunk: Self.valuesPerChunk) { _, range in
            let workspace = network.makeWorkspace()
            defer { workspace.deallocate() }
            for i in range {
                let base = Int(channelOf[i]) * network.perChannel
                let v = Double(values[i])
                let (upper, dUpper) = network.logit(at: v + 0.5, base: base, workspace: workspace, trace: nil)
                let (lower, dLower) = network.logit(at: v - 0.5, base: base, workspace: workspace, trace: nil)
                // Evaluate on the side where the sigmoids are not saturated (both tails).
                let sign: Double = (upper + lower) > 0 ? -1 : 1
                let su = sigmoid(sign * upper), sl = sigmoid(sign * lower)
                let diff = su - sl
                out.base[i] = max(Swift.abs(diff), Self.likelihoodLowerBound)
                let dDiff = sign * (su * (1 - su) * dUpper - sl * (1 - sl) * dLower)
                dOut.base[i] = diff >= 0 ? dDiff : -dDiff
            }
        }
        return Evaluation(likelihoods: Array(UnsafeBufferPointer(start: likelihoods, count: count)),
                          valueGradients: Array(UnsafeBufferPointer(start: valueGradients, count: count)),
                          values: values, channelOf: channelOf)
    }

    /// The CDF c(x) of one channel.
    public func cumulative(_ x: Double, channel: Int) -> Double {
        let network = PreparedDensityNetwork(self, onlyChannel: channel)
        let workspace = network.makeWorkspace()
        defer { workspace.deallocate() }
        return sigmoid(network.logit(at: x, base: channel * parametersPerChannel, workspace: workspace, trace: nil).value)
    }

    /// Adds to `gradient` (same layout as `parameters`) the gradient of Σ w_i · likelihood_i
    /// with respect to the parameters, where `likelihoodWeights[i]` = dLoss/dlikelihood_i.
    public func backward(_ evaluation: Evaluation, likelihoodWeights: [Double], gradient: inout [Float]) {
        let network = PreparedDensityNetwork(self)
        let count = evaluation.values.count
        // One partial sum per chunk, added in chunk order: the same result on any machine.
        let chunks = FixedChunks.count(for: count, minimumPerChunk: Self.valuesPerChunk)
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: chunks * parameters.count)
        partials.initialize(repeating: 0, count: chunks * parameters.count)
        defer { partials.deallocate() }
        let shared = ChunkSharedPointer(base: partials)
        let parameterCount = parameters.count
        FixedChunks.forEach(of: count, minimumPerChunk: Self.valuesPerChunk) { chunk, range in
            let local = shared.base + chunk * parameterCount
            let workspace = network.makeWorkspace()
            let upperTrace = network.makeTrace(), lowerTrace = network.makeTrace()
            defer { workspace.deallocate(); upperTrace.deallocate(); lowerTrace.deallocate() }
            for i in range {
                let w = likelihoodWeights[i]
                if w == 0 { continue }
                let base = Int(evaluation.channelOf[i]) * network.perChannel
                let v = Double(evaluation.values[i])
                let upper = network.logit(at: v + 0.5, base: base, workspace: workspace, trace: upperTrace).value
                let lower = network.logit(at: v - 0.5, base: base, workspace: workspace, trace: lowerTrace).value
                let sign: Double = (upper + lower) > 0 ? -1 : 1
                let su = sigmoid(sign * upper), sl = sigmoid(sign * lower)
                let diff = su - sl
                // Below the floor the likelihood is constant, so no gradient.
                if Swift.abs(diff) < Self.likelihoodLowerBound { continue }
                let outer = diff >= 0 ? w * sign : -w * sign
                network.accumulateGradient(scale: outer * su * (1 - su), base: base, trace: upperTrace, workspace: workspace, into: local)
                network.accumulateGradient(scale: -outer * sl * (1 - sl), base: base, trace: lowerTrace, workspace: workspace, into: local)
            }
        }
        for chunk in 0..<chunks {
            for j in 0..<parameterCount { gradient[j] += Float(partials[chunk * parameterCount + j]) }
        }
    }

    /// Values per parallel chunk (see `FixedChunks`).
    static let valuesPerChunk = 1024
}

@inline(__always) func softplus(_ x: Double) -> Double { x > 30 ? x : Foundation.log1p(Foundation.exp(x)) }
@inline(__always) func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
