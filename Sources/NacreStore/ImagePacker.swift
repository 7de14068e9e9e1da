import NacreArchive
import NacreCodec
import NacreImage

/// Turns a PNG file into an archive image: decodes it, encodes it with the codec, decodes the
/// result once to measure what a restore will give (PSNR, MS-SSIM), and builds the image record
/// with the mode the restore writes. Shared by `nacre pack` and the daemon's ingest.
public struct ImagePacker {
    /// How the rate of each image is chosen.
    public enum Rate: Hashable, Sendable {
        /// A fixed quality 1…100.
        case quality(Double)
        /// Per image, the lowest quality whose PSNR reaches this many dB.
        case targetPSNR(Double)
    }

    /// One packed image: the frame to append, and its latent size.
    public struct Packed: Sendable {
        public var image: ArchiveImage
        /// ``LatentDigest`` of the latents the PSNR and MS-SSIM were measured with.
        public var latentDigest: SHA256Digest
        public var record: ImageRecord { image.record }
        public var latentByteCount: Int { image.latentByteCount }
    }

    public let codec: CodecModel
    public let rate: Rate

    /// Fails with ``StoreError/Code-swift.struct/unusableModel`` for a decoder-only model.
    public init(codec: CodecModel, rate: Rate) throws(StoreError) {
        guard codec.canEncode else {
            throw StoreError(code: .unusableModel,
                             message: "model \(codec.identifierString) is decoder-only; packing needs the full model written by `nacre export-model --out`.")
        }
        self.codec = codec
        self.rate = rate
    }

    /// Packs the PNG file `pngBytes` under `name` (the bytes stored as the image's name).
    /// Throws `ImageError` for a file that is not a readable PNG, and `CodecError` when encoding fails.
    public func pack(pngBytes: [UInt8], name: [UInt8]) throws -> Packed {
        try pack(pngBytes: pngBytes, decoded: try PNGReader.decode(pngBytes), name: name)
    }

    /// Packs a PNG file already decoded (`decoded` is `PNGReader.decode(pngBytes)`).
    public func pack(pngBytes: [UInt8], decoded: DecodedImage, name: [UInt8]) throws -> Packed {
        try archiveImage(pngBytes: pngBytes, decoded: decoded, name: name, encoded: try encode(decoded.pixels))
    }

    /// Encodes pixels at this packer's rate.
    public func encode(_ source: PixelBuffer) throws -> EncodedImage {
        switch rate {
        case .quality(let quality): return try codec.encode(source, quality: quality)
        case .targetPSNR(let decibels): return try codec.encode(source, targetPSNR: decibels).encoded
        }
    }

    /// The archive image of an already encoded file, measured with `decoder` (default: this
    /// packer's model; an adapted decoder after ``DecoderAdaptation``).
    public func archiveImage(pngBytes: [UInt8], decoded: DecodedImage, name: [UInt8], encoded: EncodedImage,
                             decoder: CodecModel? = nil) throws -> Packed {
        try Self.measure(try reconstruct(pngBytes: pngBytes, decoded: decoded, encoded: encoded, decoder: decoder), name: name)
    }

    /// What the codec made of one image, before it is measured: the part of packing that needs
    /// the model (and its engine), so that ``measure(_:name:)`` can run on another thread.
    public struct Reconstruction: Sendable {
        public var pngBytes: [UInt8]
        public var decoded: DecodedImage
        public var encoded: EncodedImage
        /// What decoding `encoded` gives, before the restore's mode is applied.
        public var decodedPixels: PixelBuffer
        public var latents: DecodedLatents
    }

    /// Encodes `decoded` at this packer's rate and decodes the result once, as a restore will.
    public func reconstruct(pngBytes: [UInt8], decoded: DecodedImage) throws -> Reconstruction {
        try reconstruct(pngBytes: pngBytes, decoded: decoded, encoded: try encode(decoded.pixels))
    }

    /// Decodes `encoded` with `decoder` (default: this packer's model).
    public func reconstruct(pngBytes: [UInt8], decoded: DecodedImage, encoded: EncodedImage,
                            decoder: CodecModel? = nil) throws -> Reconstruction {
        let (decodedPixels, latents) = try (decoder ?? codec).decodeWithLatents(encoded)
        return Reconstruction(pngBytes: pngBytes, decoded: decoded, encoded: encoded, decodedPixels: decodedPixels, latents: latents)
    }

    /// Measures a reconstruction (PSNR and MS-SSIM of what a restore writes, the original's
    /// SHA-256, the latents' digest) and builds its archive image. Needs no model: it can run
    /// while the next image encodes.
    public static func measure(_ reconstruction: Reconstruction, name: [UInt8]) throws -> Packed {
        let source = reconstruction.decoded.pixels
        let mode = ArchivedImageMode(source: reconstruction.decoded.source)
        let restored = try ImageRestorer.restoredPixels(
            try PixelBuffer(width: source.width, height: source.height, rgb: reconstruction.decodedPixels.rgb, alpha: source.alpha),
            mode: mode)
        let psnr = try PSNR(reference: source, distorted: restored).decibels
        let msssim = min(source.width, source.height) >= MSSSIM.minimumSide
            ? try MSSSIM.compute(reference: source, distorted: restored) : .nan
        let encoded = reconstruction.encoded
        let record = ImageRecord(
            name: name, width: UInt32(source.width), height: UInt32(source.height),
            channels: mode.channels, colorType: mode.colorType, bitDepth: mode.bitDepth,
            quality: Float(encoded.quality), originalSHA256: SHA256.hash(reconstruction.pngBytes), psnr: Float(psnr), msssim: Float(msssim),
            originalByteCount: UInt64(reconstruction.pngBytes.count))
        return Packed(image: ArchiveImage(record: record, bitstreams: [encoded.serialized()], alpha: source.alpha),
                      latentDigest: LatentDigest.of(reconstruction.latents))
    }
}
