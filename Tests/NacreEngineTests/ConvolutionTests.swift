import Testing
@testable import NacreEngine

@Suite struct ConvolutionTests {
    /// Conv2D forward and gradients on a blocked (16-channel) and a plain (3-channel) input.
    @Test(arguments: [(3, 16, 5, 2, 2), (16, 32, 3, 1, 1), (16, 16, 5, 2, 2), (32, 3, 1, 1, 0)])
    func conv2DMatchesReferenceAndFiniteDifferences(_ cfg: (Int, Int, Int, Int, Int)) throws {
        let (cin, cout, k, stride, pad) = cfg
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 1)
        let layer = try Conv2D(engine: engine, name: "conv", inChannels: cin, outChannels: cout, kernel: k,
                               stride: stride, padding: pad, rng: &rng)
        let shape = TensorShape(n: 2, c: cin, h: 8, w: 6)
        let x = try Fixture.randomTensor(shape, seed: 7)
        let check = GradientCheck(layer: layer, input: x) { xv, p in
            Reference.conv(xv, Fixture.refShape(shape), weights: p[0], bias: p[1], outChannels: cout,
                           kernel: k, stride: stride, padding: pad).0
        }
        let result = try check.run()
        #expect(result.forwardError < 1e-5, "forward \(result.forwardError)")
        #expect(result.inputError < 1e-3, "input gradient \(result.inputError)")
        for (name, e) in result.parameterErrors { #expect(e < 1e-3, "\(name) gradient \(e)") }
    }

    @Test(arguments: [(16, 3, 5, 2, 2, 1), (16, 3, 3, 1, 1, 0), (16, 3, 4, 2, 1, 0), (16, 16, 5, 2, 2, 1), (32, 16, 3, 1, 1, 0)])
    func convTransposeMatchesReferenceAndFiniteDifferences(_ cfg: (Int, Int, Int, Int, Int, Int)) throws {
        let (cin, cout, k, stride, pad, opad) = cfg
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 2)
        let layer = try ConvTranspose2D(engine: engine, name: "deconv", inChannels: cin, outChannels: cout,
                                        kernel: k, stride: stride, padding: pad, outputPadding: opad, rng: &rng)
        let shape = TensorShape(n: 2, c: cin, h: 4, w: 3)
        let x = try Fixture.randomTensor(shape, seed: 8)
        #expect(try layer.outputShape(for: shape).h == (4 - 1) * stride - 2 * pad + k + opad)
        let check = GradientCheck(layer: layer, input: x) { xv, p in
            Reference.deconv(xv, Fixture.refShape(shape), weights: p[0], bias: p[1], outChannels: cout,
                             kernel: k, stride: stride, padding: pad, outputPadding: opad).0
        }
        let result = try check.run()
        #expect(result.forwardError < 1e-5, "forward \(result.forwardError)")
        #expect(result.inputError < 1e-3, "input gradient \(result.inputError)")
        for (name, e) in result.parameterErrors { #expect(e < 1e-3, "\(name) gradient \(e)") }
    }

    @Test func firstLayerSkipsInputGradient() throws {
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 3)
        let layer = try Conv2D(engine: engine, name: "c", inChannels: 3, outChannels: 16, kernel: 3,
                               computesInputGradient: false, rng: &rng)
        let y = try layer.forward(try Fixture.randomTensor(TensorShape(n: 1, c: 3, h: 5, w: 5), seed: 1), training: true)
        #expect(try layer.backward(y) == nil)
        #expect(layer.weight.gradients().contains { $0 != 0 })
    }

    @Test func backwardWithoutForwardIsATypedError() throws {
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 3)
        let layer = try Conv2D(engine: engine, name: "c", inChannels: 16, outChannels: 16, kernel: 3, rng: &rng)
        let dy = try Tensor(zeros: TensorShape(n: 1, c: 16, h: 4, w: 4))
        #expect(throws: EngineError.self) { _ = try layer.backward(dy) }
        #expect(throws: EngineError.self) { _ = try layer.forward(try Tensor(zeros: TensorShape(n: 1, c: 3, h: 4, w: 4)), training: false) }
    }
}
