import Foundation
import Testing
@testable import NacreCodec

/// Gradient and value checks of the two rate models against finite differences and closed forms.
struct RateModelTests {
    @Test func gaussianBitsMatchClosedFormAndFiniteDifferences() {
        let values: [Float] = [0, 0.3, -1.7, 4.2, 12, -0.5]
        let scales: [Float] = [1, 0.5, 2.5, 0.8, 3, 0.05]
        var vg = [Float](repeating: 0, count: values.count), sg = vg
        let total = values.withUnsafeBufferPointer { v in scales.withUnsafeBufferPointer { s in
            vg.withUnsafeMutableBufferPointer { vgp in sg.withUnsafeMutableBufferPointer { sgp in
                GaussianConditionalRate.bits(values: v, scales: s, valueGradients: vgp, scaleGradients: sgp)
            } } } }
        // P(0 | σ=1) = Φ(½) − Φ(−½) = erf(½/√2).
        var expected = 0.0
        for (v, s) in zip(values, scales) {
            let sigma = max(Double(s), 0.11), m = abs(Double(v))
            let p = 0.5 * erfc(-(0.5 - m) / sigma / 2.0.squareRoot()) - 0.5 * erfc(-(-0.5 - m) / sigma / 2.0.squareRoot())
            expected -= log2(max(p, 1e-9))
        }
        #expect(abs(total - expected) < 1e-9)
        for i in values.indices {
            func bitsWith(value: Float, scale: Float) -> Double {
                [value].withUnsafeBufferPointer { v in [scale].withUnsafeBufferPointer { s in
                    GaussianConditionalRate.bits(values: v, scales: s, valueGradients: nil, scaleGradients: nil) } }
            }
            let h: Float = 1e-3
            let dv = (bitsWith(value: values[i] + h, scale: scales[i]) - bitsWith(value: values[i] - h, scale: scales[i])) / Double(2 * h)
            #expect(abs(dv - Double(vg[i])) < 2e-2 * max(1, abs(dv)), "d/dv at \(i): \(dv) vs \(vg[i])")
            if scales[i] > 0.11 + 1e-2 {
                let ds = (bitsWith(value: values[i], scale: scales[i] + h) - bitsWith(value: values[i], scale: scales[i] - h)) / Double(2 * h)
                #expect(abs(ds - Double(sg[i])) < 2e-2 * max(1, abs(ds)), "d/dσ at \(i): \(ds) vs \(sg[i])")
            } else {
                #expect(sg[i] == 0)
            }
        }
    }

    @Test func factorizedDensityIsAProbabilityAndGradientsMatch() {
        var density = FactorizedDensity(channels: 2, seed: 7)
        // Perturb the initial parameters so the check does not sit on a symmetric point.
        for j in density.parameters.indices { density.parameters[j] += Float(sin(Double(j) * 1.3)) * 0.3 }
        // Bin masses over a wide integer range sum to one per channel.
        for channel in 0..<2 {
            let grid = (-200...200).map { Float($0) }
            let sum = density.likelihoods(values: grid, channelOf: [Int32](repeating: Int32(channel), count: grid.count))
                .likelihoods.reduce(0, +)
            #expect(abs(sum - 1) < 1e-3, "channel \(channel) masses sum to \(sum)")
            #expect(density.cumulative(-1e4, channel: channel) < 1e-6)
            #expect(density.cumulative(1e4, channel: channel) > 1 - 1e-6)
        }
        // d(Σ w·likelihood)/dθ against central differences.
        let values: [Float] = [-3.2, 0.1, 1.4, 5.0]
        let channels: [Int32] = [0, 1, 0, 1]
        let weights: [Double] = [0.7, -1.3, 2.0, 0.4]
        let evaluation = density.likelihoods(values: values, channelOf: channels)
        var gradient = [Float](repeating: 0, count: density.parameters.count)
        density.backward(evaluation, likelihoodWeights: weights, gradient: &gradient)
        func objective(_ d: FactorizedDensity) -> Double {
            zip(d.likelihoods(values: values, channelOf: channels).likelihoods, weights).map { $0 * $1 }.reduce(0, +)
        }
        var worst = 0.0
        for j in stride(from: 0, to: density.parameters.count, by: 3) {
            var plus = density, minus = density
            plus.parameters[j] += 1e-2; minus.parameters[j] -= 1e-2
            let numeric = (objective(plus) - objective(minus)) / 2e-2
            worst = max(worst, abs(numeric - Double(gradient[j])) / max(1e-2, abs(numeric)))
        }
        #expect(worst < 5e-2, "worst relative gradient error \(worst)")
        // d(likelihood)/dv.
        for i in values.indices {
            let up = density.likelihoods(values: [values[i] + 1e-2], channelOf: [channels[i]]).likelihoods[0]
            let down = density.likelihoods(values: [values[i] - 1e-2], channelOf: [channels[i]]).likelihoods[0]
            let numeric = (up - down) / 2e-2
            #expect(abs(numeric - evaluation.valueGradients[i]) < 1e-3 + 2e-2 * abs(numeric))
        }
    }

    /// Large batches run in parallel chunks (`FixedChunks`). Their results must be exactly what
    /// the same chunks give one after another, so training does not depend on the machine.
    @Test func parallelChunksGiveExactlyTheSequentialResult() {
        var density = FactorizedDensity(channels: 8, seed: 3)
        for j in density.parameters.indices { density.parameters[j] += Float(cos(Double(j) * 0.7)) * 0.2 }
        let count = 4 * FactorizedDensity.valuesPerChunk
        #expect(FixedChunks.count(for: count, minimumPerChunk: FactorizedDensity.valuesPerChunk) == 4)
        let values = (0..<count).map { Float(($0 * 29) % 23 - 11) * 0.9 }
        let channels = (0..<count).map { Int32($0 % 8) }
        let weights = (0..<count).map { sin(Double($0) * 0.37) }
        let whole = density.likelihoods(values: values, channelOf: channels)
        var wholeGradient = [Float](repeating: 0, count: density.parameters.count)
        density.backward(whole, likelihoodWeights: weights, gradient: &wholeGradient)
        var pieceGradient = [Float](repeating: 0, count: density.parameters.count)
        var pieceLikelihoods: [Double] = []
        for piece in 0..<4 {
            let range = (piece * count / 4)..<((piece + 1) * count / 4)
            let evaluation = density.likelihoods(values: Array(values[range]), channelOf: Array(channels[range]))
            pieceLikelihoods += evaluation.likelihoods
            density.backward(evaluation, likelihoodWeights: Array(weights[range]), gradient: &pieceGradient)
        }
        #expect(whole.likelihoods == pieceLikelihoods)
        #expect(wholeGradient == pieceGradient)

        let latentCount = 4 * GaussianConditionalRate.elementsPerChunk
        let latents = (0..<latentCount).map { Float(($0 * 13) % 17 - 8) * 0.6 }
        let scales = (0..<latentCount).map { Float(0.05 + Double($0 % 50) * 0.2) }
        func bits(_ range: Range<Int>, _ valueGradients: inout [Float]) -> Double {
            Array(latents[range]).withUnsafeBufferPointer { v in Array(scales[range]).withUnsafeBufferPointer { s in
                valueGradients.withUnsafeMutableBufferPointer { g in
                    GaussianConditionalRate.bits(values: v, scales: s, valueGradients: g, scaleGradients: nil) } } }
        }
        var wholeValueGradients = [Float](repeating: 0, count: latentCount)
        let wholeBits = bits(0..<latentCount, &wholeValueGradients)
        var pieceBits = 0.0, pieceValueGradients: [Float] = []
        for piece in 0..<4 {
            var gradients = [Float](repeating: 0, count: latentCount / 4)
            pieceBits += bits((piece * latentCount / 4)..<((piece + 1) * latentCount / 4), &gradients)
            pieceValueGradients += gradients
        }
        #expect(wholeBits == pieceBits)
        #expect(wholeValueGradients == pieceValueGradients)
    }
}
