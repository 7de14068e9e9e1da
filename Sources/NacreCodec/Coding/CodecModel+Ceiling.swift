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
        let analysis = try analyze(image, tileSide: 0)
        guard let tile = analysis.tiles.first, analysis.tiles.count == 1 else {
            throw CodecError(code: .invalidArgument, message: "the transform ceiling is measured on whole images only")
        }
        let (encoderGains, decoderGains) = gains(at: position)
        var gained = try network.engine.multiplyChannels(tile.y, gains: encoderGains)
        if rounding { gained = try Tensor(shape: gained.shape, values: gained.values().map { $0.rounded() }) }
        let xHat = try synthesize(try network.engine.multiplyChannels(gained, gains: decoderGains))
        return try ImagePadding.pixels(from: xHat, width: image.width, height: image.height)
    }
}
