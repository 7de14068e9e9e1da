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
        var total = 0.0
        let invLn2 = 1 / M_LN2
        for i in 0..<values.count {
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
            if let vg = valueGradients {
                let dPdMagnitude = (-densityUpper + densityLower) / sigma
                let sign: Double = values[i] < 0 ? -1 : 1
                vg[i] = Float(dBitsdP * dPdMagnitude * sign)
            }
            if let sg = scaleGradients {
                let dPdSigma = (-upper * densityUpper + lower * densityLower) / sigma
                sg[i] = bounded ? 0 : Float(dBitsdP * dPdSigma)
            }
        }
        return total
    }

    /// Φ(x), accurate in both tails.
    @inline(__always)
    static func standardNormalCDF(_ x: Double) -> Double { 0.5 * erfc(-x * 0.7071067811865476) }

    /// φ(x).
    @inline(__always)
    static func standardNormalDensity(_ x: Double) -> Double { 0.3989422804014327 * Foundation.exp(-0.5 * x * x) }
}
