import Foundation
import Testing
@testable import NacreCodec

@Suite struct IntegerHyperSynthesisTests {
    static func map(_ c: Int, _ h: Int, _ w: Int, _ v: [Int32]) throws -> IntegerFeatureMap {
        try IntegerFeatureMap(channels: c, height: h, width: w, values: v)
    }

    @Test func fixedPointRescaleRoundsHalfUp() throws {
        let half = try FixedPointMultiplier(multiplier: 1 << 30, shift: 31)
        #expect(half.rescale(13) == 7)    // 6.5 → 7
        #expect(half.rescale(12) == 6)
        #expect(half.rescale(-9) == -4)   // −4.5 → −4
        #expect(half.rescale(-7) == -3)   // −3.5 → −3
        #expect(half.rescale(Int32.max) == 1 << 30)
        for real in [1e-12, 0.001, 0.37, 1, 3.25, 1234.5678] {
            let f = try FixedPointMultiplier(approximating: real)
            #expect(abs(f.realValue / real - 1) < 1e-8)
        }
        #expect(try FixedPointMultiplier(approximating: 0).rescale(1000) == 0)
        #expect(throws: EntropyCodingError.self) { try FixedPointMultiplier(approximating: .nan) }
        #expect(throws: EntropyCodingError.self) { try FixedPointMultiplier(approximating: 1e12) }
    }

    @Test func handComputedConvolution() throws {
        // 3×3 kernel of ones with a 2 in the centre, padding 1, on a 2×2 input: every output sees all
        // four inputs plus its own pixel once more. Rescale ×0.5.
        let geometry = try ConvolutionGeometry(kind: .convolution, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let weights: [Int8] = [1, 1, 1, 1, 2, 1, 1, 1, 1]
        let half = try FixedPointMultiplier(multiplier: 1 << 30, shift: 31)
        let input = try Self.map(1, 2, 2, [1, 2, 3, 4])
        let positive = try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: weights,
                                            biases: [1], rescales: [half], inputRange: 0...255, outputRange: 0...255)
        // (1 + 10 + v) / 2 = 6, 6.5, 7, 7.5 → 6, 7, 7, 8.
        #expect(try positive.apply(input).values == [6, 7, 7, 8])
        let negative = try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: weights,
                                            biases: [-20], rescales: [half], inputRange: -255...255, outputRange: -255...255)
        // (−20 + 10 + v) / 2 = −4.5, −4, −3.5, −3 → −4, −4, −3, −3.
        #expect(try negative.apply(input).values == [-4, -4, -3, -3])
        // The clipped ReLU clamps the same sums at 0.
        let clipped = try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: weights,
                                           biases: [-20], rescales: [half], inputRange: -255...255, outputRange: 0...255)
        #expect(try clipped.apply(input).values == [0, 0, 0, 0])
    }

    @Test func handComputedTransposedConvolution() throws {
        // PyTorch ConvTranspose2d(k=3, s=2, p=1, output_padding=1) on one pixel: output (oy, ox)
        // takes tap (oy + 1, ox + 1), so a 1×1 input of 5 gives 5·[w11, w12; w21, w22].
        let geometry = try ConvolutionGeometry(kind: .transposedConvolution, kernelHeight: 3, kernelWidth: 3,
                                               stride: 2, padding: 1, outputPadding: 1)
        let one = try FixedPointMultiplier(multiplier: 1, shift: 0)
        let layer = try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                                         biases: [0], rescales: [one], inputRange: 0...255, outputRange: 0...255)
        let out = try layer.apply(try Self.map(1, 1, 1, [5]))
        #expect(out.height == 2 && out.width == 2)
        #expect(out.values == [25, 30, 40, 45])
        // The h_s shape: k5 s2 p2 op1 doubles the size.
        let hs = try ConvolutionGeometry(kind: .transposedConvolution, kernelHeight: 5, kernelWidth: 5, stride: 2, padding: 2, outputPadding: 1)
        #expect(hs.outputSize(height: 8, width: 12)! == (16, 24))
        #expect(hs.outputSize(height: 1, width: 1)! == (2, 2))
    }

    @Test func integerLayerMatchesTheFloatReferenceOnExactValues() throws {
        // With integer weights, unit rescale and small inputs, float and integer must agree exactly.
        var rng = SeededGenerator(seed: 11)
        for kind in [ConvolutionGeometry.Kind.convolution, .transposedConvolution] {
            let geometry = try ConvolutionGeometry(kind: kind, kernelHeight: 5, kernelWidth: 3, stride: 2, padding: 2,
                                                   outputPadding: kind == .convolution ? 0 : 1)
            let cin = 3, cout = 4
            let weights = (0..<(cin * cout * 15)).map { _ in Int8.random(in: -3...3, using: &rng) }
            let input = try Self.map(cin, 5, 6, (0..<90).map { _ in Int32.random(in: 0...3, using: &rng) })
            let integer = try IntegerConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout, weights: weights,
                                               biases: [1, -2, 3, 0], rescales: .init(repeating: try FixedPointMultiplier(multiplier: 1, shift: 0), count: cout),
                                               inputRange: 0...255, outputRange: -255...255)
            // Integer weights are [out][in][t]; the float layer wants PyTorch's layout for its kind.
            var floats = [Float](repeating: 0, count: weights.count)
            for o in 0..<cout { for i in 0..<cin { for t in 0..<15 {
                let k = kind == .convolution ? (o * cin + i) * 15 + t : (i * cout + o) * 15 + t
                floats[k] = Float(weights[(o * cin + i) * 15 + t])
            } } }
            let reference = try FloatConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout, weights: floats,
                                               biases: [1, -2, 3, 0], activation: .identity)
            let a = try integer.apply(input)
            let b = try reference.forward(FloatFeatureMap(input))
            #expect(a.values.map(Float.init) == b.values)
            #expect(a.height == b.height && a.width == b.width)
            // Odd input channels through the portable loop too.
            let hwc = IntegerConvLayer.channelsLast(input, clampedTo: integer.inputRange)
            let portable = try integer.applyChannelsLast(hwc, height: 5, width: 6, maximumThreads: 1, portable: true)
            #expect(IntegerConvLayer.channelsFirst(portable.values, channels: cout, height: portable.height, width: portable.width) == a)
        }
    }

    /// A small random h_s: z (zc) → deconv k5 s2 → ReLU → deconv k5 s2 → ReLU → conv k3 → index units.
    static func randomFloatHyperSynthesis(zChannels: Int, hidden: Int, yChannels: Int, seed: UInt64) throws -> [FloatConvLayer] {
        var rng = SeededGenerator(seed: seed)
        func layer(_ kind: ConvolutionGeometry.Kind, _ cin: Int, _ cout: Int, _ k: Int, _ activation: FloatConvLayer.Activation, biasMean: Float, gain: Double = 1.5) throws -> FloatConvLayer {
            let geometry = kind == .convolution
                ? try ConvolutionGeometry(kind: .convolution, kernelHeight: k, kernelWidth: k, stride: 1, padding: k / 2)
                : try ConvolutionGeometry(kind: .transposedConvolution, kernelHeight: k, kernelWidth: k, stride: 2, padding: 2, outputPadding: 1)
            let spread = Float(gain / Double(cin * k * k).squareRoot())
            return try FloatConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout,
                                      weights: (0..<(cin * cout * k * k)).map { _ in Float.random(in: -spread...spread, using: &rng) },
                                      biases: (0..<cout).map { _ in biasMean + Float.random(in: -0.2...0.2, using: &rng) }, activation: activation)
        }
        return [try layer(.transposedConvolution, zChannels, hidden, 5, .relu, biasMean: 0.1),
                try layer(.transposedConvolution, hidden, hidden, 5, .relu, biasMean: 0.1),
                try layer(.convolution, hidden, yChannels, 3, .identity, biasMean: 30, gain: 40)]
    }

    static func randomZ(channels: Int, height: Int, width: Int, seed: UInt64) throws -> IntegerFeatureMap {
        var rng = SeededGenerator(seed: seed)
        return try map(channels, height, width, (0..<(channels * height * width)).map { _ in rng.roughGaussian(sigma: 4) })
    }

    @Test func quantizedHyperSynthesisStaysCloseToTheFloatNetwork() throws {
        let floatLayers = try Self.randomFloatHyperSynthesis(zChannels: 8, hidden: 16, yChannels: 12, seed: 21)
        let calibration = try (0..<3).map { try Self.randomZ(channels: 8, height: 4, width: 5, seed: 100 + UInt64($0)) }
        let network = try IntegerHyperSynthesis.quantizing(floatLayers, calibration: calibration, quantile: 1)
        let z = try Self.randomZ(channels: 8, height: 4, width: 5, seed: 200)
        let indices = try network.scaleIndices(for: z)
        var reference = FloatFeatureMap(z)
        for layer in floatLayers { reference = try layer.forward(reference) }
        #expect(indices.count == 12 * 16 * 20)
        let expected = reference.values.map { UInt8(min(max($0.rounded(), 0), 63)) }
        let differences = zip(indices, expected).map { abs(Int($0) - Int($1)) }
        let meanDifference = Double(differences.reduce(0, +)) / Double(differences.count)
        #expect(differences.max()! <= 2)
        #expect(meanDifference < 0.15)
        // The test is meaningful only if the indices actually vary.
        #expect(Set(indices).count > 10)
    }

    @Test func integerNetworkIsDeterministicAndSurvivesSerialization() async throws {
        let floatLayers = try Self.randomFloatHyperSynthesis(zChannels: 8, hidden: 16, yChannels: 12, seed: 31)
        let network = try IntegerHyperSynthesis.quantizing(floatLayers, calibration: [try Self.randomZ(channels: 8, height: 3, width: 3, seed: 5)])
        let z = try Self.randomZ(channels: 8, height: 3, width: 7, seed: 6)
        let first = try network.scaleIndices(for: z)
        // Concurrent evaluations (any thread, any order) give the same integers.
        let results = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<4 { group.addTask { try network.scaleIndices(for: z) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == first })
        let bytes = network.serialized()
        let loaded = try IntegerHyperSynthesis(serialized: bytes)
        #expect(loaded == network)
        #expect(loaded.serialized() == bytes)
        #expect(try loaded.scaleIndices(for: z) == first)
        // Huge z values (from a corrupt but decodable stream) are clamped, never overflow.
        var wild = z
        wild.values = wild.values.enumerated().map { $0.offset % 2 == 0 ? Int32.max : Int32.min }
        #expect(try network.scaleIndices(for: wild).allSatisfy { $0 < 64 })
    }

    @Test func corruptSerializedNetworksAreRejected() throws {
        let floatLayers = try Self.randomFloatHyperSynthesis(zChannels: 2, hidden: 3, yChannels: 2, seed: 41)
        let bytes = try IntegerHyperSynthesis.quantizing(floatLayers, hiddenActivationMaxima: [4, 4]).serialized()
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: EntropyCodingError.self) { try IntegerHyperSynthesis(serialized: Array(bytes.prefix(cut))) }
        }
        #expect(throws: EntropyCodingError.self) { try IntegerHyperSynthesis(serialized: bytes + [0]) }
        var badKind = bytes
        badKind[8] = 7
        #expect(throws: EntropyCodingError.self) { try IntegerHyperSynthesis(serialized: badKind) }
    }

    @Test func parametersThatCouldOverflowAreRejected() throws {
        let geometry = try ConvolutionGeometry(kind: .convolution, kernelHeight: 1, kernelWidth: 1)
        let one = try FixedPointMultiplier(multiplier: 1, shift: 0)
        #expect(throws: EntropyCodingError.self) {
            try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: [127], biases: [Int32.max - 100],
                                 rescales: [one], inputRange: 0...255, outputRange: 0...255)
        }
        #expect(throws: EntropyCodingError.self) {
            try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: [-128], biases: [0],
                                 rescales: [one], inputRange: 0...255, outputRange: 0...255)
        }
        #expect(throws: EntropyCodingError.self) {
            try IntegerConvLayer(geometry: geometry, inputChannels: 1, outputChannels: 1, weights: [1], biases: [0],
                                 rescales: [one], inputRange: 0...1000, outputRange: 0...255)
        }
        #expect(throws: EntropyCodingError.self) {
            try ConvolutionGeometry(kind: .convolution, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1, outputPadding: 1)
        }
    }
}

extension IntegerHyperSynthesisTests {
    @Test func threadCountDoesNotChangeTheOutput() throws {
        // Large enough (a 64→64 3×3 layer on 32×48) to take the multi-threaded path.
        let floatLayers = try Self.randomFloatHyperSynthesis(zChannels: 64, hidden: 64, yChannels: 16, seed: 51)
        let z = try Self.randomZ(channels: 64, height: 8, width: 12, seed: 52)
        let network = try IntegerHyperSynthesis.quantizing(floatLayers, calibration: [z])
        var values = IntegerConvLayer.channelsLast(z, clampedTo: network.layers[0].inputRange)
        var height = z.height, width = z.width
        for layer in network.layers.dropLast() {
            (values, height, width) = try layer.applyChannelsLast(values, height: height, width: width)
        }
        let last = network.layers[network.layers.count - 1]
        let single = try last.applyChannelsLast(values, height: height, width: width, maximumThreads: 1)
        for threads in [2, 3, 8] {
            let many = try last.applyChannelsLast(values, height: height, width: width, maximumThreads: threads)
            #expect(many.values == single.values)
        }
        // The portable loop (used off x86) gives the same integers as the SSE2 one.
        let portable = try last.applyChannelsLast(values, height: height, width: width, maximumThreads: 1, portable: true)
        #expect(portable.values == single.values)
        #expect(Set(single.values).count > 5)
    }
}
