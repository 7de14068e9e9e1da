import Foundation

/// The verdict of the re-training gate as `nacre gate --json` prints it and the daemon reads it
/// back: one definition of that JSON for both sides.
public struct GateReport: Codable, Sendable {
    /// SHA-256 (hex) of the champion's model frame (its decoder, bundled with its denoiser when
    /// the gate measured one): the catalog's model id.
    public var championID: String
    /// SHA-256 (hex) of the challenger's model frame, as for the champion.
    public var challengerID: String
    /// The challenger's BD-rate against the champion; nil when not finite (the curves could not
    /// be compared).
    public var bdRatePercent: Double?
    public var marginPercent: Double
    public var promote: Bool
    public var summary: String
    /// Held-back crops measured.
    public var crops: Int
    /// Whether each model was measured through its own denoiser.
    public var denoised: Bool
    public var champion: RateDistortionCurve
    public var challenger: RateDistortionCurve

    public init(championID: String, challengerID: String, bdRatePercent: Double?, marginPercent: Double, promote: Bool,
                summary: String, crops: Int, denoised: Bool = false, champion: RateDistortionCurve, challenger: RateDistortionCurve) {
        self.championID = championID
        self.challengerID = challengerID
        self.bdRatePercent = bdRatePercent
        self.marginPercent = marginPercent
        self.promote = promote
        self.summary = summary
        self.crops = crops
        self.denoised = denoised
        self.champion = champion
        self.challenger = challenger
    }

    enum CodingKeys: String, CodingKey {
        case championID = "champion_id", challengerID = "challenger_id", bdRatePercent = "bd_rate_percent"
        case marginPercent = "margin_percent", promote, summary, crops, denoised, champion, challenger
    }

    /// One JSON object, keys sorted; an infinite PSNR (a lossless crop) as the string "inf".
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads what `json()` wrote.
    public static func decode(_ data: Data) throws -> GateReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(GateReport.self, from: data)
    }
}
