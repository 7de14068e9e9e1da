import NacreEngine

/// Starts a model with more latent channels (M) from a trained one: the trained model's M
/// channels keep every weight, and the new channels start small but alive, so training can
/// teach the model to use them.
///
/// For the new channels:
/// - g_a's last convolution keeps its fresh random initialisation, so the new latents are
///   nonzero after rounding at the trained quality levels;
/// - g_s's first transposed convolution reads them through its random initialisation scaled by
///   `newReaderScale`, so the image changes little at the start;
/// - h_a's first convolution reads them through zero weights, so z does not change yet (its
///   gradient is nonzero as soon as the new latents are);
/// - h_s's last convolution and the per-level gains copy an existing channel's, so the new
///   channels start with plausible scales and quantiser steps.
///
/// Why not start them at zero on both sides (function-preserving, as in Net2Net): with zero
/// readers and latents that round to zero, neither side of the new channels gets a gradient
/// (straight-through rounding passes g_s's zero weights back; g_s's weights see ŷ = 0), and a
/// run from base-v1 kept them dead (BENCHMARKS.md, "Widening the latent").
///
/// Why widen: base-v1 (M = 96 over 16×16×3 pixels, 8 : 1) saturates at high rates; a 96-term
/// block PCA of Kodak, an oracle, reaches only 31.8 dB, and 192 terms 37.9 dB (`bench/pca_bound.py`). Widening M costs
/// the decoder little (only g_s's first layer and h_s's last grow).
public enum LatentWidening {
    /// How the new part of a widened parameter starts.
    enum Fill {
        case zero
        case copyExisting
        case scaledInitialisation(Float)
    }

    /// Scale of g_s's random weights that read the new channels.
    public static let newReaderScale: Float = 0.1

    /// Copies `source`'s parameters into `target`, which must have the same N and levels and an
    /// M at least as large.
    public static func copy(from source: HyperpriorModel, into target: HyperpriorModel) throws {
        let from = source.configuration, to = target.configuration
        guard from.hiddenChannels == to.hiddenChannels, from.lambdas == to.lambdas,
              to.latentChannels >= from.latentChannels else {
            throw CodecError(code: .incompatibleModel, message: """
                cannot widen a model with N=\(from.hiddenChannels), M=\(from.latentChannels), \(from.levelCount) levels \
                into N=\(to.hiddenChannels), M=\(to.latentChannels), \(to.levelCount) levels: only M may grow; \
                keep -N and the λ levels of the initial model
                """)
        }
        // h_a.0's input channels are (|y|, y) in a mean model: widening M would misplace the y half.
        guard !from.predictsMeans || from.latentChannels == to.latentChannels else {
            throw CodecError(code: .incompatibleModel, message: "cannot widen the latent of a mean-scale model; widen the scale-only model first")
        }
        let sources = Dictionary(uniqueKeysWithValues: source.parameters.map { ($0.name, $0) })
        for parameter in target.parameters {
            guard let old = sources[parameter.name] else {
                // A scale-only model grows a mean head: it keeps its small initialisation, and
                // h_a.0's new weights on y start at zero (the `.zero` fill below), so z is unchanged.
                if parameter.name.hasPrefix(meanHeadPrefix) { continue }
                throw CodecError(code: .incompatibleModel, message: "the initial model has no parameter \(parameter.name)")
            }
            try copy(old, into: parameter, fill: fill(for: parameter.name))
        }
    }

    /// Names of the mean head's parameters start with this.
    static let meanHeadPrefix = "h_s.mean."

    static func fill(for name: String) -> Fill {
        if name.hasPrefix("h_a.0.") { return .zero }
        if name.hasPrefix("g_s.0.") { return .scaledInitialisation(newReaderScale) }
        if name.hasPrefix("g_a.6.") { return .scaledInitialisation(1) }
        return .copyExisting
    }

    /// Copies the overlap of two same-rank parameters; elements beyond `old`'s extent in some
    /// dimension follow `fill`.
    static func copy(_ old: Parameter, into new: Parameter, fill: Fill) throws {
        guard old.shape.count == new.shape.count, zip(old.shape, new.shape).allSatisfy({ $0 <= $1 }) else {
            throw CodecError(code: .incompatibleModel,
                             message: "parameter \(new.name): cannot widen shape \(old.shape) into \(new.shape)")
        }
        let rank = new.shape.count
        var index = [Int](repeating: 0, count: rank)
        for flat in 0..<new.count {
            var remainder = flat
            for d in stride(from: rank - 1, through: 0, by: -1) {
                index[d] = remainder % new.shape[d]
                remainder /= new.shape[d]
            }
            let isNew = zip(index, old.shape).contains { $0 >= $1 }
            var sourceIndex = isNew ? nil : index
            if isNew {
                switch fill {
                case .zero: new.value[flat] = 0
                case .scaledInitialisation(let scale): new.value[flat] *= scale
                case .copyExisting: sourceIndex = zip(index, old.shape).map { $0 % $1 }
                }
            }
            if let sourceIndex {
                var oldFlat = 0
                for d in 0..<rank { oldFlat = oldFlat * old.shape[d] + sourceIndex[d] }
                new.value[flat] = old.value[oldFlat]
            }
        }
        new.markUpdated()
    }
}
