import Foundation
import Logging
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
import Synchronization

/// Checks each image of the open batch as soon as it is appended, on a thread under SCHED_IDLE,
/// so that most of a batch's verification is done by the time it is sealed.
///
/// Why: encoding leaves about a quarter of both cores idle (its single-threaded steps: PNG
/// decoding, entropy coding, MS-SSIM), while verification after the seal held up the whole
/// pipeline (measured: 1.5 s for 500 photos, on top of 29 s of encoding; BENCHMARKS.md).
///
/// An image passes its early check when its bitstream entropy-decodes to the latents its PSNR
/// was measured on and, where the verify mode asks for it, decodes to that PSNR within the
/// tolerance. What passed is recorded as the digest of the image's frame content
/// (``ArchiveImage/contentDigest``). After the seal, ``BatchVerifier`` reads every frame back
/// from the sealed file and compares its digest with that one: the same content decodes to the
/// same latents and pixels. An image whose early check failed, had not run by the seal, or was
/// not queued (queue full, image too large to hold) is decoded after the seal as before.
/// Outcomes live in memory only: after a restart a sealed batch is verified in full.
final class EarlyVerifier: Sendable {
    /// An image that passed its early check.
    struct Outcome: Sendable {
        /// ``ArchiveImage/contentDigest`` of the image that was checked.
        var contentDigest: SHA256Digest
        /// Whether it was also decoded to pixels (its PSNR held).
        var pixelsChecked: Bool
        /// The PSNR tolerance its pixel check used: a reload may tighten `verify.tolerance_db`
        /// before the seal, and then the pixel check does not stand.
        var toleranceDB: Double = 0

        /// Whether its pixel check stands for a verification with `toleranceDB`.
        func pixelsStand(toleranceDB current: Double) -> Bool { pixelsChecked && toleranceDB <= current }
    }

    /// One appended image to check.
    struct Job: Sendable {
        var archiveID: String
        var image: ArchiveImage
        /// The ``LatentDigest`` its PSNR was measured on at encode.
        var latentDigest: SHA256Digest
        /// The original's pixels, when its PSNR is to be checked too.
        var reference: PixelBuffer?
        var toleranceDB: Double
    }

    /// Queued jobs at most (each holds a bitstream, tens of kilobytes).
    static let maxPendingJobs = 1024
    /// Queued pixel checks at most: each holds an original's pixels.
    static let maxPendingPixelChecks = 4
    /// Larger images are decoded to pixels after the seal only (memory: original and decoded).
    static let maxPixelCheckPixels = 4 << 20

    private struct State {
        var pending = 0
        var pendingPixelChecks = 0
        /// Batches whose outcomes were taken: their remaining jobs are skipped.
        var closed: Set<String> = []
        var outcomes: [String: [[UInt8]: Outcome]] = [:]
    }

    /// The decoder for pixel checks: its own engine (one thread) and model, made on first use
    /// and touched only on the thread (the encoder's are not thread-safe).
    private final class PixelDecoder: @unchecked Sendable {
        var codec: CodecModel?
    }

    private let thread: WorkerThread
    private let state = Mutex(State())
    private let codec: Unchecked<CodecModel>
    private let modelFrame: [UInt8]
    private let pixelDecoder = PixelDecoder()
    private let logger: Logger

    /// - Parameters:
    ///   - codec: the encoder's model; only its entropy decoding (integer code on immutable
    ///     tables) is used here, which is safe while it encodes on another thread.
    ///   - modelFrame: what the batch archives carry as their model frame (the pixel checks
    ///     decode with a model loaded from it, as after the seal).
    init(codec: CodecModel, modelFrame: [UInt8], logger: Logger) {
        thread = WorkerThread(name: "nacre.verify.early", background: true)
        self.codec = Unchecked(codec)
        self.modelFrame = modelFrame
        self.logger = logger
    }

    deinit { thread.finish() }

    /// Queues `job` (not when the queue is full or its batch was taken; its pixels are dropped,
    /// and only its latents checked, when too many pixel checks wait or the image is too large).
    func submit(_ job: Job) {
        var job = job
        let queued = state.withLock { state -> Bool in
            guard !state.closed.contains(job.archiveID), state.pending < Self.maxPendingJobs else { return false }
            if let reference = job.reference,
               state.pendingPixelChecks >= Self.maxPendingPixelChecks || reference.width * reference.height > Self.maxPixelCheckPixels {
                job.reference = nil
            }
            state.pending += 1
            if job.reference != nil { state.pendingPixelChecks += 1 }
            return true
        }
        guard queued else { return }
        let queuedJob = job
        thread.async { [self] in run(queuedJob) }
    }

    /// The outcomes of the batch `archiveID`'s images that passed (by name); its jobs not run
    /// yet are skipped. Call once, when the batch is sealed.
    func take(archiveID: String) -> [[UInt8]: Outcome] {
        state.withLock { state in
            state.closed.insert(archiveID)
            if state.pending == 0 { state.closed = [archiveID] }  // earlier batches have no job left
            return state.outcomes.removeValue(forKey: archiveID) ?? [:]
        }
    }

    /// Blocks until the jobs queued so far have run (for tests).
    func waitForQueuedChecks() throws {
        let done = DispatchSemaphore(value: 0)
        thread.async { done.signal() }
        guard done.wait(timeout: .now() + 600) == .success else {
            throw PipelineError(.verification, "the early verifier's queue did not drain in 10 minutes")
        }
    }

    /// Runs `job` here, on the caller's thread: what the queue runs, exposed for tests.
    func check(_ job: Job) -> Outcome? {
        do {
            if let problem = try BatchVerifier.latentProblem(job.image, codec: codec.value, latentDigest: job.latentDigest) {
                reportFailure(job, problem)
                return nil
            }
            guard let reference = job.reference else {
                return Outcome(contentDigest: job.image.contentDigest, pixelsChecked: false, toleranceDB: job.toleranceDB)
            }
            if pixelDecoder.codec == nil {
                pixelDecoder.codec = try ImageRestorer.models(fromModelFrame: modelFrame, engine: try Engine(threads: 1),
                                                              includingDenoiser: false).codec
            }
            if let problem = try BatchVerifier.pixelProblem(job.image, reference: reference, codec: pixelDecoder.codec!,
                                                            toleranceDB: job.toleranceDB) {
                reportFailure(job, problem)
                return nil
            }
            return Outcome(contentDigest: job.image.contentDigest, pixelsChecked: true, toleranceDB: job.toleranceDB)
        } catch {
            reportFailure(job, "\(error)")
            return nil
        }
    }

    private func run(_ job: Job) {
        let skip = state.withLock { $0.closed.contains(job.archiveID) }
        let outcome = skip ? nil : check(job)
        state.withLock { state in
            state.pending -= 1
            if job.reference != nil { state.pendingPixelChecks -= 1 }
            if let outcome, !state.closed.contains(job.archiveID) {
                state.outcomes[job.archiveID, default: [:]][job.image.record.name] = outcome
            }
        }
    }

    private func reportFailure(_ job: Job, _ problem: String) {
        logger.warning("early check failed; the image is verified again after its batch is sealed", metadata: [
            "archive": "\(job.archiveID)", "name": "\(job.image.record.displayName)", "problem": "\(problem)"])
    }
}
