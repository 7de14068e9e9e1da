import Foundation

extension EntropyTables {
    /// CompressAI's default scale table: 64 scales log-spaced from 0.11 to 256,
    /// `exp(linspace(log 0.11, log 256, 64))`. Table index i of `gaussian(scales:)` is scale i.
    public static let defaultGaussianScales: [Double] = logSpacedScales(from: 0.11, to: 256, count: 64)
    /// CompressAI's default tail mass: the probability left outside each Gaussian table.
    public static let defaultTailMass = 1e-9

    /// `count` scales equally spaced in log from `low` to `high` (both included).
    public static func logSpacedScales(from low: Double, to high: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [low] : [] }
        let a = log(low), b = log(high)
        return (0..<count).map { exp(a + (b - a) * Double($0) / Double(count - 1)) }
    }

    /// Gaussian-conditional tables for y: one per scale σ, for a zero-mean Gaussian convolved with
    /// a unit uniform (the quantization proxy), over the integers `−c ... c` with
    /// `c = ceil(σ · −Φ⁻¹(tailMass/2))`; the two tails (mass `2·Φ((−0.5 − c)/σ)`) go to the escape.
    ///
    /// Computed once in Double; the result is integers only. Store it with the model.
    public static func gaussian(scales: [Double] = defaultGaussianScales,
                                tailMass: Double = defaultTailMass) throws -> EntropyTables {
        guard tailMass > 0, tailMass < 1 else {
            throw EntropyCodingError(.invalidDistribution, "tail mass \(tailMass) must lie in (0, 1)")
        }
        let multiplier = -standardNormalQuantile(tailMass / 2)
        var masses: [[Double]] = []
        var tails: [Double] = []
        var mins: [Int32] = []
        for (i, sigma) in scales.enumerated() {
            // Above 1000 a table would outgrow any useful latent range (and, at tiny tail masses, 65536 symbols).
            guard sigma.isFinite, sigma > 0, sigma <= 1_000 else {
                throw EntropyCodingError(.invalidDistribution, "scale \(i) is \(sigma); scales must lie in (0, 1000]")
            }
            let c = Int((sigma * multiplier).rounded(.up))
            var pmf = [Double](repeating: 0, count: 2 * c + 1)
            for v in 0...c {
                let mass = standardNormalCDF((0.5 - Double(v)) / sigma) - standardNormalCDF((-0.5 - Double(v)) / sigma)
                pmf[c + v] = mass
                pmf[c - v] = mass
            }
            masses.append(pmf)
            tails.append(2 * standardNormalCDF((-0.5 - Double(c)) / sigma))
            mins.append(Int32(-c))
        }
        return try quantizing(masses: masses, tailMasses: tails, minValues: mins)
    }

    /// Φ(x), the standard normal cumulative distribution, via erfc (accurate in the far tail).
    static func standardNormalCDF(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// Φ⁻¹(p) for p in (0, 1), by bisection on Φ (used once per table build, not per symbol).
    static func standardNormalQuantile(_ p: Double) -> Double {
        var lo = -40.0, hi = 40.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if standardNormalCDF(mid) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}

extension EntropyTables {
    /// The training relaxation of the scale index (what the float h_s's last layer should output):
    /// `t = (ln σ − ln σ₀) / Δ` for a log-spaced table `σ_j = σ₀ · exp(Δ · j)`. The integer
    /// hyper-synthesis turns it into `clamp(round(t), 0, count − 1)`.
    public static func continuousScaleIndex(ofScale sigma: Double, scales: [Double] = defaultGaussianScales) -> Double {
        guard scales.count > 1 else { return 0 }
        let step = log(scales[scales.count - 1] / scales[0]) / Double(scales.count - 1)
        return log(sigma / scales[0]) / step
    }

    /// The inverse of `continuousScaleIndex`: σ = σ₀ · exp(Δ · t).
    public static func scale(atContinuousIndex t: Double, scales: [Double] = defaultGaussianScales) -> Double {
        guard scales.count > 1 else { return scales.first ?? 1 }
        let step = log(scales[scales.count - 1] / scales[0]) / Double(scales.count - 1)
        return scales[0] * exp(step * t)
    }
}
