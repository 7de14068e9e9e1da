import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre encode`: codes one PNG with a coded model (a debugging aid; archives come later).
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Encode a PNG into a Nacre image record (.nxim) with a coded model.")

    @Option(help: "Coded model (from `nacre export-model`).") var model: String
    @Option(help: "Quality 1…100.") var quality: Double?
    @Option(help: "Instead of --quality: the lowest quality whose PSNR reaches this many dB.") var targetPsnr: Double?
    @Option(help: "Compute threads.") var threads: Int?
    @Option(help: "Encoder-side latent refinement: gradient steps (0: none; slower encoding, same decoder).") var refine = 0
    @Argument(help: "Input PNG.") var input: String
    @Argument(help: "Output record.") var output: String

    func run() throws {
        let codec = try CodecModel.load(contentsOfFile: model, engine: try Engine(threads: threads))
        let image = try CodecFiles.readPNG(input)
        let encoded: EncodedImage
        if let targetPsnr {
            let result = try codec.encode(image, targetPSNR: targetPsnr)
            encoded = result.encoded
            print(String(format: "target %.2f dB: quality %.1f, %.2f dB after %d trials%@", targetPsnr, encoded.quality,
                         result.psnr, result.trials, result.reachedTarget ? "" : " (target not reached)"))
        } else {
            encoded = try codec.encode(image, quality: quality ?? 50,
                                       refinement: refine > 0 ? LatentRefinement(iterations: refine) : nil)
        }
        try CodecFiles.writeAtomically(encoded.serialized(), to: output)
        print(String(format: "%d×%d at quality %.2f: %d bytes (z %d, y %d), %.4f bpp", encoded.width, encoded.height,
                     encoded.quality, encoded.byteCount, encoded.streamByteCounts.z, encoded.streamByteCounts.y, encoded.bitsPerPixel))
    }
}

/// `nacre decode`: decodes a Nacre image record to PNG.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Decode a Nacre image record (.nxim) to PNG.")

    @Option(help: "Coded model, full or decoder-only.") var model: String
    @Option(help: "Compute threads.") var threads: Int?
    @Argument(help: "Input record.") var input: String
    @Argument(help: "Output PNG.") var output: String

    func run() throws {
        let codec = try CodecModel.load(contentsOfFile: model, engine: try Engine(threads: threads))
        let image = try codec.decode(try EncodedImage(serialized: try CodecFiles.readBytes(input)))
        try CodecFiles.writeAtomically(try PNGWriter.encode(image, layout: PNGLayout(channels: .rgb)), to: output)
    }
}

/// `nacre debug-decode` (hidden): decodes a record and dumps its integer latents and pixels, for
/// the cross-process determinism test.
struct DebugDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-decode", abstract: "Decode a record and dump ẑ, ŷ and the pixels (testing aid).",
        shouldDisplay: false)

    @Option(help: "Coded model.") var model: String
    @Option(name: .customLong("in"), help: "Encoded image record.") var input: String
    @Option(help: "Where to write ẑ then ŷ as little-endian Int32.") var latentsOut: String
    @Option(help: "Where to write the decoded RGB samples.") var pixelsOut: String?

    func run() throws {
        let codec = try CodecModel.load(contentsOfFile: model, engine: try Engine())
        let (image, latents) = try codec.decodeWithLatents(try EncodedImage(serialized: try CodecFiles.readBytes(input)))
        var bytes: [UInt8] = []
        bytes.reserveCapacity((latents.z.count + latents.y.count) * 4)
        for v in latents.z + latents.y { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        try CodecFiles.writeAtomically(bytes, to: latentsOut)
        if let pixelsOut { try CodecFiles.writeAtomically(image.rgb, to: pixelsOut) }
    }
}
