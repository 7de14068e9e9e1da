import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage
#if canImport(Glibc)
import Glibc
#endif

/// `nacre train-denoiser`: trains the restore-time post-filter for one coded model.
struct TrainDenoiserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-denoiser",
        abstract: "Train a denoiser (post-filter applied on restore) for a coded model.",
        discussion: """
            Crops of the training photos are coded and decoded once with --model at random qualities 1…100 and \
            cached (--cache); every 8th photo is held back, its crops coded at the 8 trained levels, to report the \
            PSNR gain per quality. Writes a checkpoint (OUT.ckpt) at every validation and, at the end, the denoiser \
            block (OUT) as it was at its best held-back validation of this run, its start included; continue with --resume. --init fine-tunes an existing block (e.g. the previous model's) for a new decoder. Ctrl-C or SIGTERM checkpoints and stops. Never train on Kodak.
            """)

    @Option(help: "Full coded model (encoder + decoder) whose decoder the denoiser follows.") var model: String
    @Option(parsing: .upToNextOption, help: "Folders (or files) of PNG training photos.") var data: [String]
    @Option(help: "Where to write the denoiser block.") var out: String
    @Option(help: "Pair cache prefix (default OUT.pairs); reused when it was made with the same decoder.") var cache: String?
    @Flag(help: "Continue from OUT.ckpt.") var resume = false
    @Option(help: "Steps of the learning-rate schedule, and the stopping point.") var steps = 6000
    @Option(help: "Stop after this many seconds of training in this invocation.") var timeBudget: Double?
    @Option(name: .customLong("init"),
            help: "Start from this denoiser block (e.g. the previous model's): its shape, weights and weight grid, fine-tuned for --model's decoder (--channels, --convolutions and --weight-levels are then ignored).")
    var initialDenoiser: String?
    @Flag(help: "Stop (checkpointing) when the parent process dies, e.g. a daemon that started this run was killed.")
    var stopWhenOrphaned = false
    @Option(help: "Hidden channels.") var channels = 16
    @Option(help: "3×3 convolutions.") var convolutions = 4
    @Option(help: "Patches per step.") var batch = 16
    @Option(help: "Patch side in pixels (even).") var patch = 128
    @Option(help: "Peak learning rate.") var lr = 2e-3
    @Option(help: "Crops per training photo.") var cropsPerImage = 24
    @Option(help: "Training crops are coded at quality 1 + 99·u^E, u uniform in 0…1: E > 1 draws more low qualities (a new --cache).")
    var qualityExponent = 1.0
    @Flag(help: "Weigh each patch's error by 1 / its undenoised error (optimise the PSNR gain of every patch alike, not the absolute error).")
    var relativeLoss = false
    @Option(help: "Stored weight grid: each output channel's largest weight becomes ±N (1…127, default 127); a coarser grid compresses in the archive.")
    var weightLevels: Int?
    @Option(help: "Crop side in pixels (coded as one tile).") var cropSide = 256
    @Option(help: "Steps between validations.") var validateEvery = 1000
    @Option(help: "Compute threads.") var threads: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func validate() throws {
        guard (1...Denoiser.maximumWeightLevels).contains(weightLevels ?? 1) else { throw ValidationError("--weight-levels must be in 1…127") }
        guard qualityExponent > 0, qualityExponent.isFinite else { throw ValidationError("--quality-exponent must be > 0") }
    }

    func run() throws {
        let engine = try Engine(threads: threads)
        let codec = try CodecModel.load(contentsOfFile: model, engine: engine)
        guard codec.canEncode else { throw CodecCommandError("\(model) is a decoder-only model; pass the full model (from `nacre export-model`)") }
        var paths: [String] = []
        for folder in data { paths += try CodecFiles.pngPaths(in: folder) }
        guard paths.count >= 2 else { throw CodecCommandError("need at least 2 training photos (1 is held back for validation); found \(paths.count)") }
        if paths.contains(where: { $0.lowercased().contains("kodak") }) {
            throw CodecCommandError("a training path names Kodak, the test set; train on other photos")
        }
        let held = Set(stride(from: 7, to: paths.count, by: 8).map { paths[$0] } + (paths.count < 8 ? [paths.last!] : []))
        let prefix = cache ?? out + ".pairs"
        let levels = codec.configuration.levelCount
        let validationQualities = (0..<8).map { 1 + 99 * Double($0) / 7 }
        let trainingPairs = try pairs(prefix + ".train", codec: codec, images: paths.filter { !held.contains($0) },
                                      crops: cropsPerImage, seed: seed) { rng in
            1 + (99 * pow(Double(rng.next() % 9901) / 9900, qualityExponent) * 100).rounded() / 100
        }
        var cycle = 0
        let validationPairs = try pairs(prefix + ".validation", codec: codec, images: paths.filter { held.contains($0) },
                                        crops: validationQualities.count, seed: seed &+ 1) { _ in
            defer { cycle += 1 }
            return validationQualities[cycle % validationQualities.count]
        }
        log("pairs: \(trainingPairs.count) training crops from \(paths.count - held.count) photos, \(validationPairs.count) held-back crops from \(held.count) photos (\(levels) model levels)")

        let checkpointPath = out + ".ckpt"
        let checkpoint = resume ? try WeightsFile.read(from: checkpointPath) : nil
        let initial = try initialDenoiser.map { try Denoiser.load(contentsOfFile: $0, engine: engine) }
        let architecture = try checkpoint.map { try DenoiserTrainer.describe($0).architecture } ?? initial?.architecture
            ?? DenoiserArchitecture(hiddenChannels: channels, convolutions: convolutions)
        let denoiser = try Denoiser(architecture: architecture, decoderIdentifier: codec.identifier, engine: engine, seed: seed)
        denoiser.weightLevels = initial?.weightLevels ?? weightLevels ?? Denoiser.maximumWeightLevels
        if let initial, checkpoint == nil {
            for (parameter, source) in zip(denoiser.parameters, initial.parameters) { try parameter.setValues(source.values()) }
            log("starting from \(initialDenoiser!) (trained for decoder \(initial.decoderIdentifierString))")
        }
        let trainer = try DenoiserTrainer(denoiser: denoiser, training: trainingPairs,
                                          options: .init(steps: steps, batchSize: batch, patchSide: patch, learningRate: lr, seed: seed,
                                                         relativeLoss: relativeLoss))
        if let checkpoint {
            try trainer.resume(from: checkpoint)
            log("resumed at step \(trainer.step) from \(checkpointPath)")
        }
        log("training \(architecture) (\(architecture.parameterCount) parameters, \(String(format: "%.2f", architecture.multiplyAccumulatesPerPixel / 1000)) kMAC/px) for decoder \(codec.identifierString)")
        let stop = StopRequest()
        let parent = getppid()
        let start = Date(), secondsBefore = trainer.trainedSeconds
        var window = 0.0, windowSteps = 0, windowStart = Date()
        var validation: DenoiserTrainer.Validation?
        // The block at its best validation so far: a fine-tuned block can peak early (session 8:
        // +0.132 dB held back at 10,000 steps, +0.115 at 18,101).
        var best: (validation: DenoiserTrainer.Validation, step: Int, block: [UInt8])?
        let keepIfBest = { (latest: DenoiserTrainer.Validation) in
            guard best.map({ latest.meanGain > $0.validation.meanGain }) ?? true else { return }
            denoiser.info = ["source.model": codec.identifierString, "training.steps": "\(trainer.step)",
                             "training.pairs": "\(trainingPairs.count)",
                             "validation.gainDB": String(format: "%.3f", latest.meanGain),
                             "training.qualityExponent": "\(qualityExponent)", "training.loss": relativeLoss ? "relative" : "mse"]
            if let initial { denoiser.info["training.initialDecoder"] = initial.decoderIdentifierString }
            best = (latest, trainer.step, denoiser.serialized())
        }
        // The starting point is a candidate too: a resumed or `--init` block that training only
        // makes worse is kept as it was (a fresh block starts as the identity, gain 0).
        let start0 = try trainer.validate(on: validationPairs)
        log("validation @\(trainer.step) (start): \(start0.summary)")
        keepIfBest(start0)
        let checkpointNow = {
            validation = try validateAndCheckpoint(trainer, on: validationPairs, to: checkpointPath,
                                                   trainedSeconds: secondsBefore + Date().timeIntervalSince(start))
            keepIfBest(validation!)
        }
        while trainer.step < steps && !stop.requested && !(stopWhenOrphaned && getppid() != parent) {
            if let timeBudget, Date().timeIntervalSince(start) >= timeBudget { break }
            window += try trainer.trainStep()
            windowSteps += 1
            if windowSteps == 50 {
                let rate = Double(windowSteps) / Date().timeIntervalSince(windowStart)
                log(String(format: "step %d  loss %.3f (MSE, 8-bit²)  %.2f steps/s", trainer.step, window / Double(windowSteps), rate))
                window = 0; windowSteps = 0; windowStart = Date()
            }
            if trainer.step % validateEvery == 0 { try checkpointNow() }
        }
        if validation == nil || trainer.step % validateEvery != 0 { try checkpointNow() }
        let kept = best!
        try CodecFiles.writeAtomically(kept.block, to: out)
        let which = kept.step == trainer.step ? "the last" : "the best held-back validation of this run, its start included; the last, step \(trainer.step), had \(String(format: "%+.3f dB", validation!.meanGain))"
        print("denoiser \(out): \(kept.block.count) bytes, step \(kept.step) (\(which)), held-back gain \(kept.validation.summary); checkpoint \(checkpointPath) (step \(trainer.step))")
    }

    /// Validates, then checkpoints with the seconds trained so far (across resumptions).
    private func validateAndCheckpoint(_ trainer: DenoiserTrainer, on pairs: [DenoiserTrainingPair], to path: String,
                                       trainedSeconds: Double) throws -> DenoiserTrainer.Validation {
        trainer.trainedSeconds = trainedSeconds
        let validation = try trainer.validate(on: pairs)
        log("validation @\(trainer.step): \(validation.summary)")
        try trainer.checkpoint().write(to: path)
        return validation
    }

    /// The pairs cached at `path` for this decoder, or made now (and cached).
    private func pairs(_ path: String, codec: CodecModel, images: [String], crops: Int, seed: UInt64,
                       quality: (inout SeededRandom) -> Double) throws -> [DenoiserTrainingPair] {
        if let bytes = FileManager.default.contents(atPath: path),
           let cached = DenoiserTrainingPair.pairs(fromCache: Array(bytes), decoderIdentifier: codec.identifier) {
            return cached
        }
        let pixels = try images.map { try CodecFiles.readPNG($0) }
        let total = images.count * crops
        let made = try DenoiserTrainingPair.make(model: codec, images: pixels, cropsPerImage: crops, side: cropSide, seed: seed,
                                                 quality: quality) { count in
            if count % 50 == 0 || count == total { log("coding crops: \(count)/\(total)") }
        }
        try CodecFiles.writeAtomically(DenoiserTrainingPair.cacheBytes(made, decoderIdentifier: codec.identifier), to: path)
        return made
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
