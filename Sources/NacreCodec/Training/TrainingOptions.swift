/// Settings of a training run (`nacre train`). Stored in checkpoints so a resumed run continues
/// with the settings it started with, except those of the invocation: the step limit, time
/// budget, checkpoint and validation intervals, threads and bf16 (and, when given, the
/// learning-rate schedule, `ScheduleOverride`).
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Side of the square training crops (a multiple of 64).
    public var cropSize = 256
    /// Crops per step.
    public var batchSize = 8
    /// Stop after this many optimizer steps in total (nil: no step limit).
    public var steps: Int?
    /// Stop after this many seconds of training in this invocation (nil: no time limit).
    public var timeBudgetSeconds: Double?
    /// Peak learning rate (after warmup).
    public var learningRate = 5e-4
    /// Learning rate reached at the end of the schedule (cosine decay over `decaySteps`).
    public var finalLearningRate = 2e-5
    /// Steps of the cosine decay from `learningRate` to `finalLearningRate`.
    public var decaySteps = 200_000
    /// Steps of linear warmup.
    public var warmupSteps = 200
    /// Clip the global gradient norm to this value (nil: no clipping).
    public var maxGradientNorm: Double? = 5
    /// Use bf16 convolutions (float32 master weights).
    public var bf16 = false
    /// Smallest crop scale of the augmentation (1 = no downscaling).
    public var minimumCropScale: Float = 0.5
    /// Crop side used during the first `smallCropSteps` steps (a curriculum: cheaper steps first).
    public var smallCropSize = 128
    /// Steps trained on `smallCropSize` crops (with 4× the batch, so pixels per step match).
    public var smallCropSteps = 0
    /// Seconds between checkpoints.
    public var checkpointIntervalSeconds = 300.0
    /// Steps between validation passes.
    public var validationIntervalSteps = 500
    /// Validation crops (centre crops of held-back images).
    public var validationCrops = 8
    /// Seed of the initialisation, the crops and the noise.
    public var seed: UInt64 = 1
    /// Compute threads.
    public var threads: Int?
    /// The distortion of the objective (nil: MSE, as in checkpoints written before the option).
    public var distortion: DistortionMetric?

    public init() {}

    /// Learning-rate settings given explicitly on a command line. A resumed run keeps its saved
    /// schedule except for these, so a long run can be re-planned to anneal within a new budget.
    public struct ScheduleOverride: Sendable, Equatable {
        public var learningRate: Double?
        public var finalLearningRate: Double?
        public var decaySteps: Int?

        public init(learningRate: Double? = nil, finalLearningRate: Double? = nil, decaySteps: Int? = nil) {
            self.learningRate = learningRate
            self.finalLearningRate = finalLearningRate
            self.decaySteps = decaySteps
        }

        /// Replaces the settings that were given.
        public func apply(to options: inout TrainingOptions) {
            if let learningRate { options.learningRate = learningRate }
            if let finalLearningRate { options.finalLearningRate = finalLearningRate }
            if let decaySteps { options.decaySteps = decaySteps }
        }
    }
}
