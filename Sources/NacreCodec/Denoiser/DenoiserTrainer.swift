import Foundation
import NacreEngine
import NacreImage

/// Trains a `Denoiser` on (decoded, original) pairs with the MSE loss, measured at half
/// resolution on the unshuffled residual (a permutation of the full-resolution error, so the
/// same loss), with Adam and a cosine learning-rate schedule; checkpoints are resumable.
public final class DenoiserTrainer {
    public struct Options: Sendable {
        /// Length of the learning-rate schedule (and the default stopping point).
        public var steps: Int
        /// Patches per step.
        public var batchSize: Int
        /// Side of a training patch in full-resolution pixels (even).
        public var patchSide: Int
        public var learningRate: Double
        public var seed: UInt64
        /// Weigh each patch's squared error by 1 / (its error without the denoiser), so every
        /// patch counts by its PSNR gain rather than by its absolute error (which lets the large
        /// errors of low qualities drown out the small ones of high qualities).
        public var relativeLoss: Bool

        public init(steps: Int = 6000, batchSize: Int = 16, patchSide: Int = 128, learningRate: Double = 2e-3, seed: UInt64 = 1,
                    relativeLoss: Bool = false) {
            self.steps = steps
            self.batchSize = batchSize
            self.patchSide = patchSide
            self.learningRate = learningRate
            self.seed = seed
            self.relativeLoss = relativeLoss
        }
    }

    /// Mean PSNR of the held-back pairs without and with the denoiser (int8 weights, as stored), per quality.
    public struct Validation: Sendable {
        public struct Row: Sendable {
            public var quality: Double
            public var pairs: Int
            public var psnr: Double
            public var denoisedPSNR: Double
            public var gain: Double { denoisedPSNR - psnr }
        }
        public var rows: [Row]
        /// Mean gain over all held-back pairs.
        public var meanGain: Double

        public var summary: String {
            String(format: "mean gain %+.3f dB; ", meanGain)
                + rows.map { String(format: "q%.0f %+.3f", $0.quality, $0.gain) }.joined(separator: " ")
        }
    }

    public let denoiser: Denoiser
    public let options: Options
    public private(set) var step = 0
    /// Seconds of training so far, across resumptions; the caller keeps it up to date, and the
    /// checkpoint carries it (a budget that spans restarts).
    public var trainedSeconds = 0.0
    let optimizer: Adam
    let training: [DenoiserTrainingPair]
    private var rng: SeededRandom
    static let checkpointKind = "nacre.denoiser.checkpoint/1"

    public init(denoiser: Denoiser, training: [DenoiserTrainingPair], options: Options) throws {
        let usable = training.filter { $0.original.width >= options.patchSide && $0.original.height >= options.patchSide }
        guard !usable.isEmpty else {
            throw CodecError(code: .noTrainingData, message: "no training pair is at least \(options.patchSide) px a side; give larger photos or a smaller patch")
        }
        guard options.patchSide >= 8, options.patchSide % 2 == 0, options.batchSize >= 1, options.steps >= 1 else {
            throw CodecError(code: .invalidArgument, message: "patch side must be even and ≥ 8, batch and steps ≥ 1")
        }
        self.denoiser = denoiser
        self.options = options
        self.training = usable
        rng = SeededRandom(seed: options.seed)
        optimizer = Adam(parameters: denoiser.parameters, settings: .init(
            schedule: LearningRateSchedule(base: options.learningRate, decay: .cosine(final: options.learningRate / 50, steps: options.steps),
                                           warmupSteps: 100),
            maxGradientNorm: 1))
    }

    /// One optimizer step on a random batch; returns the batch MSE in 8-bit units² (255² · loss).
    @discardableResult
    public func trainStep() throws -> Double {
        let half = options.patchSide / 2, b = options.batchSize
        let input = try Tensor(zeros: TensorShape(n: b, c: DenoiserArchitecture.tensorChannels, h: half, w: half))
        let target = try Tensor(zeros: TensorShape(n: b, c: DenoiserArchitecture.tensorChannels, h: half, w: half))
        for i in 0..<b {
            let pair = training[Int(rng.next() % UInt64(training.count))]
            let maxX = (pair.original.width - options.patchSide) / 2, maxY = (pair.original.height - options.patchSide) / 2
            let region = DenoiserPlanes.Region(x: Int(rng.next() % UInt64(maxX + 1)), y: Int(rng.next() % UInt64(maxY + 1)),
                                               width: half, height: half)
            DenoiserPlanes.writeInput(pair.decoded, quality: pair.quality, region: region,
                                      to: input.data + i * DenoiserArchitecture.tensorChannels * half * half)
            DenoiserPlanes.writeResidual(original: pair.original.rgb, decoded: pair.decoded.rgb, width: pair.original.width,
                                         height: pair.original.height, region: region,
                                         to: target.data + i * DenoiserArchitecture.tensorChannels * half * half)
        }
        optimizer.zeroGradients()
        let output = try denoiser.network.forward(input, training: true)
        let loss = try denoiser.engine.meanSquaredError(output, target)
        let gradient = try denoiser.engine.meanSquaredErrorGradient(output, target)
        if options.relativeLoss { Self.weighByRelativeError(gradient, target: target, batch: b) }
        _ = try denoiser.network.backward(gradient)
        _ = try optimizer.step()
        step += 1
        return loss * 255 * 255
    }

    /// Smallest undenoised patch MSE (0…1 units², about 2 in 8-bit units²) a relative weight divides
    /// by, so nearly perfect patches do not take over a batch.
    static let relativeLossFloor = 2.0 / (255 * 255)

    /// Scales each patch's slice of `gradient` by 1 / (its undenoised MSE, floored), normalized to
    /// a mean weight of 1 over the batch (the learning rate keeps its meaning).
    static func weighByRelativeError(_ gradient: Tensor, target: Tensor, batch: Int) {
        let slice = gradient.count / batch
        let weights = (0..<batch).map { i -> Double in
            var sum = 0.0
            for k in 0..<slice { let v = Double(target.data[i * slice + k]); sum += v * v }
            return 1 / max(sum / Double(slice) * Double(DenoiserArchitecture.tensorChannels) / Double(DenoiserArchitecture.imageChannels),
                           relativeLossFloor)
        }
        let mean = weights.reduce(0, +) / Double(batch)
        for i in 0..<batch {
            let w = Float(weights[i] / mean)
            for k in 0..<slice { gradient.data[i * slice + k] *= w }
        }
    }

    /// Measures the gain on held-back pairs with the weights as an archive stores them (int8).
    public func validate(on pairs: [DenoiserTrainingPair]) throws -> Validation {
        let stored = try Denoiser(serialized: denoiser.serialized(), engine: denoiser.engine)
        var byQuality: [Double: (count: Int, psnr: Double, denoised: Double)] = [:]
        var total = 0.0
        for pair in pairs {
            let plain = try PSNR(reference: pair.original, distorted: pair.decoded).decibels
            let better = try PSNR(reference: pair.original, distorted: try stored.apply(to: pair.decoded, quality: pair.quality)).decibels
            let key = pair.quality.rounded()
            let sums = byQuality[key] ?? (0, 0, 0)
            byQuality[key] = (sums.count + 1, sums.psnr + plain, sums.denoised + better)
            total += better - plain
        }
        let rows = byQuality.keys.sorted().map { q in
            let s = byQuality[q]!
            return Validation.Row(quality: q, pairs: s.count, psnr: s.psnr / Double(s.count), denoisedPSNR: s.denoised / Double(s.count))
        }
        return Validation(rows: rows, meanGain: total / Double(max(1, pairs.count)))
    }

    /// Weights, optimizer state and position, for `resume(from:)`.
    public func checkpoint() -> WeightsFile {
        let a = denoiser.architecture
        return WeightsFile(metadata: ["kind": Self.checkpointKind, "step": "\(step)", "seconds": String(format: "%.3f", trainedSeconds),
                                      "decoder": denoiser.decoderIdentifierString,
                                      "channels": "\(a.hiddenChannels)", "convolutions": "\(a.convolutions)",
                                      "slope256": "\(a.negativeSlope256)"],
                           entries: WeightsFile(parameters: denoiser.parameters).entries + optimizer.stateTensors())
    }

    /// The architecture and decoder a checkpoint was made for.
    public static func describe(_ checkpoint: WeightsFile) throws -> (architecture: DenoiserArchitecture, decoder: UInt64) {
        let m = checkpoint.metadata
        guard m["kind"] == checkpointKind, let c = m["channels"].flatMap(Int.init), let l = m["convolutions"].flatMap(Int.init),
              let s = m["slope256"].flatMap(Int.init), let d = m["decoder"].flatMap({ UInt64($0, radix: 16) }) else {
            throw CodecError(code: .corruptDenoiserBlock, message: "the file is not a denoiser checkpoint (kind \(m["kind"] ?? "none")); start without --resume")
        }
        return (DenoiserArchitecture(hiddenChannels: c, convolutions: l, negativeSlope256: s), d)
    }

    /// Loads weights, optimizer state and step from a checkpoint of this denoiser's shape.
    public func resume(from checkpoint: WeightsFile) throws {
        let described = try Self.describe(checkpoint)
        guard described.architecture == denoiser.architecture, described.decoder == denoiser.decoderIdentifier else {
            throw CodecError(code: .invalidArgument, message: "the checkpoint is for \(described.architecture), decoder \(Denoiser.hex(described.decoder)); resume with the same model and shape")
        }
        try checkpoint.load(into: denoiser.parameters)
        try optimizer.restoreState(from: checkpoint.entries)
        step = Int(checkpoint.metadata["step"] ?? "") ?? optimizer.stepCount
        trainedSeconds = Double(checkpoint.metadata["seconds"] ?? "") ?? 0
    }
}
