import Testing
@testable import NacreEngine

@Suite struct PrecisionTests {
    /// bf16 convolutions stay within bf16 rounding of the double reference, forward and backward,
    /// and switching the engine's precision between calls uses separate primitives.
    @Test(arguments: [false, true])
    func bf16ConvolutionTracksReference(_ bf16WeightGradients: Bool) throws {
        let engine = try Fixture.engine(.bf16)
        engine.bf16WeightGradients = bf16WeightGradients
        var rng = SeededRandom(seed: 12)
        let layer = try Conv2D(engine: engine, name: "c", inChannels: 16, outChannels: 32, kernel: 3, stride: 2, rng: &rng)
        let shape = TensorShape(n: 2, c: 16, h: 8, w: 8)
        let x = try Fixture.randomTensor(shape, seed: 13)
        let result = try GradientCheck(layer: layer, input: x) { xv, p in
            Reference.conv(xv, Fixture.refShape(shape), weights: p[0], bias: p[1], outChannels: 32,
                           kernel: 3, stride: 2, padding: 1).0
        }.run()
        #expect(result.forwardError > 1e-6, "bf16 should differ from f32 arithmetic (\(result.forwardError))")
        #expect(result.forwardError < 2e-2)
        #expect(result.inputError < 3e-2)
        for (name, e) in result.parameterErrors { #expect(e < 3e-2, "\(name) gradient \(e)") }

        engine.precision = .f32
        let f32 = try layer.forward(x, training: false).values()
        let reference = Reference.conv(x.values().map(Double.init), Fixture.refShape(shape),
                                       weights: layer.weight.values().map(Double.init),
                                       bias: layer.bias!.values().map(Double.init), outChannels: 32,
                                       kernel: 3, stride: 2, padding: 1).0
        #expect(Fixture.maxRelativeError(f32, reference) < 1e-5)
    }

    @Test func inferenceForwardMatchesTrainingForward() throws {
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 21)
        let model = Sequential([
            try Conv2D(engine: engine, name: "a", inChannels: 3, outChannels: 16, kernel: 5, stride: 2, rng: &rng),
            try GDN(engine: engine, name: "b", channels: 16),
            try ConvTranspose2D(engine: engine, name: "c", inChannels: 16, outChannels: 3, kernel: 5, stride: 2, rng: &rng),
        ])
        let x = try Fixture.randomTensor(TensorShape(n: 1, c: 3, h: 16, w: 12), seed: 4)
        let a = try model.forward(x, training: true).values()
        let b = try model.forward(x, training: false).values()
        #expect(Fixture.maxRelativeError(a, b.map(Double.init)) < 1e-6)
        // Inference keeps no backward state.
        #expect(throws: EngineError.self) { _ = try model.backward(try Tensor(zeros: TensorShape(n: 1, c: 3, h: 16, w: 12))) }
    }
}
