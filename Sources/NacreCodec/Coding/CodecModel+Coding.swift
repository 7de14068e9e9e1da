import Foundation
import NacreEngine
import NacreImage

extension CodecModel {
    /// Encodes the RGB part of an image at a quality in 1…100 (alpha is the archive's business).
    ///
    /// The image (or each tile of a large one, see `TileLayout`) is padded to a multiple of 64 by
    /// edge replication; the decoder crops it back.
    ///
    /// - Parameter tileSide: nil for the automatic layout; otherwise a multiple of 64 forces tiles
    ///   of that side (0: one tile), e.g. to measure what tile seams cost.
    /// - Throws: `.invalidArgument` for a decoder-only model, a bad quality or tile side,
    ///   `.imageTooLarge` above `maximumPixels`.
    /// - Parameter refinement: optional encoder-side latent refinement (``LatentRefinement``):
    ///   slower encoding, same decoder and bitstream format.
    public func encode(_ image: PixelBuffer, quality: Double, tileSide: Int? = nil,
                       refinement: LatentRefinement? = nil) throws -> EncodedImage {
        _ = try QualityPosition(quality: quality, levelCount: configuration.levelCount)  // fail before g_a runs
        return try encode(try analyze(image, tileSide: tileSide), quality: quality, refinement: refinement)
    }

    /// What the encoder computes once per tile whatever the quality: y = g_a(x), ẑ and, for a
    /// mean model, μ.
    struct TileAnalysis {
        let y: Tensor
        let z: IntegerFeatureMap
        let means: Tensor?
        /// The padded input and the tile's real size (what a refinement measures distortion on).
        let input: Tensor
        let width: Int
        let height: Int
    }

    /// The analyses of every tile of an image.
    struct Analysis {
        let layout: TileLayout
        let tiles: [TileAnalysis]
    }

    func analyze(_ image: PixelBuffer, tileSide: Int? = nil) throws -> Analysis {
        guard canEncode else {
            throw CodecError(code: .invalidArgument, message: "this model holds only the decoder; load the full exported model to encode")
        }
        guard image.pixelCount <= Self.maximumPixels else {
            throw CodecError(code: .imageTooLarge,
                message: "\(image.width)×\(image.height) is above the codec's \(Self.maximumPixels / 1_000_000) megapixel limit; downscale or split the image")
        }
        let layout: TileLayout
        if let tileSide {
            do {
                layout = try TileLayout(width: image.width, height: image.height, side: tileSide)
            } catch {
                throw CodecError(code: .invalidArgument, message: "tile side \(tileSide) must be 0 or a multiple of 64 in 64…65536")
            }
        } else {
            layout = TileLayout(encoderLayoutFor: image.width, height: image.height)
        }
        let tiles = try layout.tiles.map { rect -> TileAnalysis in
            let tile = layout.side == 0 ? image : try image.window(x: rect.x, y: rect.y, width: rect.width, height: rect.height)
            let input = try ImagePadding.tensor(from: tile)
            let y = layout.side == 0 ? try network.analysis.forward(input, training: false) : try analyzeTile(rect, of: image)
            let z = try Self.quantizedHyperLatent(ofLatent: y, network: network, range: hyperSynthesis.layers[0].inputRange)
            return TileAnalysis(y: y, z: z, means: try latentMeans(for: z), input: input, width: tile.width, height: tile.height)
        }
        return Analysis(layout: layout, tiles: tiles)
    }

    func encode(_ analysis: Analysis, quality: Double, refinement: LatentRefinement? = nil) throws -> EncodedImage {
        let position = try QualityPosition(quality: quality, levelCount: configuration.levelCount)
        let offsets = offsets(at: position)
        let (encoderGains, decoderGains) = gains(at: position)
        let limit = Float(1 << 24)
        let records = try analysis.tiles.map { tile -> LatentBitstream in
            let (y, z) = (tile.y, tile.z)
            let indices = try hyperSynthesis.scaleIndices(for: z, channelOffsets: offsets)
            // What is coded: y·g, or for a mean model the residual y·g − μ·g.
            var residual = try network.engine.multiplyChannels(y, gains: encoderGains).values()
            let means = try gainedMeans(tile.means, encoderGains: encoderGains)
            if let means { residual = zip(residual, means).map { $0 - $1 } }
            if let refinement, refinement.iterations > 0 {
                residual = try refine(residual, means: means, shape: y.shape, scaleIndices: indices, input: tile.input,
                                      width: tile.width, height: tile.height, decoderGains: decoderGains,
                                      lambda: lambda(at: position), settings: refinement).latents
            }
            let yHat = residual.map { v -> Int32 in v.isNaN ? 0 : Int32(min(max(v.rounded(), -limit), limit)) }
            return LatentBitstream(
                zShape: .init(channels: z.channels, height: z.height, width: z.width),
                yShape: .init(channels: y.shape.c, height: y.shape.h, width: y.shape.w),
                zStream: try LatentCoder.encodeFactorized(z.values, channelCount: z.channels, tables: factorizedTables),
                yStream: try LatentCoder.encodeGaussian(yHat, scaleIndices: indices, tables: gaussianTables))
        }
        return EncodedImage(modelIdentifier: identifier, qualityCode: position.code, width: analysis.layout.width,
                            height: analysis.layout.height, tileSide: analysis.layout.side, tiles: records)
    }

    /// Decodes an image written by `encode` with this model (or one with the same decoder).
    ///
    /// - Throws: `.incompatibleModel` if another model wrote it, `.corruptBitstream` if its shapes
    ///   do not fit its size, `EntropyCodingError` for a corrupt stream.
    public func decode(_ encoded: EncodedImage) throws -> PixelBuffer {
        try decodeWithLatents(encoded).image
    }

    /// `decode`, also returning the integer latents (all tiles', concatenated in raster order).
    public func decodeWithLatents(_ encoded: EncodedImage) throws -> (image: PixelBuffer, latents: DecodedLatents) {
        let (layout, tileLatents) = try decodeTileLatents(encoded)
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: configuration.levelCount)
        let decoderGains = gains(at: position).decoder
        let rects = layout.tiles
        let tileValues = { (index: Int) throws -> [Float] in
            try self.latentValues(of: tileLatents[index], rect: rects[index], position: position)
        }
        var rgb = [UInt8](repeating: 0, count: encoded.width * encoded.height * 3)
        let grid = layout.side > 0 && encoded.tileContext
            ? try LatentGrid(layout: layout, channels: configuration.latentChannels, tileValues: tileValues) : nil
        for (index, (rect, record)) in zip(rects, encoded.tiles).enumerated() {
            let tile: PixelBuffer
            if let grid {
                tile = try synthesizeTile(rect, from: grid, decoderGains: decoderGains)
            } else {
                let shape = record.yShape
                let gained = try Tensor(shape: TensorShape(n: 1, c: shape.channels, h: shape.height, w: shape.width),
                                        values: try tileValues(index))
                let xHat = try synthesize(try network.engine.multiplyChannels(gained, gains: decoderGains))
                tile = try ImagePadding.pixels(from: xHat, width: rect.width, height: rect.height)
            }
            for row in 0..<rect.height {
                let destination = ((rect.y + row) * encoded.width + rect.x) * 3
                rgb.replaceSubrange(destination..<(destination + rect.width * 3),
                                    with: tile.rgb[(row * rect.width * 3)..<((row + 1) * rect.width * 3)])
            }
        }
        let latents = DecodedLatents(z: tileLatents.flatMap(\.z), y: tileLatents.flatMap(\.y),
                                     scaleIndices: tileLatents.flatMap(\.scaleIndices))
        return (try PixelBuffer(width: encoded.width, height: encoded.height, rgb: rgb), latents)
    }

    /// Entropy-decodes ẑ and ŷ of every tile, concatenated (integers only: the same on every machine).
    public func decodeLatents(_ encoded: EncodedImage) throws -> DecodedLatents {
        let tiles = try decodeTileLatents(encoded).latents
        return DecodedLatents(z: tiles.flatMap(\.z), y: tiles.flatMap(\.y), scaleIndices: tiles.flatMap(\.scaleIndices))
    }

    func decodeTileLatents(_ encoded: EncodedImage) throws -> (layout: TileLayout, latents: [DecodedLatents]) {
        guard encoded.modelIdentifier == identifier else {
            throw CodecError(code: .incompatibleModel,
                message: "the image was coded by model \(String(format: "%016llx", encoded.modelIdentifier)), not \(identifierString); decode it with its own model")
        }
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: configuration.levelCount)
        let layout = try TileLayout(width: encoded.width, height: encoded.height, side: encoded.tileSide)
        guard layout.tileCount == encoded.tiles.count else {
            throw CodecError(code: .corruptBitstream, message: "\(encoded.tiles.count) tiles where the layout has \(layout.tileCount); the record is corrupt")
        }
        let offsets = offsets(at: position)
        let latents = try zip(layout.tiles, encoded.tiles).map { rect, record -> DecodedLatents in
            let zHeight = ImagePadding.padded(rect.height) / 64, zWidth = ImagePadding.padded(rect.width) / 64
            let zShape = LatentBitstream.Shape(channels: configuration.hiddenChannels, height: zHeight, width: zWidth)
            let yShape = LatentBitstream.Shape(channels: configuration.latentChannels, height: 4 * zHeight, width: 4 * zWidth)
            guard record.zShape == zShape, record.yShape == yShape else {
                throw CodecError(code: .corruptBitstream,
                    message: "latent shapes \(record.zShape), \(record.yShape) do not fit a \(rect.width)×\(rect.height) tile; the record is corrupt")
            }
            let z = try LatentCoder.decodeFactorized(record.zStream, channelCount: zShape.channels,
                                                     elementCount: zShape.elementCount, tables: factorizedTables)
            let zMap = try IntegerFeatureMap(channels: zShape.channels, height: zHeight, width: zWidth, values: z)
            let indices = try hyperSynthesis.scaleIndices(for: zMap, channelOffsets: offsets)
            let y = try LatentCoder.decodeGaussian(record.yStream, scaleIndices: indices, tables: gaussianTables)
            return DecodedLatents(z: z, y: y, scaleIndices: indices)
        }
        return (layout, latents)
    }

    /// The integer scale-index offsets of a quality position (exact interpolation).
    func offsets(at position: QualityPosition) -> [Int32] {
        position.interpolate(indexOffsets, channels: configuration.latentChannels)
    }

    /// The result of a target-PSNR encode.
    public struct TargetedEncoding: Sendable {
        public var encoded: EncodedImage
        /// PSNR of the decoded image (8-bit RGB).
        public var psnr: Double
        /// Whether the target was reached (false: the best quality, 100, fell short).
        public var reachedTarget: Bool
        /// Encode+decode trials made.
        public var trials: Int
    }

    /// Encodes at the lowest quality whose decoded PSNR reaches `targetPSNR` (bisection over
    /// quality, every trial a real encode and decode; quality resolution 0.5; g_a runs once).
    /// Falls back to quality 100 when even that misses the target.
    public func encode(_ image: PixelBuffer, targetPSNR: Double) throws -> TargetedEncoding {
        guard targetPSNR.isFinite else { throw CodecError(code: .invalidArgument, message: "target PSNR must be a finite number of dB") }
        let analysis = try analyze(image)
        var trials = 0
        func trial(_ quality: Double) throws -> (EncodedImage, Double) {
            trials += 1
            let encoded = try encode(analysis, quality: quality)
            let psnr = try PSNR(reference: image, distorted: try decode(encoded)).decibels
            return (encoded, psnr)
        }
        var best = try trial(100)
        guard best.1 >= targetPSNR else {
            return TargetedEncoding(encoded: best.0, psnr: best.1, reachedTarget: false, trials: trials)
        }
        var low = 1.0, high = 100.0  // high always reaches the target
        let first = try trial(low)
        if first.1 >= targetPSNR { return TargetedEncoding(encoded: first.0, psnr: first.1, reachedTarget: true, trials: trials) }
        while high - low > 0.5 {
            let mid = ((low + high) / 2 * 2).rounded() / 2
            guard mid > low, mid < high else { break }
            let result = try trial(mid)
            if result.1 >= targetPSNR { high = mid; best = result } else { low = mid }
        }
        return TargetedEncoding(encoded: best.0, psnr: best.1, reachedTarget: true, trials: trials)
    }
}
