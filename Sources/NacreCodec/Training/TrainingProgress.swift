import Foundation

/// One progress report of a training run, for the progress bar and the training log.
public struct TrainingProgress: Sendable, Codable {
    /// Optimizer steps done in total (including earlier invocations).
    public var step: Int
    /// Step limit, if any.
    public var totalSteps: Int?
    /// Seconds spent in this invocation.
    public var elapsedSeconds: Double
    /// Seconds this invocation may still run, if it has a time budget.
    public var remainingBudgetSeconds: Double?
    /// Steps per second over the recent window.
    public var stepsPerSecond: Double
    /// Learning rate of the last step.
    public var learningRate: Double
    /// Running means over the recent window.
    public var loss: Double
    public var bitsPerPixel: Double
    public var psnr: Double

    /// Estimated seconds to the end (the step limit or the time budget, whichever comes first).
    public var etaSeconds: Double? {
        var eta: Double?
        if let totalSteps, stepsPerSecond > 0 { eta = Double(max(0, totalSteps - step)) / stepsPerSecond }
        if let remainingBudgetSeconds { eta = min(eta ?? .infinity, remainingBudgetSeconds) }
        return eta
    }

    /// A one-line progress bar: `[#####.....] 12345/200000 ETA 1h02m loss … bpp … PSNR …`.
    public func line(width: Int = 24) -> String {
        var bar = ""
        if let totalSteps, totalSteps > 0 {
            let filled = min(width, width * step / totalSteps)
            bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        }
        let steps = totalSteps.map { "\(step)/\($0)" } ?? "\(step)"
        let eta = etaSeconds.map { " ETA " + Self.duration($0) } ?? ""
        return bar + steps + eta
            + String(format: "  %.2f steps/s  lr %.1e  loss %.4f  bpp %.3f  PSNR %.2f dB",
                     stepsPerSecond, learningRate, loss, bitsPerPixel, psnr)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}

/// A validation pass: per quality level, the model's rate estimate and PSNR on held-back crops.
public struct ValidationReport: Sendable, Codable {
    public var step: Int
    public var levels: [Level]

    public struct Level: Sendable, Codable {
        public var level: Int
        public var lambda: Double
        public var bitsPerPixel: Double
        public var psnr: Double
        public var loss: Double
        /// Mean MS-SSIM, when the run optimises MS-SSIM.
        public var msssim: Double?
    }

    /// Mean objective over the levels, the number a run tries to lower.
    public var meanLoss: Double { levels.map(\.loss).reduce(0, +) / Double(max(1, levels.count)) }

    public var summary: String {
        "validation @\(step): " + levels.map {
            String(format: "q%d %.3f bpp %.2f dB", $0.level, $0.bitsPerPixel, $0.psnr)
                + ($0.msssim.map { String(format: " MS-SSIM %.4f", $0) } ?? "")
        }
            .joined(separator: " | ")
    }
}
