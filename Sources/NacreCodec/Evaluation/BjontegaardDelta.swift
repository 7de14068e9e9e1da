import Foundation

/// Bjøntegaard delta rate (VCEG-M33): the average bitrate difference between two
/// rate-distortion curves over the quality range they share.
///
/// Convention, matching the numbers published with the Kodak anchors: log10(rate) is fitted as
/// a cubic polynomial of quality (least squares over all points of each curve), both fits are
/// integrated over the overlapping quality interval, and the mean log difference d gives
/// (10^d − 1) × 100 percent. Negative means the test curve needs fewer bits than the reference.
public enum BjontegaardDelta {
    /// BD-rate of `test` against `reference` in percent, on PSNR (or on `quality` when given).
    public static func rate(
        reference: RateDistortionCurve, test: RateDistortionCurve
    ) throws -> Double {
        try rate(referenceRate: reference.bpp, referenceQuality: reference.psnr,
                 testRate: test.bpp, testQuality: test.psnr)
    }

    /// BD-rate in percent from raw arrays: rates (any positive unit) and qualities (e.g. dB).
    public static func rate(
        referenceRate: [Double], referenceQuality: [Double],
        testRate: [Double], testQuality: [Double]
    ) throws -> Double {
        try check(rate: referenceRate, quality: referenceQuality, name: "reference")
        try check(rate: testRate, quality: testQuality, name: "test")
        let low = max(referenceQuality.min()!, testQuality.min()!)
        let high = min(referenceQuality.max()!, testQuality.max()!)
        guard high > low else {
            throw EvaluationError(
                code: .unusableCurve,
                message: "the two curves share no quality range (reference \(referenceQuality.min()!)…\(referenceQuality.max()!), "
                    + "test \(testQuality.min()!)…\(testQuality.max()!)); measure more qualities")
        }
        let referenceMean = try meanOfCubicFit(x: referenceQuality, y: referenceRate.map(log10), from: low, to: high)
        let testMean = try meanOfCubicFit(x: testQuality, y: testRate.map(log10), from: low, to: high)
        return (pow(10, testMean - referenceMean) - 1) * 100
    }

    private static func check(rate: [Double], quality: [Double], name: String) throws {
        guard rate.count == quality.count, rate.count >= 4 else {
            throw EvaluationError(
                code: .unusableCurve,
                message: "the \(name) curve has \(rate.count) rates and \(quality.count) qualities; "
                    + "a cubic fit needs at least 4 points of each")
        }
        guard rate.allSatisfy({ $0 > 0 && $0.isFinite }), quality.allSatisfy(\.isFinite) else {
            throw EvaluationError(code: .unusableCurve,
                                  message: "the \(name) curve has a non-positive rate or a non-finite value")
        }
    }

    /// Mean over [from, to] of the least-squares cubic through (x, y).
    /// x is centred and scaled first so the normal equations stay well conditioned.
    static func meanOfCubicFit(x: [Double], y: [Double], from: Double, to: Double) throws -> Double {
        let centre = x.reduce(0, +) / Double(x.count)
        let spread = max(1e-12, (x.map { ($0 - centre) * ($0 - centre) }.reduce(0, +) / Double(x.count)).squareRoot())
        let t = x.map { ($0 - centre) / spread }
        // Normal equations A c = b for y ≈ c0 + c1 t + c2 t² + c3 t³.
        var a = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
        var b = [Double](repeating: 0, count: 4)
        for (ti, yi) in zip(t, y) {
            let powers = [1, ti, ti * ti, ti * ti * ti]
            for r in 0..<4 {
                b[r] += powers[r] * yi
                for c in 0..<4 { a[r][c] += powers[r] * powers[c] }
            }
        }
        let c = try solve(a, b)
        let t0 = (from - centre) / spread, t1 = (to - centre) / spread
        func antiderivative(_ t: Double) -> Double {
            c[0] * t + c[1] * t * t / 2 + c[2] * t * t * t / 3 + c[3] * t * t * t * t / 4
        }
        return (antiderivative(t1) - antiderivative(t0)) / (t1 - t0)
    }

    /// Gaussian elimination with partial pivoting on a small dense system.
    private static func solve(_ matrix: [[Double]], _ rhs: [Double]) throws -> [Double] {
        var m = matrix, v = rhs
        let n = v.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            guard abs(m[pivot][col]) > 1e-12 else {
                throw EvaluationError(code: .unusableCurve,
                                      message: "the cubic fit is singular: the curve needs 4 distinct quality values")
            }
            m.swapAt(col, pivot); v.swapAt(col, pivot)
            for row in (col + 1)..<n {
                let f = m[row][col] / m[col][col]
                for k in col..<n { m[row][k] -= f * m[col][k] }
                v[row] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            let tail = ((row + 1)..<n).reduce(0.0) { $0 + m[row][$1] * x[$1] }
            x[row] = (v[row] - tail) / m[row][row]
        }
        return x
    }
}
