@testable import NacreEngine

/// Checks a layer's analytic gradients (engine, float32) against central finite differences of a
/// double-precision reference forward, for the input and every parameter, with the loss
/// L = Σ r ⊙ y for a fixed random r.
struct GradientCheck {
    let layer: any Layer
    let input: Tensor
    /// Reference forward from (input NCHW, parameter values in `layer.parameters` order).
    let reference: ([Double], [[Double]]) -> [Double]
    var checksInput = true
    var samplesPerTensor = 12
    var step = 1e-3

    struct Result {
        var inputError = 0.0
        var parameterErrors: [String: Double] = [:]
        var forwardError = 0.0
        var worst: Double { max(inputError, forwardError, parameterErrors.values.max() ?? 0) }
    }

    func run() throws -> Result {
        let params = layer.parameters
        for p in params { p.zeroGradient() }
        let y = try layer.forward(input, training: true)
        let r = Fixture.randomValues(y.count, seed: 99)
        let dy = try Tensor(shape: y.shape, values: r)
        let dx = try layer.backward(dy)

        let x0 = input.values().map(Double.init)
        let p0 = params.map { $0.values().map(Double.init) }
        let rd = r.map(Double.init)
        func loss(_ x: [Double], _ p: [[Double]]) -> Double {
            Swift.zip(reference(x, p), rd).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var result = Result()
        result.forwardError = Fixture.maxRelativeError(y.values(), reference(x0, p0))

        func compare(analytic: [Float], count: Int, perturb: (Int, Double) -> Double) -> Double {
            var rng = SeededRandom(seed: UInt64(count))
            var num: [Double] = [], ana: [Double] = []
            for _ in 0..<min(samplesPerTensor, count) {
                let i = Int(rng.next() % UInt64(count))
                num.append((perturb(i, step) - perturb(i, -step)) / (2 * step))
                ana.append(Double(analytic[i]))
            }
            let scale = max(1e-6, num.map { Swift.abs($0) }.max()!)
            return Swift.zip(num, ana).map { Swift.abs($0 - $1) / scale }.max()!
        }
        if checksInput, let dx {
            result.inputError = compare(analytic: dx.values(), count: x0.count) { i, h in
                var x = x0
                x[i] += h
                return loss(x, p0)
            }
        }
        for (k, p) in params.enumerated() {
            result.parameterErrors[p.name] = compare(analytic: p.gradients(), count: p.count) { i, h in
                var q = p0
                q[k][i] += h
                return loss(x0, q)
            }
        }
        return result
    }
}
