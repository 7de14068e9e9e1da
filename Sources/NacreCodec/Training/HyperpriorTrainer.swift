import Foundation
import Logging
import NacreEngine

/// Trains a `HyperpriorModel` on random crops with Adam, one quality level per step, and keeps
/// a resumable checkpoint: the model, the optimizer state and the run's settings, rewritten
/// atomically every few minutes and at the end.
public final class HyperpriorTrainer {
    public let model: HyperpriorModel
    public let options: TrainingOptions
    public let engine: Engine
    let optimizer: Adam
    let data: TrainingImageSet
    let checkpointPath: String
    let logger: Logger
    /// Seconds trained in earlier invocations (from the checkpoint).
    private(set) var earlierSeconds: Double = 0

    /// Metadata `kind` of a training checkpoint.
    public static let checkpointKind = "nacre.train.checkpoint/1"
    /// Metadata `kind` of a trained float model.
    public static let floatModelKind = "nacre.model.float/1"

    /// Steps done so far (including earlier invocations).
    public var step: Int { optimizer.stepCount }

    /// A new run, or (with `resume`) the run saved at `checkpointPath`; on resume the settings
    /// come from the checkpoint except the stopping rules, interval and threads given now, and
    /// the learning-rate settings in `scheduleOverride`. A new run starts from `initialModel`'s
    /// weights and configuration when given (fine-tuning a coded model; its g_s as stored, so an
    /// int8 decoder's dequantized weights), else from a random initialisation of `configuration`.
    /// `widenedLatentChannels` starts the new run with that many latent channels, the initial
    /// model's own carried over (`LatentWidening`). `addsMeanHead` gives a scale-only initial
    /// model a small mean head (`HyperpriorModel.meanSynthesis`).
    public init(options requested: TrainingOptions, configuration: HyperpriorConfiguration, data: TrainingImageSet,
                checkpointPath: String, resume: Bool, scheduleOverride: TrainingOptions.ScheduleOverride = .init(),
                initialModel: CodecModel? = nil, widenedLatentChannels: Int? = nil, addsMeanHead: Bool = false,
                logger: Logger) throws {
        if let initialModel, !initialModel.canEncode {
            throw CodecError(code: .invalidArgument,
                             message: "the initial model is decoder-only; fine-tuning needs the full model written by `nacre export-model --out`")
        }
        var options = requested
        var checkpoint: WeightsFile?
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else {
                throw CodecError(code: .invalidArgument,
                                 message: "--resume: no checkpoint at \(checkpointPath); start without --resume to begin a new run")
            }
            let file = try WeightsFile.read(from: checkpointPath)
            guard file.metadata["kind"] == Self.checkpointKind,
                  let saved = file.metadata["options"].flatMap({ try? JSONDecoder().decode(TrainingOptions.self, from: Data($0.utf8)) })
            else {
                throw CodecError(code: .incompatibleModel, message: "\(checkpointPath) is not a Nacre training checkpoint")
            }
            options = saved
            options.steps = requested.steps
            options.timeBudgetSeconds = requested.timeBudgetSeconds
            options.checkpointIntervalSeconds = requested.checkpointIntervalSeconds
            options.threads = requested.threads
            // Arithmetic and reporting are properties of this invocation, like the thread count,
            // not of the run.
            options.bf16 = requested.bf16
            options.validationIntervalSteps = requested.validationIntervalSteps
            if scheduleOverride != .init() {
                scheduleOverride.apply(to: &options)
                logger.info("learning-rate schedule replaced on resume", metadata: [
                    "lr": "\(options.learningRate)", "final-lr": "\(options.finalLearningRate)",
                    "decay-steps": "\(options.decaySteps)"])
            }
            checkpoint = file
        }
        let engine = try Engine(threads: options.threads, precision: options.bf16 ? .bf16 : .f32, logger: logger)
        let savedConfiguration = checkpoint?.metadata["configuration"]
            .flatMap { try? JSONDecoder().decode(HyperpriorConfiguration.self, from: Data($0.utf8)) }
        let initial = checkpoint == nil ? initialModel : nil
        var initialConfiguration = initial?.configuration
        if let widenedLatentChannels, initialConfiguration != nil {
            initialConfiguration?.latentChannels = widenedLatentChannels
        }
        if addsMeanHead, initialConfiguration != nil { initialConfiguration?.predictsMeans = true }
        let model = try HyperpriorModel(configuration: savedConfiguration ?? initialConfiguration ?? configuration,
                                        engine: engine, seed: options.seed)
        if let initial {
            try LatentWidening.copy(from: initial.network, into: model)
            logger.info("initialised from a coded model", metadata: [
                "model": "\(initial.identifierString)", "M": "\(initial.configuration.latentChannels) → \(model.configuration.latentChannels)",
                "means": "\(initial.configuration.predictsMeans) → \(model.configuration.predictsMeans)"])
        }
        let optimizer = Adam(parameters: model.parameters, settings: Adam.Settings(
            schedule: LearningRateSchedule(base: options.learningRate,
                                           decay: .cosine(final: options.finalLearningRate, steps: options.decaySteps),
                                           warmupSteps: options.warmupSteps),
            maxGradientNorm: options.maxGradientNorm))
        if let checkpoint {
            try checkpoint.load(into: model.parameters)
            try optimizer.restoreState(from: checkpoint.entries)
            earlierSeconds = Double(checkpoint.metadata["seconds"] ?? "0") ?? 0
            logger.info("resumed", metadata: ["step": "\(optimizer.stepCount)", "checkpoint": "\(checkpointPath)"])
        }
        self.model = model
        self.options = options
        self.engine = engine
        self.optimizer = optimizer
        self.data = data
        self.checkpointPath = checkpointPath
        self.logger = logger
    }

    /// Trains until the step limit, the time budget or `shouldStop()`; reports progress about
    /// once a second and each validation pass; checkpoints on its interval and at the end.
    public func run(
        progress: (TrainingProgress) -> Void,
        validated: (ValidationReport) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws {
        let started = Date()
        var lastCheckpoint = started, lastReport = started
        // Reseeded from the step, so a resumed run does not replay the crops it already saw.
        var rng = SeededRandom(seed: options.seed &+ UInt64(step) &* 0x9E37_79B9)
        let latentNoise = UniformNoise(engine: engine, seed: options.seed &+ UInt64(step) &* 3 &+ 11)
        let hyperNoise = UniformNoise(engine: engine, seed: options.seed &+ UInt64(step) &* 5 &+ 13)
        var crops: [TensorShape: Tensor] = [:]
        var window = RunningWindow()
        var nonFiniteInARow = 0

        while true {
            if let limit = options.steps, step >= limit { break }
            let elapsed = Date().timeIntervalSince(started)
            if let budget = options.timeBudgetSeconds, elapsed >= budget { break }
            if shouldStop() { break }

            let small = step < options.smallCropSteps
            let size = small ? options.smallCropSize : options.cropSize
            let batch = small ? options.batchSize * max(1, (options.cropSize / options.smallCropSize) * (options.cropSize / options.smallCropSize)) : options.batchSize
            let shape = TensorShape(n: batch, c: 3, h: size, w: size)
            let images = try crops[shape] ?? Tensor(zeros: shape)
            crops[shape] = images
            try data.sampleCrops(into: images, rng: &rng, minimumScale: options.minimumCropScale)
            let level = Int(rng.next() % UInt64(model.configuration.levelCount))

            optimizer.zeroGradients()
            let measured = try model.rateDistortion(images: images, level: level, training: true,
                                                    latentNoise: latentNoise, hyperNoise: hyperNoise,
                                                    distortion: options.distortion ?? .mse)
            guard measured.loss.isFinite else {
                nonFiniteInARow += 1
                logger.warning("non-finite loss; step skipped", metadata: ["step": "\(step)", "level": "\(level)"])
                if nonFiniteInARow >= 10 {
                    throw CodecError(code: .internalInconsistency,
                                     message: "10 steps in a row gave a non-finite loss; lower --lr and resume from the last checkpoint")
                }
                continue
            }
            nonFiniteInARow = 0
            let report = try optimizer.step()
            window.add(measured, at: Date())

            let now = Date()
            if now.timeIntervalSince(lastReport) >= 1 {
                lastReport = now
                progress(TrainingProgress(
                    step: step, totalSteps: options.steps, elapsedSeconds: now.timeIntervalSince(started),
                    remainingBudgetSeconds: options.timeBudgetSeconds.map { max(0, $0 - now.timeIntervalSince(started)) },
                    stepsPerSecond: window.stepsPerSecond, learningRate: report.learningRate,
                    loss: window.loss, bitsPerPixel: window.bitsPerPixel, psnr: window.psnr))
            }
            if options.validationIntervalSteps > 0, step % options.validationIntervalSteps == 0 {
                validated(try validate())
            }
            if now.timeIntervalSince(lastCheckpoint) >= options.checkpointIntervalSeconds {
                try saveCheckpoint(secondsThisRun: now.timeIntervalSince(started))
                lastCheckpoint = Date()
            }
        }
        try saveCheckpoint(secondsThisRun: Date().timeIntervalSince(started))
        earlierSeconds += Date().timeIntervalSince(started)
    }

    /// Rate estimate and PSNR of every quality level on the held-back crops.
    public func validate() throws -> ValidationReport {
        let size = options.cropSize
        let crops = data.validationCrops(size: size, limit: options.validationCrops)
        guard !crops.isEmpty else { return ValidationReport(step: step, levels: []) }
        let images = try Tensor(shape: TensorShape(n: crops.count, c: 3, h: size, w: size), values: crops.flatMap { $0 })
        var levels: [ValidationReport.Level] = []
        for level in 0..<model.configuration.levelCount {
            let m = try model.rateDistortion(images: images, level: level, training: false,
                                             distortion: options.distortion ?? .mse)
            levels.append(.init(level: level, lambda: model.configuration.lambdas[level],
                                bitsPerPixel: m.bitsPerPixel, psnr: m.psnr, loss: m.loss, msssim: m.msssim))
        }
        return ValidationReport(step: step, levels: levels)
    }

    /// Writes the checkpoint atomically (model, optimizer state, settings).
    public func saveCheckpoint(secondsThisRun: Double) throws {
        var file = WeightsFile(parameters: model.parameters, metadata: try metadata(kind: Self.checkpointKind))
        file.metadata["seconds"] = String(earlierSeconds + secondsThisRun)
        file.entries += optimizer.stateTensors()
        try file.write(to: checkpointPath)
        logger.debug("checkpoint written", metadata: ["step": "\(step)", "path": "\(checkpointPath)"])
    }

    /// Writes the trained float model (no optimizer state) atomically.
    public func exportFloatModel(to path: String, validation: ValidationReport?) throws {
        var file = WeightsFile(parameters: model.parameters, metadata: try metadata(kind: Self.floatModelKind))
        file.metadata["seconds"] = String(earlierSeconds)
        if let validation {
            file.metadata["validation"] = String(decoding: try JSONEncoder().encode(validation), as: UTF8.self)
        }
        try file.write(to: path)
    }

    private func metadata(kind: String) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [
            "kind": kind,
            "configuration": String(decoding: try encoder.encode(model.configuration), as: UTF8.self),
            "options": String(decoding: try encoder.encode(options), as: UTF8.self),
            "step": String(step),
        ]
    }
}

/// Means over the last 50 steps, and the recent step rate.
struct RunningWindow {
    private var recent: [RateDistortionMeasurement] = []
    private var times: [Date] = []

    /// Records one finished step and when it finished.
    mutating func add(_ m: RateDistortionMeasurement, at time: Date) {
        recent.append(m)
        if recent.count > 50 { recent.removeFirst() }
        times.append(time)
        if times.count > 51 { times.removeFirst() }
    }

    var stepsPerSecond: Double {
        guard times.count >= 2 else { return 0 }
        return Double(times.count - 1) / max(1e-9, times.last!.timeIntervalSince(times.first!))
    }

    var loss: Double { mean(\.loss) }
    var bitsPerPixel: Double { mean(\.bitsPerPixel) }
    /// PSNR of the mean MSE, so one easy crop does not dominate.
    var psnr: Double { 10 * Foundation.log10(255 * 255 / max(1e-10, mean(\.mse))) }

    private func mean(_ key: KeyPath<RateDistortionMeasurement, Double>) -> Double {
        recent.isEmpty ? 0 : recent.map { $0[keyPath: key] }.reduce(0, +) / Double(recent.count)
    }
}
