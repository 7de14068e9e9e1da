import Foundation

/// The rate of y under the scale hyperprior's conditional Gaussian: each (noisy or rounded)
/// element v with predicted scale σ costs −log₂ P(v), where P is the mass of the unit bin
/// around v under N(0, σ²): P = Φ((½ − |v|)/σ) − Φ((−½ − |v|)/σ).
///
/// Scales are lower-bounded by `minimumScale` (the smallest scale of the coding table, so
/// training sees the same floor as the coder) and bin masses by `likelihoodLowerBound`.
public enum GaussianConditionalRate {
    /// Smallest scale, equal to the first entry of the coding scale table.
    public static let minimumScale: Float = 0.11
    /// Smallest bin mass (≈ 30 bits).
    public static let likelihoodLowerBound = 1e-9

    /// Total bits and, per element, d(bits)/dv and d(bits)/dσ (σ before the lower bound; zero
    /// below it, as the bound is flat there).
    public static func bits(values: UnsafeBufferPointer<Float>, scales: UnsafeBufferPointer<Float>,
                            valueGradients: UnsafeMutableBufferPointer<Float>?,
                            scaleGradients: UnsafeMutableBufferPointer<Float>?) -> Double {
        precondition(values.count == scales.count)
        let count = values.count
        guard count > 0 else { return 0 }
        // One partial total per chunk, added in chunk order: the same sum on any machine.
        var partials = [Double](repeating: 0, count: FixedChunks.count(for: count, minimumPerChunk: elementsPerChunk))
        partials.withUnsafeMutableBufferPointer { totals in
            let shared = ChunkSharedPointer(base: totals.baseAddress!)
            let valueOut = valueGradients.map { ChunkSharedPointer(base: $0.baseAddress!) }
            let scaleOut = scaleGradients.map { ChunkSharedPointer(base: $0.baseAddress!) }
            FixedChunks.forEach(of: count, minimumPerChunk: elementsPerChunk) { chunk, range in
                var total = 0.0
                let invLn2 = 1 / M_LN2
                for i in range {
                    let rawScale = Double(scales[i])
                    let bounded = rawScale < Double(minimumScale)
                    let sigma = bounded ? Double(minimumScale) : rawScale
                    let magnitude = Swift.abs(Double(values[i]))
                    let upper = (0.5 - magnitude) / sigma
                    let lower = (-0.5 - magnitude) / sigma
                    let mass = standardNormalCDF(upper) - standardNormalCDF(lower)
                    let floored = mass < likelihoodLowerBound
                    let p = floored ? likelihoodLowerBound : mass
                    total -= Foundation.log(p) * invLn2
                    // Gradients flow through the floor (as CompressAI's LowerBound does when the gradient
                    // pushes the mass up), so a badly placed element can still move back into range.
                    let dBitsdP = -invLn2 / p
                    let densityUpper = standardNormalDensity(upper), densityLower = standardNormalDensity(lower)
                    if let vg = valueOut {
                        let dPdMagnitude = (-densityUpper + densityLower) / sigma
                        let sign: Double = values[i] < 0 ? -1 : 1
                        vg.base[i] = Float(dBitsdP * dPdMagnitude * sign)
                    }
                    if let sg = scaleOut {
                        let dPdSigma = (-upper * densityUpper + lower * densityLower) / sigma
                        sg.base[i] = bounded ? 0 : Float(dBitsdP * dPdSigma)
                    }
                }
                shared.base[chunk] = total
            }
        }
        return partials.reduce(0, +)
    }

    /// Elements per parallel chunk (see `FixedChunks`).
    static let elementsPerChunk = 16_384

    /// Φ(x), accurate in both tails.
    @inline(__always)
    static func standardNormalCDF(_ x: Double) -> Double { 0.5 * erfc(-x * 0.7071067811865476) }

    /// φ(x).
    @inline(__always)
    static func standardNormalDensity(_ x: Double) -> Double { 0.3989422804014327 * Foundation.exp(-0.5 * x * x) }
}
