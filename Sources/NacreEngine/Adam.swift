import Foundation

/// Adam with bias correction (Kingma & Ba), optional global gradient-norm clipping and a
/// learning-rate schedule. Parameters are updated in place; gradients are cleared by
/// `zeroGradients()` (call it before each step's backward pass).
public final class Adam {
    public struct Settings: Sendable {
        public var schedule: LearningRateSchedule
        public var beta1: Double
        public var beta2: Double
        public var epsilon: Double
        /// Rescale all gradients together when their global L2 norm exceeds this; nil = no clipping.
        public var maxGradientNorm: Double?

        public init(schedule: LearningRateSchedule, beta1: Double = 0.9, beta2: Double = 0.999,
                    epsilon: Double = 1e-8, maxGradientNorm: Double? = nil) {
            self.schedule = schedule
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.maxGradientNorm = maxGradientNorm
        }
    }

    /// What one `step()` did.
    public struct StepReport: Sendable {
        public var learningRate: Double
        /// Global gradient L2 norm before clipping.
        public var gradientNorm: Double
        public var clipped: Bool
    }

    public let parameters: [Parameter]
    public var settings: Settings
    /// Steps taken so far (the schedule's position; saved with the moments for resuming).
    public private(set) var stepCount = 0
    private let m: [UnsafeMutablePointer<Float>]
    private let v: [UnsafeMutablePointer<Float>]

    public init(parameters: [Parameter], settings: Settings) {
        self.parameters = parameters
        self.settings = settings
        m = parameters.map { p in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(1, p.count))
            b.initialize(repeating: 0, count: p.count)
            return b
        }
        v = parameters.map { p in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(1, p.count))
            b.initialize(repeating: 0, count: p.count)
            return b
        }
    }

    deinit {
        for b in m { b.deallocate() }
        for b in v { b.deallocate() }
    }

    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Global L2 norm of all gradients.
    public func gradientNorm() -> Double {
        var s = 0.0
        for p in parameters {
            for i in 0..<p.count { s += Double(p.gradient[i]) * Double(p.gradient[i]) }
        }
        return s.squareRoot()
    }

    /// Applies one update from the accumulated gradients. Non-finite gradients are rejected with
    /// a typed error and leave the parameters untouched.
    @discardableResult
    public func step() throws -> StepReport {
        let norm = gradientNorm()
        guard norm.isFinite else {
            throw EngineError(.invalidArgument, "gradient norm is \(norm) at step \(stepCount); lower the learning rate or check the loss")
        }
        var clip: Float = 1
        if let maxNorm = settings.maxGradientNorm, norm > maxNorm { clip = Float(maxNorm / norm) }
        let lr = settings.schedule.rate(at: stepCount)
        stepCount += 1
        let b1 = Float(settings.beta1), b2 = Float(settings.beta2)
        let c1 = Float(1 - pow(settings.beta1, Double(stepCount)))
        let c2 = Float(1 - pow(settings.beta2, Double(stepCount)))
        let rate = Float(lr) / c1, eps = Float(settings.epsilon), sc2 = 1 / c2.squareRoot()
        for (k, p) in parameters.enumerated() {
            let mk = m[k], vk = v[k], w = p.value, g = p.gradient
            for i in 0..<p.count {
                let gi = g[i] * clip
                mk[i] = b1 * mk[i] + (1 - b1) * gi
                vk[i] = b2 * vk[i] + (1 - b2) * gi * gi
                w[i] -= rate * mk[i] / ((vk[i]).squareRoot() * sc2 + eps)
            }
            p.markUpdated()
        }
        return StepReport(learningRate: lr, gradientNorm: norm, clipped: clip < 1)
    }

    /// Optimizer state as named tensors (for a resumable checkpoint in a `WeightsFile`).
    public func stateTensors() -> [WeightsFile.Entry] {
        var out = [WeightsFile.Entry(name: "adam.step", shape: [1], values: [Float(bitPattern: UInt32(truncatingIfNeeded: stepCount))])]
        for (k, p) in parameters.enumerated() {
            out.append(.init(name: "adam.m." + p.name, shape: p.shape, values: Array(UnsafeBufferPointer(start: m[k], count: p.count))))
            out.append(.init(name: "adam.v." + p.name, shape: p.shape, values: Array(UnsafeBufferPointer(start: v[k], count: p.count))))
        }
        return out
    }

    /// Restores state written by `stateTensors()`.
    public func restoreState(from entries: [WeightsFile.Entry]) throws {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let step = byName["adam.step"], step.values.count == 1 else {
            throw EngineError(.weightsMismatch, "no adam.step entry; the file holds no optimizer state")
        }
        for (k, p) in parameters.enumerated() {
            for (prefix, buf) in [("adam.m.", m[k]), ("adam.v.", v[k])] {
                guard let e = byName[prefix + p.name], e.values.count == p.count else {
                    throw EngineError(.weightsMismatch, "optimizer state for \(p.name) is missing or has the wrong size")
                }
                e.values.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: p.count) }
            }
        }
        stepCount = Int(step.values[0].bitPattern)
    }
}
