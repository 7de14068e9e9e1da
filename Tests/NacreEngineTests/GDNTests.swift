import Testing
@testable import NacreEngine

@Suite struct GDNTests {
    /// GDN and IGDN on blocked (16, 32 channels) tensors; γ randomised above its bound so finite
    /// differences do not straddle the reparametrisation's kink.
    @Test(arguments: [(16, false), (16, true), (32, false), (32, true)])
    func matchesReferenceAndFiniteDifferences(_ cfg: (Int, Bool)) throws {
        let (c, inverse) = cfg
        let engine = try Fixture.engine()
        let layer = try GDN(engine: engine, name: "gdn", channels: c, inverse: inverse)
        var rng = SeededRandom(seed: 5)
        try layer.gamma.setValues((0..<c * c).map { _ in 0.05 + rng.unitFloat() * 0.3 })
        try layer.beta.setValues((0..<c).map { _ in 0.6 + rng.unitFloat() })
        let shape = TensorShape(n: 2, c: c, h: 3, w: 4)
        let x = try Fixture.randomTensor(shape, seed: 11, scale: 2)
        let check = GradientCheck(layer: layer, input: x) { xv, p in
            Reference.gdn(xv, Fixture.refShape(shape), betaParam: p[0], gammaParam: p[1], inverse: inverse)
        }
        let result = try check.run()
        #expect(result.forwardError < 1e-5, "forward \(result.forwardError)")
        #expect(result.inputError < 1e-3, "input gradient \(result.inputError)")
        for (name, e) in result.parameterErrors { #expect(e < 1e-3, "\(name) gradient \(e)") }
    }

    @Test func initialisationIsBallesAndEffectiveValuesStayNonNegative() throws {
        let engine = try Fixture.engine()
        let layer = try GDN(engine: engine, name: "gdn", channels: 16)
        let beta = layer.effectiveBeta(), gamma = layer.effectiveGamma()
        #expect(beta.allSatisfy { Swift.abs($0 - 1) < 1e-6 })
        #expect(Swift.abs(gamma[0] - 0.1) < 1e-6 && Swift.abs(gamma[17] - 0.1) < 1e-6 && gamma[1] == 0)
        try layer.beta.setValues([Float](repeating: -3, count: 16))
        try layer.gamma.setValues([Float](repeating: -1, count: 256))
        #expect(layer.effectiveBeta().allSatisfy { $0 >= 1e-6 * 0.99 })
        #expect(layer.effectiveGamma().allSatisfy { $0 >= 0 })
    }
}
