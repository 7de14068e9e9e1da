import Foundation
import NacreEngine
import NacreImage

extension CodecModel {
    /// What the transforms alone give at `quality`: y = g_a(x) scaled by the quality's encoder
    /// gains and, unless `rounding`, passed to g_s (after the decoder gains) without being
    /// rounded. With rounding this is what a decode gives; without it, the PSNR ceiling of the
    /// transform pair at that quality, whatever the rate (`nacre bench ceiling`).
    /// Whole images only (no tiles).
    public func reconstruction(of image: PixelBuffer, quality: Double, rounding: Bool) throws -> PixelBuffer {
        let position = try QualityPosition(quality: quality, levelCount: configuration.levelCount)
        let tile = try wholeImageAnalysis(of: image)
        let (encoderGains, decoderGains) = gains(at: position)
        var gained = try network.engine.multiplyChannels(tile.y, gains: encoderGains)
        if rounding {
            // As a decode: the residual is rounded and a mean model's μ·g added back.
            let means = try gainedMeans(tile.means, encoderGains: encoderGains) ?? [Float](repeating: 0, count: gained.count)
            gained = try Tensor(shape: gained.shape, values: zip(gained.values(), means).map { ($0 - $1).rounded() + $1 })
        }
        let xHat = try synthesize(try network.engine.multiplyChannels(gained, gains: decoderGains))
        return try ImagePadding.pixels(from: xHat, width: image.width, height: image.height)
    }
}

extension CodecModel {
    /// The model's own estimate of an image's bits at `quality`, as training measures rate: ŷ
    /// (a mean model's residual) under the Gaussians of the float h_s (scales times the encoder gains) and ẑ under the
    /// factorized density. A real bitstream spends more: 16-bit tables, escapes, integer scale
    /// indices, each stream's final state. `nacre bench ceiling` reports the difference.
    /// Whole images only (no tiles). For a mean model, `latentWithoutMeans` prices y as if its
    /// means were zero (same ẑ and scales): what the means save; nil for a scale-only model.
    public func estimatedBits(of image: PixelBuffer, quality: Double) throws
        -> (latent: Double, hyperLatent: Double, latentWithoutMeans: Double?) {
        let position = try QualityPosition(quality: quality, levelCount: configuration.levelCount)
        let tile = try wholeImageAnalysis(of: image)
        let engine = network.engine
        let zShape = TensorShape(n: 1, c: tile.z.channels, h: tile.z.height, w: tile.z.width)
        let zValues = tile.z.values.map(Float.init)
        let (scaleIndex, mean) = try network.hyperSynthesize(try Tensor(shape: zShape, values: zValues), training: false)
        let encoderGains = gains(at: position).encoder
        let sigma = try engine.multiplyChannels(network.scale(fromIndex: scaleIndex), gains: encoderGains).values()
        let gainedY = try engine.multiplyChannels(tile.y, gains: encoderGains).values()
        func bits(of residual: [Float]) -> Double {
            let yHat = residual.map { $0.rounded() }
            return yHat.withUnsafeBufferPointer { values in
                sigma.withUnsafeBufferPointer { scales in
                    GaussianConditionalRate.bits(values: values, scales: scales, valueGradients: nil, scaleGradients: nil)
                }
            }
        }
        let plainBits = bits(of: gainedY)
        let latentBits = try mean.map { bits(of: zip(gainedY, try engine.multiplyChannels($0, gains: encoderGains).values()).map { $0 - $1 }) }
        let likelihoods = network.density.likelihoods(values: zValues, channelOf: HyperpriorModel.channelIndices(of: zShape)).likelihoods
        return (latentBits ?? plainBits, likelihoods.reduce(0) { $0 - log2($1) }, latentBits == nil ? nil : plainBits)
    }
}

extension CodecModel {
    /// y and ẑ of the whole image as one tile: the ceiling and the rate estimate are per image.
    private func wholeImageAnalysis(of image: PixelBuffer) throws -> TileAnalysis {
        let analysis = try analyze(image, tileSide: 0)
        guard let tile = analysis.tiles.first, analysis.tiles.count == 1 else {
            throw CodecError(code: .invalidArgument, message: "the transform ceiling and the rate estimate are measured on whole images only")
        }
        return tile
    }
}

extension CodecModel {
    /// Mean |weight| of a mean model's head and of h_a's first convolution on y and on |y| (nil
    /// for a scale-only or decoder-only model): whether a grown mean path has started to learn.
    public func meanPathWeightMagnitudes() -> (head: Double, hyperAnalysisOnY: Double, hyperAnalysisOnMagnitude: Double)? {
        guard canEncode, let head = network.meanSynthesis,
              let first = network.hyperAnalysis.layers.first as? Conv2D else { return nil }
        func meanMagnitude(_ values: ArraySlice<Float>) -> Double { values.reduce(0) { $0 + Double(abs($1)) } / Double(max(values.count, 1)) }
        // h_a.0's weights are [N][2M][3][3]: per output, the |y| inputs first, then the y inputs.
        let weights = first.weight.values(), perOutput = weights.count / first.weight.shape[0], half = perOutput / 2
        var onMagnitude: [Float] = [], onY: [Float] = []
        for o in 0..<first.weight.shape[0] {
            onMagnitude += weights[(o * perOutput)..<(o * perOutput + half)]
            onY += weights[(o * perOutput + half)..<((o + 1) * perOutput)]
        }
        return (meanMagnitude(head.weight.values()[...]), meanMagnitude(onY[...]), meanMagnitude(onMagnitude[...]))
    }
}
