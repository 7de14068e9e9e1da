import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage

/// Restores archived images: decodes the latents with the archive's own model and writes PNG in
/// the mode the record stores (gray stays gray, alpha exact, 16-bit as 16-bit with 8-bit precision).
/// Shared by `nacre unpack`, the daemon's `restore` and its post-seal verification.
public enum ImageRestorer {
    /// The restored pixels of `image` (colour from the codec, alpha from the frame).
    public static func decode(_ image: ArchiveImage, with codec: CodecModel) throws -> PixelBuffer {
        try decodeRecord(image, with: codec).pixels
    }

    /// The restored pixels of `image`, filtered by `denoiser` when one is given (it must have
    /// been trained for `codec`, else `CodecError.wrongDecoder`); alpha from the frame.
    public static func decode(_ image: ArchiveImage, with codec: CodecModel, denoiser: Denoiser?) throws -> PixelBuffer {
        let (encoded, decoded) = try decodeRecord(image, with: codec)
        guard let denoiser else { return decoded }
        try denoiser.requireDecoder(codec.identifier)
        // The bitstream's quality (what the decoder used), as in training.
        return try denoiser.apply(to: decoded, quality: encoded.quality)
    }

    /// The restored image as PNG bytes in its source's mode, denoised when `denoiser` is given
    /// (`nacre unpack --denoise`, the daemon's `restore … denoise`).
    public static func png(_ image: ArchiveImage, with codec: CodecModel, denoiser: Denoiser? = nil) throws -> [UInt8] {
        try PNGWriter.encode(try decode(image, with: codec, denoiser: denoiser), layout: ArchivedImageMode(record: image.record).layout)
    }

    /// The ``LatentDigest`` of the frame's latents: entropy decoding only (no decoder network).
    public static func latentDigest(_ image: ArchiveImage, with codec: CodecModel) throws -> SHA256Digest {
        LatentDigest.of(try codec.decodeLatents(try encodedImage(of: image)))
    }

    /// The frame's one encoded image record, checked against the record.
    private static func encodedImage(of image: ArchiveImage) throws -> EncodedImage {
        guard image.bitstreams.count == 1 else {
            throw StoreError(code: .damagedImage,
                             message: "the image frame holds \(image.bitstreams.count) bitstreams; this nacre reads one (an encoded image record).")
        }
        let encoded = try EncodedImage(serialized: image.bitstreams[0])
        guard encoded.width == Int(image.record.width), encoded.height == Int(image.record.height) else {
            throw StoreError(code: .damagedImage,
                             message: "the bitstream is \(encoded.width)×\(encoded.height) but the record says \(image.record.width)×\(image.record.height); the image is damaged.")
        }
        return encoded
    }

    /// The frame's one encoded image record and its decoded pixels, checked against the record.
    private static func decodeRecord(_ image: ArchiveImage, with codec: CodecModel) throws -> (encoded: EncodedImage, pixels: PixelBuffer) {
        let encoded = try encodedImage(of: image)
        let decoded = try codec.decode(encoded)
        return (encoded, try PixelBuffer(width: decoded.width, height: decoded.height, rgb: decoded.rgb, alpha: image.alpha))
    }

    /// The decoder and (if the archive carries one and `includingDenoiser`) the denoiser of an
    /// archive's model frame (`ArchiveReader.readModel()`); a denoiser trained for another decoder
    /// is refused. Plain restores pass `includingDenoiser: false`, so they never depend on the
    /// denoiser block.
    public static func models(fromModelFrame blob: [UInt8], engine: Engine,
                              includingDenoiser: Bool = true) throws -> (codec: CodecModel, denoiser: Denoiser?) {
        let content = try ModelFrameContent(blob: blob)
        let codec = try CodecModel.load(content.decoder, engine: engine)
        guard includingDenoiser, let block = content.denoiser else { return (codec, nil) }
        let denoiser = try Denoiser(serialized: block, engine: engine)
        try denoiser.requireDecoder(codec.identifier)
        return (codec, denoiser)
    }

    /// The pixels a restore of `decoded` writes: unchanged when the mode keeps the decoded 8-bit
    /// RGB exactly, else after the round trip through the mode's PNG layout. PSNR is measured on
    /// these, at pack time and when a sealed archive is verified.
    public static func restoredPixels(_ decoded: PixelBuffer, mode: ArchivedImageMode) throws -> PixelBuffer {
        guard !mode.restoresDecodedRGBExactly else { return decoded }
        return try PNGReader.decode(try PNGWriter.encode(decoded, layout: mode.layout, fast: true)).pixels
    }

    /// FOLDER/NAME, refusing names that could land outside FOLDER (absolute, empty, `.`/`..`
    /// components, NUL).
    public static func destination(of name: String, in folder: String) throws(StoreError) -> String {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\0"),
              !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw StoreError(code: .unsafeName,
                             message: "the archive names an image \"\(name)\", which is not a plain relative path (absolute, empty, or with `.`/`..` components); refusing to write it. Restore the others by name.")
        }
        return (folder as NSString).appendingPathComponent(name)
    }
}
