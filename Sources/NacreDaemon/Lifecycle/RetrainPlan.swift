import Foundation

/// What one re-training run was asked to do, fixed when it starts and kept in the catalog's
/// key/value store (`retrain.run.ID`) so a run resumed after a restart keeps its budget.
struct RetrainPlan: Codable, Sendable, Equatable {
    /// Wall-clock training budget of the whole run, across restarts (the checkpoint counts the
    /// seconds already trained).
    var budgetSeconds: Double
    /// Optional cap on the optimizer steps.
    var maxSteps: Int?
    /// The BD-rate (percent) the challenger must beat.
    var marginPercent: Double
    /// Side of the training crops.
    var cropSide: Int
    /// The champion's full model file, fine-tuned from and judged against.
    var championPath: String
    /// `schedule` or `command`.
    var trigger: String
    /// The champion's denoiser block, fine-tuned into the challenger's; nil when the champion has
    /// none or denoiser training is off (`retrain.denoiser_percent: 0`): the challenger then has
    /// none either, and the gate measures both models without.
    var championDenoiserPath: String? = nil
    /// The part of `budgetSeconds` given to the denoiser (the decoder trains for the rest).
    var denoiserSeconds: Double = 0

    static func key(run id: Int64) -> String { "retrain.run.\(id)" }

    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    static func decode(_ text: String?) -> RetrainPlan? {
        text.flatMap { try? JSONDecoder().decode(RetrainPlan.self, from: Data($0.utf8)) }
    }
}
