import Foundation
import NacreEngine
import NacreImage

/// The champion/challenger gate of re-training: a challenger model replaces the champion only if
/// its BD-rate against the champion, measured on held-back crops over at least four qualities,
/// is below a margin (default −1 %: at least 1 % fewer bits at equal PSNR).
///
/// Each model is measured as an archive would use it: encoded with the full model, decoded with
/// its decoder-only form (`decoderBytes()`, what the archive stores — so an int8 decoder is
/// measured as int8), and through its denoiser when the models have one (what a restore with
/// `denoise` gives). Rates are real
/// bitstream bytes; PSNR is that of the MSE pooled over all crops at a quality.
public struct ModelGate: Sendable {
    /// Qualities measured (at least 4, so the BD-rate's cubic fit is determined).
    public let qualities: [Double]
    /// The BD-rate (percent) the challenger must beat (be below).
    public let marginPercent: Double

    /// What the gate found.
    public struct Verdict: Sendable, Codable {
        public var champion: RateDistortionCurve
        public var challenger: RateDistortionCurve
        /// BD-rate of the challenger against the champion, percent (negative: fewer bits); nil
        /// when the curves share no PSNR range, so the BD-rate is undefined.
        public var bdRatePercent: Double?
        public var marginPercent: Double
        /// Whether the challenger wins: only with a BD-rate below the margin (an undefined one
        /// does not show the challenger to be better, so it is a rejection, not a failure).
        public var promote: Bool

        public var summary: String {
            guard let bdRatePercent else {
                return String(format: "the curves share no PSNR range (champion %.2f…%.2f dB, challenger %.2f…%.2f dB), so the BD-rate is undefined: rejected",
                              champion.psnr.min() ?? 0, champion.psnr.max() ?? 0, challenger.psnr.min() ?? 0, challenger.psnr.max() ?? 0)
            }
            return String(format: "challenger BD-rate %+.2f %% vs champion (margin %+.2f %%): %@", bdRatePercent, marginPercent,
                          promote ? "promoted" : "rejected")
        }
    }

    /// - Throws: `.invalidArgument` for fewer than 4 qualities or one outside 1…100, or a margin that is not finite.
    public init(qualities: [Double] = [10, 32, 55, 77, 100], marginPercent: Double = -1) throws {
        guard Set(qualities).count >= 4, qualities.allSatisfy({ QualityPosition.qualityRange.contains($0) }) else {
            throw CodecError(code: .invalidArgument, message: "the gate needs at least 4 different qualities in 1…100, got \(qualities)")
        }
        guard marginPercent.isFinite else {
            throw CodecError(code: .invalidArgument, message: "the gate's margin must be a finite percentage")
        }
        self.qualities = qualities.sorted()
        self.marginPercent = marginPercent
    }

    /// Judges `challenger` against `champion` on `crops` (never the training crops). With
    /// denoisers, each model's decoded crops go through its own (both or neither: a model measured
    /// with a post-filter against one without would not compare the models).
    public func judge(champion: CodecModel, challenger: CodecModel, crops: [PixelBuffer],
                      championDenoiser: Denoiser? = nil, challengerDenoiser: Denoiser? = nil) throws -> Verdict {
        guard (championDenoiser == nil) == (challengerDenoiser == nil) else {
            throw CodecError(code: .invalidArgument, message: "the gate measures both models through their denoisers or neither; give both denoisers, or none")
        }
        let championCurve = try curve(of: champion, crops: crops, method: "champion \(champion.identifierString)", denoiser: championDenoiser)
        let challengerCurve = try curve(of: challenger, crops: crops, method: "challenger \(challenger.identifierString)",
                                        denoiser: challengerDenoiser)
        let bd = (try? BjontegaardDelta.rate(reference: championCurve, test: challengerCurve)).flatMap { $0.isFinite ? $0 : nil }
        return Verdict(champion: championCurve, challenger: challengerCurve, bdRatePercent: bd,
                       marginPercent: marginPercent, promote: bd.map { $0 < marginPercent } ?? false)
    }

    /// The model's curve on the crops at the gate's qualities; with `denoiser` (trained for this
    /// model's decoder), as restored with `denoise`.
    public func curve(of model: CodecModel, crops: [PixelBuffer], method: String, denoiser: Denoiser? = nil) throws -> RateDistortionCurve {
        try denoiser?.requireDecoder(model.identifier)
        guard !crops.isEmpty else {
            throw CodecError(code: .invalidArgument, message: "the gate has no held-back crops to measure on")
        }
        let decoder = try CodecModel.load(model.decoderBytes(), engine: model.network.engine)
        let pixels = Double(crops.reduce(0) { $0 + $1.pixelCount })
        var bpp: [Double] = [], psnr: [Double] = []
        for quality in qualities {
            var bits = 0.0, squaredError = 0.0
            for crop in crops {
                let encoded = try model.encode(crop, quality: quality)
                bits += Double(encoded.serialized().count * 8)
                var decoded = try decoder.decode(encoded)
                if let denoiser { decoded = try denoiser.apply(to: decoded, quality: quality) }
                squaredError += try PSNR(reference: crop, distorted: decoded).mse * Double(crop.pixelCount)
            }
            bpp.append(bits / pixels)
            let mse = squaredError / pixels
            psnr.append(mse > 0 ? 10 * Foundation.log10(255 * 255 / mse) : 100)
        }
        return RateDistortionCurve(method: method, bpp: bpp, psnr: psnr)
    }
}
