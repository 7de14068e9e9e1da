import Foundation

/// Learning rate as a function of the optimizer step (0-based), with optional linear warmup.
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Decay: Sendable, Equatable {
        /// The base rate throughout.
        case constant
        /// `base · factor^⌊step / every⌋`.
        case step(factor: Double, every: Int)
        /// `base · factor^(step / every)` (smooth exponential decay).
        case exponential(factor: Double, every: Int)
        /// Cosine from `base` down to `final` over `steps`, then `final`.
        case cosine(final: Double, steps: Int)
    }

    public var base: Double
    public var decay: Decay
    /// Steps of linear ramp from 0 to the scheduled rate.
    public var warmupSteps: Int

    public init(base: Double, decay: Decay = .constant, warmupSteps: Int = 0) {
        self.base = base
        self.decay = decay
        self.warmupSteps = warmupSteps
    }

    public static func constant(_ rate: Double) -> LearningRateSchedule { .init(base: rate) }

    public func rate(at step: Int) -> Double {
        let s = Double(max(0, step))
        var r: Double
        switch decay {
        case .constant: r = base
        case let .step(factor, every): r = base * pow(factor, Double(max(0, step) / max(1, every)))
        case let .exponential(factor, every): r = base * pow(factor, s / Double(max(1, every)))
        case let .cosine(final, steps):
            let t = min(1, s / Double(max(1, steps)))
            r = final + (base - final) * 0.5 * (1 + cos(Double.pi * t))
        }
        if warmupSteps > 0, step < warmupSteps { r *= Double(step + 1) / Double(warmupSteps) }
        return r
    }
}
