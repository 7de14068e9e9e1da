import ArgumentParser
import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
#if canImport(Glibc)
import Glibc
#endif

/// `nacre pack`: encodes PNG files with a coded model into a new shared-decoder archive.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Encode PNG files into a new .nacre archive with a coded model.",
        discussion: """
            INPUT is a PNG file (stored under its file name) or a folder, taken recursively (only *.png, \
            sorted, hidden entries and symlinks skipped; stored under the path relative to the folder). \
            Each image is encoded, decoded once to measure PSNR and MS-SSIM (NaN below 161 px a side), and \
            stored with its alpha plane (lossless) and the mode it is restored in.
            The archive is written under a hidden temporary name and only named OUT once sealed: an input \
            that cannot be read or encoded stops the command with an error naming the file, and nothing is \
            left behind. An existing OUT is refused; with --force it is replaced, atomically, only after \
            the new archive is sealed.
            """)

    @Option(help: "Full coded model (encoder + decoder, from `nacre export-model`); default: the built-in base model.") var model: String?
    @Option(name: .shortAndLong, help: "The archive to write.") var output: String
    @Option(help: "Quality 1…100 (default 50).") var quality: Double?
    @Option(help: "Instead of --quality: per image, the lowest quality whose PSNR reaches this many dB.") var targetPsnr: Double?
    @Option(help: "Compute threads.") var threads: Int?
    @Option(help: "Denoiser block (from `nacre train-denoiser`, for this model's decoder) to store in the archive's model frame, for `unpack --denoise`; default: the model's own (NAME.nxdn beside NAME.nxcm, or the built-in one with the built-in model).")
    var denoiser: String?
    @Flag(help: "Store no denoiser (not even the model's own): the archive is a few KB smaller and `unpack --denoise` is unavailable.")
    var noDenoiser = false
    @Option(help: "Per-collection adaptation: fine-tune the decoder on these images for this many seconds before sealing (0: off), and keep it only if the mean PSNR of all the images rises. Same bitstreams, better restores, longer packing.")
    var adaptSeconds = 0.0
    @Option(help: "Adapt on at most this many of the images, spread over them (their pixels are held in memory).") var adaptImages = 64
    @Flag(help: "Replace an existing archive at OUT (after the new one is sealed).") var force = false
    @Flag(help: "Print JSON instead of text.") var json = false
    @Argument(help: "PNG files or folders.") var inputs: [String]

    func validate() throws {
        if quality != nil && targetPsnr != nil { throw ValidationError("Pass --quality or --target-psnr, not both.") }
        if inputs.isEmpty { throw ValidationError("Pass at least one PNG file or folder.") }
        if !(adaptSeconds >= 0) || adaptImages < 1 { throw ValidationError("--adapt-seconds must be ≥ 0 and --adapt-images ≥ 1.") }
        if denoiser != nil && noDenoiser { throw ValidationError("Pass --denoiser or --no-denoiser, not both.") }
    }

    func run() throws {
        let replacing = FileManager.default.fileExists(atPath: output)
        if replacing && !force {
            throw CodecCommandError("\(output) already exists; archives are never modified. Choose another name, or pass --force to replace it.")
        }
        let inputs = try PackInput.collect(inputs)
        let engine = try Engine(threads: threads)
        let modelPath = try CodecFiles.modelPath(model)
        let codec = try CodecModel.load(contentsOfFile: modelPath, engine: engine)
        let packer: ImagePacker
        do {
            packer = try ImagePacker(codec: codec, rate: targetPsnr.map { .targetPSNR($0) } ?? .quality(quality ?? 50))
        } catch {
            throw CodecCommandError("\(modelPath): \(error.message)")
        }
        let terminal = isatty(STDERR_FILENO) == 1
        func show(_ text: String) { if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8)) } }
        // The denoiser stored with the model's own decoder: --denoiser D, else the model's own.
        var storedDenoiser: Denoiser?
        if let denoiser {
            storedDenoiser = try Denoiser.load(contentsOfFile: denoiser, engine: engine)
            do { try storedDenoiser!.requireDecoder(codec.identifier) } catch { throw CodecCommandError("\(denoiser): \(error.message)") }
        } else if !noDenoiser {
            do {
                storedDenoiser = try ModelDenoiser.locate(forModelAt: modelPath, decoderIdentifier: codec.identifier, engine: engine)?.denoiser
            } catch {
                throw CodecCommandError("the model's denoiser cannot be loaded: \(error); reinstall nacre, or pack with --no-denoiser")
            }
        }
        var decoder = codec
        var prepared: [ArchiveImage] = []  // with adaptation: every image, packed and measured ahead of writing
        if adaptSeconds > 0 {
            // First pass: pack everything with the base decoder (records are small), to judge the adaptation by.
            for (number, input) in inputs.enumerated() {
                show("encoding \(number + 1)/\(inputs.count) \(input.name)")
                do {
                    prepared.append(try packer.pack(pngBytes: try CodecFiles.readBytes(input.path), name: Array(input.name.utf8)).image)
                } catch {
                    if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                    throw CodecCommandError("\(input.path): \(error)")
                }
            }
            let adapter = BatchAdapter(seconds: adaptSeconds, sampleLimit: adaptImages)
            let outcome: BatchAdapter.Outcome
            do {
                outcome = try adapter.adapt(codec, images: prepared, denoiser: storedDenoiser, original: { index in
                    let bytes = try CodecFiles.readBytes(inputs[index].path)
                    return (bytes, try PNGReader.decode(bytes))
                }, progress: { state in
                    switch state {
                    case let .training(step, mse): show(String(format: "adapting the decoder: step %d, MSE %.2f", step, mse))
                    case let .measuring(index, count): show("measuring with the adapted decoder \(index + 1)/\(count)")
                    }
                })
            } catch {
                if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                throw CodecCommandError("adapting the decoder: \(error)")
            }
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            FileHandle.standardError.write(Data(String(format: "adapted the decoder on %d of %d images in %d steps (%.0f s): mean PSNR %.3f → %.3f dB%@\n",
                outcome.trainedOn, inputs.count, outcome.training.steps, outcome.training.seconds,
                outcome.meanPSNRBefore, outcome.meanPSNRAfter,
                outcome.isAdapted ? Self.denoiserVerdict(outcome) : " (no gain for the batch; kept the original decoder)").utf8))
            decoder = outcome.decoder
            prepared = outcome.images
            storedDenoiser = outcome.denoiser
        }
        let modelFrame = ModelFrameContent(decoder: decoder.decoderBytes(), denoiser: storedDenoiser?.serialized())
        let decoderBytes = modelFrame.encoded()
        let digest = SHA256.hash(decoderBytes)
        var settings = ["codec.N": "\(codec.configuration.hiddenChannels)", "codec.M": "\(codec.configuration.latentChannels)",
                        "codec.levels": "\(codec.configuration.levelCount)", "codec.modelIdentifier": decoder.identifierString]
        if let block = modelFrame.denoiser { settings["codec.denoiser"] = "\(block.count) bytes" }
        if let targetPsnr { settings["targetPSNR"] = "\(targetPsnr)" } else { settings["quality"] = "\(quality ?? 50)" }
        if decoder.identifier != codec.identifier {
            settings["adaptation.seconds"] = "\(adaptSeconds)"
            settings["adaptation.base"] = codec.identifierString
        }
        let manifest = ArchiveManifest(writerVersion: "nacre \(NacreVersion.string)", modelID: digest.hex,
                                       modelSHA256: digest, codecSettings: settings)
        // Replacing: seal under a temporary name first, so the old archive stays until the new one is whole.
        let sealPath = replacing ? Self.replacementPath(for: output) : output
        let writer: ArchiveWriter
        do { writer = try ArchiveWriter(path: sealPath, manifest: manifest, model: decoderBytes) } catch { throw CLIError(error) }

        var packed: [PackedImageJSON] = []
        for (number, input) in inputs.enumerated() {
            show("packing \(number + 1)/\(inputs.count) \(input.name)")
            do {
                let image = prepared.isEmpty
                    ? try packer.pack(pngBytes: try CodecFiles.readBytes(input.path), name: Array(input.name.utf8)).image
                    : prepared[number]
                let location = try writer.append(image)
                packed.append(PackedImageJSON(record: image.record, latentBytes: image.latentByteCount, frameOffset: location.offset))
            } catch {
                writer.abort()
                if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                throw CodecCommandError("\(input.path): \(error)")
            }
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        do {
            _ = try writer.seal()
            if replacing { try Self.replace(output, with: sealPath) }
        } catch {
            throw CLIError(error)
        }
        try report(packed)
    }

    /// What became of the denoiser with an adapted decoder, for the adaptation's report line.
    private static func denoiserVerdict(_ outcome: BatchAdapter.Outcome) -> String {
        guard let gain = outcome.denoiserGain else { return "" }
        return outcome.denoiser != nil
            ? String(format: "; the denoiser still gains %+.3f dB through it and is kept", gain)
            : String(format: "; the denoiser gains %+.3f dB through it and is left out", gain)
    }

    /// Prints the summary line (or JSON), with totals read back from the sealed archive's index.
    private func report(_ packed: [PackedImageJSON]) throws {
        let totals: ArchiveStatistics
        do { totals = ArchiveStatistics(reader: try ArchiveReader.open(path: output)) } catch { throw CLIError(error) }
        let finite = packed.compactMap(\.psnr)
        let meanPSNR = finite.isEmpty ? Double.nan : finite.reduce(0, +) / Double(finite.count)
        if json {
            print(try CLIError.jsonString(PackReportJSON(archive: output, images: packed, totals: totals, meanPSNR: meanPSNR.isNaN ? nil : meanPSNR)))
            return
        }
        print(String(format: "packed %d images, %.2f MP into %@: latents %llu B, decoder %llu B; "
                     + "%.4f bpp (latents), %.4f bpp (whole archive); mean PSNR %.2f dB",
                     totals.imageCount, Double(totals.pixelCount) / 1e6, output, totals.latentBytes, totals.decoderBytes,
                     totals.latentBitsPerPixel, totals.archiveBitsPerPixel, meanPSNR))
    }

    /// A free hidden name next to `path` to seal a replacement under.
    private static func replacementPath(for path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        let name = ".\((path as NSString).lastPathComponent).replacing-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name)
    }

    /// Renames the sealed `replacement` over `path` (atomic) and makes the rename durable.
    private static func replace(_ path: String, with replacement: String) throws {
        guard rename(replacement, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(replacement)
            throw CodecCommandError("replacing \(path) failed: \(reason); the old archive is unchanged.")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let descriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 { _ = fsync(descriptor); close(descriptor) }
    }
}

/// One packed image in `nacre pack --json`.
struct PackedImageJSON: Encodable {
    var name: String
    var width: UInt32
    var height: UInt32
    var quality: Float
    /// nil (left out of the JSON) when infinite (a lossless result).
    var psnr: Double?
    /// nil (left out of the JSON) when not measured: a side under 161 px.
    var msssim: Double?
    var latentBytes: Int
    var frameOffset: UInt64

    init(record: ImageRecord, latentBytes: Int, frameOffset: UInt64) {
        name = record.displayName
        width = record.width
        height = record.height
        quality = record.quality
        psnr = record.psnr.isFinite ? Double(record.psnr) : nil
        msssim = record.msssim.isNaN ? nil : Double(record.msssim)
        self.latentBytes = latentBytes
        self.frameOffset = frameOffset
    }
}

/// The `--json` shape of `nacre pack`.
struct PackReportJSON: Encodable {
    var archive: String
    var images: [PackedImageJSON]
    var totals: ArchiveStatistics
    /// Mean of the finite per-image PSNRs; nil (left out) when there are none.
    var meanPSNR: Double?
}
