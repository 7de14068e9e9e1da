import Testing
@testable import NacreEngine

@Suite struct Int8TransposedConvolutionTests {
    /// With inputs and weights on their int8 grids the int8 layer must match the double reference
    /// (the only error is f32 rounding); off the grid, inputs are rounded to the nearest step.
    @Test(arguments: [(16, 16, 1), (32, 3, 1), (24, 16, 1), (16, 16, 2), (32, 3, 2)])
    func matchesTheReferenceOnTheGrid(_ configuration: (Int, Int, Int)) throws {
        let (cin, cout, passes) = configuration
        let (k, stride, pad, opad) = (5, 2, 2, 1)
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 9)
        let weights = (0..<(cout * cin * k * k)).map { _ in Int8(rng.symmetric(127.49).rounded()) }
        var weightScales = (0..<cout).map { _ in 0.001 + abs(rng.symmetric(0.01)) }
        weightScales[1] = 0  // a zero scale zeroes the channel's weights; it keeps its bias
        let bias = (0..<cout).map { _ in rng.symmetric(0.5) }
        let inputScale: Float = 0.03
        let layer = try Int8TransposedConvolution(engine: engine, label: "q", inChannels: cin, outChannels: cout, kernel: k,
                                                  stride: stride, padding: pad, outputPadding: opad, weights: weights,
                                                  weightScales: weightScales, bias: bias, inputScale: inputScale,
                                                  passes: passes)
        let shape = TensorShape(n: 2, c: cin, h: 5, w: 7)
        let steps = (0..<shape.count).map { _ in rng.symmetric(127.49).rounded() }
        let y = try layer.forward(try Tensor(shape: shape, values: steps.map { $0 * inputScale }))
        var dequantized = weights.enumerated().map { Double($0.element) * Double(weightScales[$0.offset / (cin * k * k)]) }
        for i in (cin * k * k)..<(2 * cin * k * k) { dequantized[i] = 0 }
        let (reference, refShape) = Reference.deconv(steps.map { Double($0 * inputScale) }, Fixture.refShape(shape),
                                                     weights: dequantized, bias: bias.map(Double.init), outChannels: cout,
                                                     kernel: k, stride: stride, padding: pad, outputPadding: opad)
        #expect(y.shape == TensorShape(n: refShape.n, c: refShape.c, h: refShape.h, w: refShape.w))
        #expect(Fixture.maxRelativeError(y.values(), reference) < 1e-5)

        // Off the grid and beyond ±127 steps: the input is rounded and saturated (and its
        // residual rounded to a 254× finer step and saturated, with two passes), nothing else.
        let wide = (0..<shape.count).map { _ in rng.symmetric(200 * inputScale) }
        let yWide = try layer.forward(try Tensor(shape: shape, values: wide))
        let snapped = wide.map { v -> Double in
            let q = max(-127, min(127, (v / inputScale).rounded(.toNearestOrEven)))
            let fine = inputScale / 254
            let r = passes == 2 ? max(-127, min(127, ((v - q * inputScale) / fine).rounded(.toNearestOrEven))) : 0
            return Double(q) * Double(inputScale) + Double(r) * Double(fine)
        }
        let (referenceWide, _) = Reference.deconv(snapped, Fixture.refShape(shape), weights: dequantized,
                                                  bias: bias.map(Double.init), outChannels: cout, kernel: k, stride: stride,
                                                  padding: pad, outputPadding: opad)
        #expect(Fixture.maxRelativeError(yWide.values(), referenceWide) < 1e-5)
    }

    @Test func rejectsWhatDoesNotFit() throws {
        let engine = try Fixture.engine()
        #expect(throws: EngineError.self) {
            try Int8TransposedConvolution(engine: engine, label: "q", inChannels: 2, outChannels: 2, kernel: 5, stride: 2, padding: 2,
                                          outputPadding: 1, weights: [Int8](repeating: 1, count: 99), weightScales: [1, 1],
                                          bias: [0, 0], inputScale: 1)
        }
        #expect(throws: EngineError.self) {  // output padding 0: out ≠ 2 · in
            try Int8TransposedConvolution(engine: engine, label: "q", inChannels: 2, outChannels: 2, kernel: 5, stride: 2, padding: 2,
                                          outputPadding: 0, weights: [Int8](repeating: 1, count: 100), weightScales: [1, 1],
                                          bias: [0, 0], inputScale: 1)
        }
        #expect(throws: EngineError.self) {
            try Int8TransposedConvolution(engine: engine, label: "q", inChannels: 2, outChannels: 2, kernel: 5, stride: 2, padding: 2,
                                          outputPadding: 1, weights: [Int8](repeating: 1, count: 100), weightScales: [1, 1],
                                          bias: [0, 0], inputScale: 0)
        }
    }
}
