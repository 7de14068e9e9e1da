import Dispatch
import Foundation
import Logging
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
import Synchronization

/// Runs the pipeline's CPU-heavy work (PNG decode, encode, archive writing, verification) on
/// one dedicated thread, off Swift's cooperative pool, so the control server's handlers stay
/// responsive while an image encodes.
///
/// The codec model and the open ``ArchiveWriter`` are not thread-safe; they live in a
/// ``CodecContext`` that only code running on the queue touches.
final class CodecWorker: @unchecked Sendable {
    /// Path of the coded model in use.
    let modelPath: String
    /// Catalog id of the model: lower-case hex SHA-256 of the model frame archives carry (its
    /// decoder bytes, with the denoiser block when one is stored).
    let modelID: String
    /// Checks the open batch's images while the next ones encode.
    let early: EarlyVerifier
    private let queue: WorkerThread
    /// Measures each image (PSNR, MS-SSIM, digests) while the next one encodes: that work is
    /// single-threaded and needs no model, and the encoder leaves part of both cores idle.
    private let measurer = WorkerThread(name: "nacre.measure", background: true)
    private let context: CodecContext

    private init(queue: WorkerThread, context: CodecContext, logger: Logger) {
        self.queue = queue
        self.context = context
        modelPath = context.modelPath
        modelID = context.modelDigest.hex
        early = EarlyVerifier(codec: context.codec, modelFrame: context.modelFrame, logger: logger)
    }

    /// Loads the model on a new queue. Throws ``PipelineError`` `.model` when it cannot be read
    /// or cannot encode, `.stopped` when `stop` is raised first (the load is then abandoned; it
    /// cannot be interrupted, and the process is on its way out).
    /// With `storesModelDenoiser`, archives carry the model's denoiser when it has one
    /// (``ModelDenoiser``: `NAME.nxdn` beside the model file, or the built-in one).
    static func start(modelPath: String, threads: Int, storesModelDenoiser: Bool, stop: StopFlag,
                      logger: Logger) async throws -> CodecWorker {
        let queue = WorkerThread(name: "nacre.codec")
        let outcome = LoadOutcome()
        queue.async {
            outcome.set(Result { () throws -> Unchecked<CodecContext> in
                do {
                let engine = try Engine(threads: threads > 0 ? threads : nil)
                let codec = try CodecModel.load(contentsOfFile: modelPath, engine: engine)
                guard codec.canEncode else {
                    throw PipelineError(.model, "\(modelPath) is a decoder-only model; the daemon needs the full model written by `nacre export-model --out`")
                }
                var denoiser: [UInt8]?
                if storesModelDenoiser {
                    do {
                        denoiser = try ModelDenoiser.locate(forModelAt: modelPath, decoderIdentifier: codec.identifier,
                                                            engine: engine)?.denoiser.serialized()
                    } catch {
                        throw PipelineError(.model, "the model's denoiser cannot be loaded: \(error); reinstall nacre, or set encode.denoiser: false")
                    }
                }
                    return Unchecked(CodecContext(engine: engine, codec: codec, modelPath: modelPath, denoiser: denoiser))
                } catch let error as PipelineError {
                    throw error
                } catch {
                    throw PipelineError(.model, "cannot load the encode model \(modelPath): \(error)")
                }
            })
        }
        while true {
            if let result = outcome.value { return CodecWorker(queue: queue, context: try result.get().value, logger: logger) }
            if stop.isRaised { throw PipelineError(.stopped, "stopping before the model finished loading") }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs `body` on the worker's queue with the context and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable (CodecContext) throws -> T) async throws -> T {
        let context = Unchecked(self.context)
        return try await queue.run { try body(context.value) }
    }

    /// Queues `body` on the worker's queue now and returns a handle to its result: a job
    /// submitted later runs after it.
    func submit<T: Sendable>(_ body: @escaping @Sendable (CodecContext) throws -> T) -> WorkerThread.Job<T> {
        let context = Unchecked(self.context)
        return queue.submit { try body(context.value) }
    }

    /// Finishes packing `reconstruction` on the measuring thread (under SCHED_IDLE: it takes the
    /// CPU time the encoder leaves; when the encoder waits for it, that is all of it).
    /// `inline`: on the codec thread instead, at normal priority, after the jobs queued there.
    func measure(_ reconstruction: ImagePacker.Reconstruction, name: [UInt8], inline: Bool = false) async throws -> ImagePacker.Packed {
        let job: @Sendable () throws -> ImagePacker.Packed = {
            try CodecContext.asBadInput { try ImagePacker.measure(reconstruction, name: name) }
        }
        return try await (inline ? queue : measurer).run(job)
    }

    deinit {
        queue.finish()
        measurer.finish()
    }
}

/// The model load's result, handed from the queue to the waiting task.
private final class LoadOutcome: Sendable {
    private let result = Mutex<Result<Unchecked<CodecContext>, any Error>?>(nil)
    func set(_ value: Result<Unchecked<CodecContext>, any Error>) { result.withLock { $0 = value } }
    var value: Result<Unchecked<CodecContext>, any Error>? { result.withLock { $0 } }
}

/// Carries a value across an isolation boundary that is only used on the worker's queue, or (like
/// the entropy decoder) is safe to share.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// What only the worker queue touches: the model and the open archive writer.
final class CodecContext {
    let engine: Engine
    let codec: CodecModel
    let modelPath: String
    /// What every archive's model frame stores: the decoder bytes, with the denoiser block when
    /// there is one (`ModelFrameContent`).
    let modelFrame: [UInt8]
    /// SHA-256 of `modelFrame`: the archives' and the catalog's model id.
    let modelDigest: SHA256Digest
    /// The open batch's archive, if any.
    private(set) var writer: ArchiveWriter?
    /// When the last image's coding ended (the daemon logs how long the thread then idled).
    var lastCodingEnd: ContinuousClock.Instant?
    /// The open batch's images, when it was started `keepingImages` (for adaptation).
    private var appendedImages: [ArchiveImage]?
    /// The open batch's writer version and caller settings, to write it again after adaptation.
    private var openedWith: (String, [String: String])?

    init(engine: Engine, codec: CodecModel, modelPath: String, denoiser: [UInt8]? = nil) {
        self.engine = engine
        self.codec = codec
        self.modelPath = modelPath
        modelFrame = ModelFrameContent(decoder: codec.decoderBytes(), denoiser: denoiser).encoded()
        modelDigest = SHA256.hash(modelFrame)
    }

    /// Reads, decodes and encodes the claimed PNG at `path`, and decodes the result once: the
    /// part of packing that needs the model. ``CodecWorker/measure(_:name:)`` finishes it. Bad
    /// input throws ``PipelineError`` `.badInput`.
    func reconstruct(path: String, rate: ImagePacker.Rate, limits: ImageLimits) throws -> ImagePacker.Reconstruction {
        let bytes = try ProcessingFolder.read(path, limit: limits.maxFileBytes)
        try Self.checkHeader(bytes, limits: limits)
        return try Self.asBadInput {
            try ImagePacker(codec: codec, rate: rate).reconstruct(pngBytes: bytes, decoded: try PNGReader.decode(bytes))
        }
    }

    /// Reads and packs one claimed file in one go (``reconstruct(path:rate:limits:)`` then the
    /// measurement); also returns its decoded pixels.
    func pack(path: String, name: [UInt8], rate: ImagePacker.Rate, limits: ImageLimits) throws
        -> (packed: ImagePacker.Packed, pixels: PixelBuffer) {
        let reconstruction = try reconstruct(path: path, rate: rate, limits: limits)
        return (try Self.asBadInput { try ImagePacker.measure(reconstruction, name: name) }, reconstruction.decoded.pixels)
    }

    /// Runs `body`, turning the image and codec errors of a file that cannot be packed into
    /// ``PipelineError`` `.badInput` (the file is quarantined).
    static func asBadInput<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ImageError {
            throw PipelineError.badInput(reason(error.code.description), error.message)
        } catch let error as CodecError {
            throw PipelineError.badInput("encode_failed", "the codec could not encode the image: \(error)")
        }
    }

    /// Starts the batch archive at `path` (the model frame is compressed here, which takes a
    /// moment for a large decoder).
    /// `keepingImages`: the appended images are also held in memory, for ``adaptOpenBatch``.
    func openWriter(path: String, writerVersion: String, settings: [String: String], keepingImages: Bool = false) throws {
        abortWriter()
        try startWriter(path: path, writerVersion: writerVersion, settings: settings.merging(codecSettings) { own, _ in own },
                        frame: modelFrame, digest: modelDigest)
        appendedImages = keepingImages ? [] : nil
        openedWith = (writerVersion, settings)
    }

    /// `frame`: the model frame (decoder, or a decoder and denoiser bundle); `digest` its SHA-256.
    private func startWriter(path: String, writerVersion: String, settings: [String: String], frame: [UInt8], digest: SHA256Digest) throws {
        let manifest = ArchiveManifest(writerVersion: writerVersion, modelID: digest.hex, modelSHA256: digest, codecSettings: settings)
        do {
            writer = try ArchiveWriter(path: path, manifest: manifest, model: frame)
        } catch {
            throw PipelineError(.archive, "cannot start archive \(path): \(error)")
        }
    }

    func append(_ image: ArchiveImage) throws -> FrameLocation {
        guard let writer else { throw PipelineError(.archive, "no open archive to append \(image.record.displayName) to") }
        do {
            let location = try writer.append(image)
            appendedImages?.append(image)
            return location
        } catch {
            throw PipelineError(.archive, "appending \(image.record.displayName): \(error)")
        }
    }

    /// What a per-collection adaptation of the open batch did.
    struct BatchAdaptation: Sendable {
        var steps: Int
        var seconds: Double
        /// How many of the batch's images were trained on.
        var trainedOn: Int
        /// Mean PSNR of the batch's images with the base and the adapted decoder.
        var psnrBefore: Double
        var psnrAfter: Double
        /// Catalog id of the adapted model frame (SHA-256 hex of its bytes), nil when the adapted
        /// decoder did not raise the batch's mean PSNR and the batch keeps the base decoder.
        var modelID: String?
        /// Bytes of the model frame the archive carries.
        var decoderBytes: Int
        /// Whether the adapted archive carries the base denoiser (bound to the adapted decoder),
        /// and how much it raised the batch's mean PSNR through that decoder.
        var keepsDenoiser = false
        var denoiserGain: Double?
    }

    /// Per-collection adaptation (``BatchAdapter``): fine-tunes the decoder on up to
    /// `adaptation.images` images spread over the open batch (originals read from
    /// `claimedPaths`) for at most `adaptation.seconds`, and measures the whole batch with it.
    /// If the batch's mean PSNR rises, its archive is written again with the adapted decoder and
    /// the new measurements (same latents, so the latent digests stand); otherwise the archive
    /// is left as it is. The open batch must have been started `keepingImages`.
    func adaptOpenBatch(claimedPaths: [[UInt8]: String], adaptation: DaemonConfig.Adaptation, stop: StopFlag) throws -> BatchAdaptation {
        guard let writer, let images = appendedImages, let (writerVersion, settings) = openedWith else {
            throw PipelineError(.archive, "no open archive kept in memory to adapt")
        }
        let adapter = BatchAdapter(seconds: adaptation.seconds, sampleLimit: adaptation.images)
        let baseDenoiser = try ModelFrameContent(blob: modelFrame).denoiser.map { try Denoiser(serialized: $0, engine: engine) }
        let result = try adapter.adapt(codec, images: images, denoiser: baseDenoiser, original: { index in
            let image = images[index]
            guard let path = claimedPaths[image.record.name] else {
                throw PipelineError(.archive, "the original of \(image.record.displayName) is not in the processing folder")
            }
            let bytes = try ProcessingFolder.read(path, limit: Int.max)
            return (bytes, try PNGReader.decode(bytes))
        }, shouldStop: { stop.isRaised })
        var outcome = BatchAdaptation(steps: result.training.steps, seconds: result.training.seconds, trainedOn: result.trainedOn,
                                      psnrBefore: result.meanPSNRBefore, psnrAfter: result.meanPSNRAfter,
                                      modelID: nil, decoderBytes: modelFrame.count)
        if stop.isRaised { throw PipelineError(.stopped, "stopping; the batch is parked before its adaptation is judged") }
        guard result.isAdapted else { return outcome }

        // The same images again, into a new archive under the same name that carries the adapted
        // decoder, and the denoiser if it still helps that decoder.
        let adapted = result.decoder
        let adaptedFrame = ModelFrameContent(decoder: adapted.decoderBytes(), denoiser: result.denoiser?.serialized()).encoded()
        let digest = SHA256.hash(adaptedFrame)
        let path = writer.path
        abortWriter()
        var adaptedSettings = settings.merging(codecSettings) { own, _ in own }
        adaptedSettings["codec.modelIdentifier"] = adapted.identifierString
        adaptedSettings["adaptation.base"] = codec.identifierString
        adaptedSettings["adaptation.seconds"] = String(format: "%.1f", result.training.seconds)
        adaptedSettings["adaptation.steps"] = "\(result.training.steps)"
        if let gain = result.denoiserGain { adaptedSettings["adaptation.denoiserGainDB"] = String(format: "%.3f", gain) }
        try startWriter(path: path, writerVersion: writerVersion, settings: adaptedSettings, frame: adaptedFrame, digest: digest)
        appendedImages = []
        for image in result.images { _ = try append(image) }
        outcome.modelID = digest.hex
        outcome.decoderBytes = adaptedFrame.count
        outcome.keepsDenoiser = result.denoiser != nil
        outcome.denoiserGain = result.denoiserGain
        return outcome
    }

    /// Seals the open archive: index, trailer, fsync, rename to its final name, fsync of the folder.
    func seal() throws -> ArchiveWriter.SealedArchive {
        guard let writer else { throw PipelineError(.archive, "no open archive to seal") }
        self.writer = nil
        appendedImages = nil
        do { return try writer.seal() } catch {
            writer.abort()
            throw PipelineError(.archive, "sealing \(writer.path): \(error)")
        }
    }

    /// Drops the open archive and its temporary file.
    func abortWriter() {
        writer?.abort()
        writer = nil
        appendedImages = nil
    }

    /// The codec settings recorded in each manifest, as `nacre pack` records them.
    private var codecSettings: [String: String] {
        ["codec.N": "\(codec.configuration.hiddenChannels)", "codec.M": "\(codec.configuration.latentChannels)",
         "codec.levels": "\(codec.configuration.levelCount)", "codec.modelIdentifier": codec.identifierString]
    }

    /// Most chunks other than IDAT a PNG may have. Real files carry a handful of metadata
    /// chunks; a flood of them costs the decoder time and memory for nothing.
    static let maxAncillaryChunks = 1024

    /// Checks what the decoder does not, before anything is allocated: the configured pixel
    /// limits against the IHDR (the decoder applies its built-in ones), and chunk floods. Leaves
    /// every other verdict (signature, truncation, CRCs) to the decoder.
    static func checkHeader(_ bytes: [UInt8], limits: ImageLimits) throws(PipelineError) {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 24, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return }
        func word(_ at: Int) -> UInt64 { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt64($1) } }
        let (width, height) = (word(16), word(20))
        if width > 0, height > 0,
           width > UInt64(limits.maxWidth) || height > UInt64(limits.maxHeight) || width * height > UInt64(limits.maxPixels) {
            throw .badInput("too_large", "the PNG header declares \(width)×\(height) pixels, over the limit of \(limits.maxWidth)×\(limits.maxHeight) and \(limits.maxPixels) pixels (config `limits`)")
        }
        var offset = 8
        var ancillary = 0
        let idat = Array("IDAT".utf8)
        while offset + 12 <= bytes.count {
            let length = Int(word(offset))
            if !bytes[(offset + 4)..<(offset + 8)].elementsEqual(idat) {
                ancillary += 1
                if ancillary > maxAncillaryChunks {
                    throw .badInput("chunk_flood", "the PNG has more than \(maxAncillaryChunks) chunks besides its image data; real images carry a handful")
                }
            }
            guard length <= bytes.count else { return }
            offset += 12 + length
        }
    }

    /// Whether a file name has control characters (a newline, a tab, ...): such names break
    /// line-oriented tools, logs and `nacre ctl restore NAME`, so the file is quarantined.
    static func hasControlCharacters(_ name: [UInt8]) -> Bool {
        name.contains { $0 < 0x20 || $0 == 0x7F }
    }

    /// `notPNG` → `not_png`: quarantine reason codes are snake_case.
    static func reason(_ code: String) -> String {
        var result = ""
        var previousIsLower = false
        for character in code {
            if character.isUppercase && previousIsLower { result += "_" }
            result += character.lowercased()
            previousIsLower = character.isLowercase
        }
        return result
    }
}
