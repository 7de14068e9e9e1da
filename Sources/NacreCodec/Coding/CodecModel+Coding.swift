import Foundation
import NacreEngine
import NacreImage

/// The integer latents of a decoded image (for determinism checks and debugging).
public struct DecodedLatents: Sendable, Equatable {
    /// ẑ, channel-major.
    public var z: [Int32]
    /// ŷ (gained, before the decoder gain), channel-major.
    public var y: [Int32]
    /// The Gaussian table index of every element of y.
    public var scaleIndices: [UInt8]
}

extension CodecModel {
    /// Encodes the RGB part of an image at a quality in 1…100 (alpha is the archive's business).
    ///
    /// The image is padded to a multiple of 64 by edge replication; the decoder crops it back.
    ///
    /// - Throws: `.invalidArgument` for a decoder-only model or a bad quality,
    ///   `.imageTooLarge` above `maximumPixels`.
    public func encode(_ image: PixelBuffer, quality: Double) throws -> EncodedImage {
        _ = try QualityPosition(quality: quality, levelCount: configuration.levelCount)  // fail before g_a runs
        return try encode(try analyze(image), quality: quality)
    }

    /// What the encoder computes once per image whatever the quality: y = g_a(x) and ẑ.
    struct Analysis {
        let width: Int
        let height: Int
        let y: Tensor
        let z: IntegerFeatureMap
    }

    func analyze(_ image: PixelBuffer) throws -> Analysis {
        guard canEncode else {
            throw CodecError(code: .invalidArgument, message: "this model holds only the decoder; load the full exported model to encode")
        }
        guard image.pixelCount <= Self.maximumPixels else {
            throw CodecError(code: .imageTooLarge,
                message: "\(image.width)×\(image.height) is above the codec's \(Self.maximumPixels / 1_000_000) megapixel limit (tiling is not implemented); downscale or split the image")
        }
        let y = try network.analysis.forward(try ImagePadding.tensor(from: image), training: false)
        let z = try Self.quantizedHyperLatent(ofLatent: y, network: network, range: hyperSynthesis.layers[0].inputRange)
        return Analysis(width: image.width, height: image.height, y: y, z: z)
    }

    func encode(_ analysis: Analysis, quality: Double) throws -> EncodedImage {
        let position = try QualityPosition(quality: quality, levelCount: configuration.levelCount)
        let (y, z) = (analysis.y, analysis.z)
        let indices = try hyperSynthesis.scaleIndices(for: z, channelOffsets: offsets(at: position))
        let gained = try network.engine.multiplyChannels(y, gains: gains(at: position).encoder)
        let limit = Float(1 << 24)
        let yHat = gained.values().map { v -> Int32 in v.isNaN ? 0 : Int32(min(max(v.rounded(), -limit), limit)) }
        let zStream = try LatentCoder.encodeFactorized(z.values, channelCount: z.channels, tables: factorizedTables)
        let yStream = try LatentCoder.encodeGaussian(yHat, scaleIndices: indices, tables: gaussianTables)
        let latents = LatentBitstream(
            zShape: .init(channels: z.channels, height: z.height, width: z.width),
            yShape: .init(channels: y.shape.c, height: y.shape.h, width: y.shape.w),
            zStream: zStream, yStream: yStream)
        return EncodedImage(modelIdentifier: identifier, qualityCode: position.code, width: analysis.width,
                            height: analysis.height, latents: latents)
    }

    /// Decodes an image written by `encode` with this model (or one with the same decoder).
    ///
    /// - Throws: `.incompatibleModel` if another model wrote it, `.corruptBitstream` if its shapes
    ///   do not fit its size, `EntropyCodingError` for a corrupt stream.
    public func decode(_ encoded: EncodedImage) throws -> PixelBuffer {
        try decodeWithLatents(encoded).image
    }

    /// `decode`, also returning the integer latents.
    public func decodeWithLatents(_ encoded: EncodedImage) throws -> (image: PixelBuffer, latents: DecodedLatents) {
        let latents = try decodeLatents(encoded)
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: configuration.levelCount)
        let shape = encoded.latents.yShape
        let gained = try Tensor(shape: TensorShape(n: 1, c: shape.channels, h: shape.height, w: shape.width),
                                values: latents.y.map(Float.init))
        let yDecoder = try network.engine.multiplyChannels(gained, gains: gains(at: position).decoder)
        let xHat = try network.synthesis.forward(yDecoder, training: false)
        return (try ImagePadding.pixels(from: xHat, width: encoded.width, height: encoded.height), latents)
    }

    /// Entropy-decodes ẑ and ŷ (integers only: the same on every machine).
    public func decodeLatents(_ encoded: EncodedImage) throws -> DecodedLatents {
        guard encoded.modelIdentifier == identifier else {
            throw CodecError(code: .incompatibleModel,
                message: "the image was coded by model \(String(format: "%016llx", encoded.modelIdentifier)), not \(identifierString); decode it with its own model")
        }
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: configuration.levelCount)
        let zHeight = ImagePadding.padded(encoded.height) / 64, zWidth = ImagePadding.padded(encoded.width) / 64
        let zShape = LatentBitstream.Shape(channels: configuration.hiddenChannels, height: zHeight, width: zWidth)
        let yShape = LatentBitstream.Shape(channels: configuration.latentChannels, height: 4 * zHeight, width: 4 * zWidth)
        guard encoded.latents.zShape == zShape, encoded.latents.yShape == yShape else {
            throw CodecError(code: .corruptBitstream,
                message: "latent shapes \(encoded.latents.zShape), \(encoded.latents.yShape) do not fit a \(encoded.width)×\(encoded.height) image; the record is corrupt")
        }
        let z = try LatentCoder.decodeFactorized(encoded.latents.zStream, channelCount: zShape.channels,
                                                 elementCount: zShape.elementCount, tables: factorizedTables)
        let zMap = try IntegerFeatureMap(channels: zShape.channels, height: zHeight, width: zWidth, values: z)
        let indices = try hyperSynthesis.scaleIndices(for: zMap, channelOffsets: offsets(at: position))
        let y = try LatentCoder.decodeGaussian(encoded.latents.yStream, scaleIndices: indices, tables: gaussianTables)
        return DecodedLatents(z: z, y: y, scaleIndices: indices)
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
