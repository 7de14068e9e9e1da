import NacreEngine

/// Starts a model with more latent channels (M) from a trained one, so that the wider model
/// computes exactly what the trained one did until training teaches it to use the new channels
/// (function-preserving widening, as in Chen et al. 2016, "Net2Net").
///
/// The trained model's M channels keep their weights. For the new channels:
/// - g_a's last convolution gets its random initialisation scaled by `newAnalysisScale`, so the
///   new latents start near zero and cost few bits;
/// - the layers that read y (g_s's first transposed convolution and h_a's first convolution)
///   get zero weights from them, so they do not change the image or z yet;
/// - h_s's last convolution and the per-level gains copy an existing channel's, so the new
///   channels start with plausible scales and quantiser steps.
///
/// Why: the base model's quality saturates at high rates, the mark of a latent bottleneck, and
/// widening M costs the decoder little (only g_s's first layer and h_s's last grow).
public enum LatentWidening {
    /// How the new part of a widened parameter starts.
    enum Fill {
        case zero
        case copyExisting
        case scaledInitialisation(Float)
    }

    /// Scale of the new channels' random analysis weights.
    public static let newAnalysisScale: Float = 0.1

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
        let sources = Dictionary(uniqueKeysWithValues: source.parameters.map { ($0.name, $0) })
        for parameter in target.parameters {
            guard let old = sources[parameter.name] else {
                throw CodecError(code: .incompatibleModel, message: "the initial model has no parameter \(parameter.name)")
            }
            try copy(old, into: parameter, fill: fill(for: parameter.name))
        }
    }

    static func fill(for name: String) -> Fill {
        if name.hasPrefix("g_s.0.") || name.hasPrefix("h_a.0.") { return .zero }
        if name.hasPrefix("g_a.6.") { return .scaledInitialisation(newAnalysisScale) }
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
