import ArgumentParser
import Dispatch
import Foundation
import Logging
import NacreCodec
import NacreEngine
import Synchronization

/// `nacre train`: trains the codec's model on folders of photos, resumably.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the learned codec on folders of PNG photos (resumable; Ctrl-C checkpoints and stops).",
        discussion: """
            Writes a checkpoint (model, optimizer state, settings) to --checkpoint every few minutes and at the end,
            and the trained float model to --out. Continue a run with the same command plus --resume.
            Never train on Kodak: it is the test set.
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "Folders (or files) of PNG training images, searched recursively.")
    var data: [String]
    @Option(name: .long, help: "Where to write the trained float model.")
    var out: String
    @Option(name: .long, help: "Checkpoint path (default: OUT.ckpt).")
    var checkpoint: String?
    @Flag(name: .long, help: "Continue the run saved in the checkpoint.")
    var resume = false
    @Option(name: .customLong("init"), help: "Start a new run from this full coded model (.nxcm) instead of random weights: fine-tuning. Its configuration replaces -N, -M and the λ levels. Ignored with --resume (the checkpoint has the weights).")
    var initialModel: String?
    @Option(name: .long, help: "With --init: start with this many latent channels (M), the initial model's carried over and the new ones added so that the model's output is unchanged at first.")
    var widenLatents: Int?
    @Flag(name: .long, help: "Train a mean-scale hyperprior: h_s also predicts y's means (docs/MODEL.md). With --init, a scale-only model gains a small mean head (and h_a weights on y that start at zero), so training begins close to its output; measured, such a grown head had not started learning after 2,700 steps, while from scratch the means saved 8 % of the rate by 6,800 (BENCHMARKS.md, mean-scale). Ignored with --resume (the checkpoint says).")
    var means = false
    @Flag(name: .long, help: "Stop (checkpointing) when the parent process dies, e.g. a daemon that started this run was killed.")
    var stopWhenOrphaned = false
    @Option(name: .long, help: "Stop when this many steps are done in total.")
    var steps: Int?
    @Option(name: .long, help: "Stop after this long in this invocation: seconds, or with a unit (90m, 2h).")
    var timeBudget: String?
    @Option(name: .long, help: "Crop side in pixels (multiple of 64).")
    var crop = 256
    @Option(name: .long, help: "Crops per step.")
    var batch = 8
    @Option(name: .long, help: "Peak learning rate (default 5e-4). With --resume, replaces the saved one.")
    var lr: Double?
    @Option(name: .long, help: "Final learning rate of the cosine decay (default 2e-5). With --resume, replaces the saved one.")
    var finalLr: Double?
    @Option(name: .long, help: "Steps of the cosine learning-rate decay (default 200000). With --resume, replaces the saved one, so a run can anneal within its remaining budget.")
    var decaySteps: Int?
    @Option(name: .long, help: "Distortion of the objective: mse (bits/pixel + λ·MSE on 0…255) or ms-ssim (bits/pixel + λ·(1 − MS-SSIM); crops ≥ 192). Stored in the checkpoint.")
    var distortion: DistortionMetric = .mse
    @Option(name: .long, help: "Smallest λ (default 0.0018 for mse, 2.4 for ms-ssim); with --lambda-max, log-spaced levels.")
    var lambdaMin: Double?
    @Option(name: .long, help: "Largest λ.")
    var lambdaMax: Double?
    @Option(name: .long, help: "Number of quality levels between --lambda-min and --lambda-max.")
    var levels = 8
    @Option(name: .customShort("N"), help: "Hidden channels.")
    var hiddenChannels = 64
    @Option(name: .customShort("M"), help: "Latent channels.")
    var latentChannels = HyperpriorConfiguration.standard.latentChannels
    @Flag(name: .long, help: "bf16 convolutions (float32 master weights), for this invocation: a resumed run uses bf16 only when given it again.")
    var bf16 = false
    @Option(name: .long, help: "Steps on 128-pixel crops (4× batch) before the full crop size.")
    var smallCropSteps = 0
    @Option(name: .long, help: "Seconds between checkpoints.")
    var checkpointEvery = 300.0
    @Option(name: .long, help: "Steps between validation passes (0: only at the end).")
    var validateEvery = 500
    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?
    @Option(name: .long, help: "Seed of initialisation, crops and noise.")
    var seed: UInt64 = 1

    func validate() throws {
        guard crop >= 64, crop % 64 == 0 else { throw ValidationError("--crop must be a multiple of 64, got \(crop)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard (lambdaMin == nil) == (lambdaMax == nil) else { throw ValidationError("give both --lambda-min and --lambda-max, or neither") }
        if let lo = lambdaMin, let hi = lambdaMax { guard lo > 0, hi > lo || (levels == 1 && hi == lo) else { throw ValidationError("need 0 < --lambda-min < --lambda-max (or equal, with --levels 1)") } }
        guard levels >= 1 else { throw ValidationError("--levels must be at least 1") }
        if distortion == .msssim {
            guard crop >= MSSSIMLoss.minimumSide, crop % 64 == 0 else {
                throw ValidationError("--distortion ms-ssim needs --crop of at least \(MSSSIMLoss.minimumSide) (a multiple of 64), got \(crop)")
            }
            guard smallCropSteps == 0 else { throw ValidationError("--distortion ms-ssim cannot use --small-crop-steps (128-px crops are too small for MS-SSIM)") }
        }
        guard hiddenChannels % 16 == 0, latentChannels % 16 == 0 else { throw ValidationError("-N and -M must be multiples of 16") }
        if let widenLatents {
            guard initialModel != nil else { throw ValidationError("--widen-latents needs --init MODEL (the model to widen)") }
            guard widenLatents % 16 == 0 else { throw ValidationError("--widen-latents must be a multiple of 16, got \(widenLatents)") }
        }
        _ = try parsedTimeBudget()
    }

    func parsedTimeBudget() throws -> Double? {
        guard let text = timeBudget?.lowercased() else { return nil }
        let units: [(String, Double)] = [("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let v = Double(text.dropLast()) { return v * factor }
        }
        guard let v = Double(text) else { throw ValidationError("--time-budget: cannot read \(text); use seconds or 90m / 2h") }
        return v
    }

    func run() throws {
        // Idle OpenMP threads sleep instead of spinning: on a shared machine spinning doubles the
        // step time (BENCHMARKS.md). Re-executes this process once, before any OpenMP use.
        _ = Engine.reexecuteWithOpenMPWaitPolicy("passive")
        var logger = Logger(label: "nacre.train")
        logger.logLevel = .info
        var options = TrainingOptions()
        options.cropSize = crop
        options.batchSize = batch
        options.steps = steps
        options.timeBudgetSeconds = try parsedTimeBudget()
        let schedule = TrainingOptions.ScheduleOverride(learningRate: lr, finalLearningRate: finalLr, decaySteps: decaySteps)
        schedule.apply(to: &options)
        options.bf16 = bf16
        options.smallCropSteps = smallCropSteps
        options.checkpointIntervalSeconds = checkpointEvery
        options.validationIntervalSteps = validateEvery
        options.threads = threads
        options.seed = seed
        options.distortion = distortion
        var configuration = HyperpriorConfiguration.standard
        configuration.hiddenChannels = hiddenChannels
        configuration.latentChannels = latentChannels
        configuration.predictsMeans = means
        if let lo = lambdaMin ?? (distortion == .mse ? nil : distortion.defaultLambdaRange.low),
           let hi = lambdaMax ?? (distortion == .mse ? nil : distortion.defaultLambdaRange.high) {
            configuration.lambdas = levels == 1 ? [lo] : (0..<levels).map { lo * Foundation.pow(hi / lo, Double($0) / Double(levels - 1)) }
        }

        let data = try TrainingImageSet(folders: self.data, minimumSide: crop, logger: logger)
        let checkpointPath = checkpoint ?? out + ".ckpt"
        let initial = try initialModel.flatMap { path in
            resume ? nil : try CodecModel.load(contentsOfFile: path, engine: try Engine(threads: 1))
        }
        let trainer = try HyperpriorTrainer(options: options, configuration: configuration, data: data,
                                            checkpointPath: checkpointPath, resume: resume,
                                            scheduleOverride: schedule, initialModel: initial,
                                            widenedLatentChannels: widenLatents, addsMeanHead: means, logger: logger)
        let parent = getppid()
        let orphanCheck = stopWhenOrphaned
        let logPath = out + ".log.jsonl"
        let stop = StopRequest()
        let terminal = isatty(STDERR_FILENO) == 1
        var lastLine = Date.distantPast
        var lastValidation: ValidationReport?
        try trainer.run(
            progress: { progress in
                if terminal {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + progress.line()).utf8))
                } else if Date().timeIntervalSince(lastLine) >= 30 {
                    lastLine = Date()
                    FileHandle.standardError.write(Data((progress.line() + "\n").utf8))
                }
                Self.appendLine(progress, to: logPath)
            },
            validated: { report in
                lastValidation = report
                FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + report.summary + "\n").utf8))
                Self.appendLine(report, to: logPath)
            },
            shouldStop: { stop.requested || (orphanCheck && getppid() != parent) })
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let final = try trainer.validate()
        if lastValidation?.step != final.step {
            FileHandle.standardError.write(Data((final.summary + "\n").utf8))
            Self.appendLine(final, to: logPath)
        }
        try trainer.exportFloatModel(to: out, validation: final)
        print("trained to step \(trainer.step); model \(out), checkpoint \(checkpointPath), log \(logPath)")
    }

    static func appendLine<T: Encodable>(_ value: T, to path: String) {
        guard var line = try? JSONEncoder().encode(value) else { return }
        line.append(0x0A)
        if let handle = FileHandle(forWritingAtPath: path) ?? {
            // Failure shows as the nil handle below: the log line is skipped.
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() {
            handle.seekToEndOfFile()
            handle.write(line)
            try? handle.close()
        }
    }
}

/// Set by SIGINT or SIGTERM: the run finishes its step, checkpoints and stops.
final class StopRequest {
    private final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
    }
    private let flag = Flag()
    private var sources: [any DispatchSourceSignal] = []

    init() {
        let flag = self.flag
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                flag.raised.store(true, ordering: .relaxed)
                FileHandle.standardError.write(Data("\nstopping after this step; writing the checkpoint…\n".utf8))
            }
            source.resume()
            return source
        }
    }

    var requested: Bool { flag.raised.load(ordering: .relaxed) }
}

extension DistortionMetric: ExpressibleByArgument {}
