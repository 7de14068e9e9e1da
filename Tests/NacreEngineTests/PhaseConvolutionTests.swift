import Testing
@testable import NacreEngine

/// `ConvTranspose2D.usePhaseConvolutions()`: the sub-pixel formulation on blocked (nChw16c)
/// tensors must give the transposed convolution's outputs and gradients.
@Suite struct PhaseConvolutionTests {
    @Test(arguments: [(16, 16), (32, 16), (16, 32)])
    func phaseConvolutionsMatchTheReference(_ channels: (Int, Int)) throws {
        let (cin, cout) = channels
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 4)
        let layer = try ConvTranspose2D(engine: engine, name: "deconv", inChannels: cin, outChannels: cout,
                                        kernel: 5, stride: 2, padding: 2, outputPadding: 1, rng: &rng)
        #expect(try layer.usePhaseConvolutions())
        let shape = TensorShape(n: 2, c: cin, h: 4, w: 3)
        let x = try Fixture.randomTensor(shape, seed: 12)
        let check = GradientCheck(layer: layer, input: x) { xv, p in
            Reference.deconv(xv, Fixture.refShape(shape), weights: p[0], bias: p[1], outChannels: cout,
                             kernel: 5, stride: 2, padding: 2, outputPadding: 1).0
        }
        let result = try check.run()
        #expect(result.forwardError < 1e-5, "forward \(result.forwardError)")
        #expect(result.inputError < 1e-3, "input gradient \(result.inputError)")
        for (name, e) in result.parameterErrors { #expect(e < 1e-3, "\(name) gradient \(e)") }
    }

    @Test func geometriesThatDoNotSplitAreRefused() throws {
        var rng = SeededRandom(seed: 5)
        let layer = try ConvTranspose2D(engine: try Fixture.engine(), name: "deconv", inChannels: 16, outChannels: 16,
                                        kernel: 3, stride: 1, padding: 1, outputPadding: 0, rng: &rng)
        #expect(try !layer.usePhaseConvolutions())
    }
}
