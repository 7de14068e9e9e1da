import Foundation

/// One codec's rate-distortion curve: points sorted by rate.
///
/// The JSON form is the one of `../shared/anchors/kodak/*.json` (CompressAI's results tables):
/// `{"method": …, "bpp": […], "psnr": […], "ms-ssim": […]?}`. PSNR is RGB PSNR on 8-bit output
/// averaged over images; bpp is total bits over total pixels.
public struct RateDistortionCurve: Codable, Sendable, Equatable {
    /// Human-readable name of the codec and its settings.
    public var method: String
    /// Bits per pixel of each point.
    public var bpp: [Double]
    /// Mean RGB PSNR (dB) of each point.
    public var psnr: [Double]
    /// Mean MS-SSIM of each point, when measured.
    public var msssim: [Double]?

    enum CodingKeys: String, CodingKey {
        case method, bpp, psnr
        case msssim = "ms-ssim"
    }

    /// Creates a curve; points are sorted by rate.
    public init(method: String, bpp: [Double], psnr: [Double], msssim: [Double]? = nil) {
        let order = bpp.indices.sorted { bpp[$0] < bpp[$1] }
        self.method = method
        self.bpp = order.map { bpp[$0] }
        self.psnr = order.map { psnr[$0] }
        self.msssim = msssim.map { values in order.map { values[$0] } }
    }

    /// Reads the curves of one anchor file. A file holds either one curve, or several keyed by
    /// codec name (as `this-machine-pillow.json` does); the result maps a name to each curve
    /// (the file's base name for a single-curve file).
    public static func loadAnchors(from url: URL) throws -> [String: RateDistortionCurve] {
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        if let single = try? decoder.decode(RateDistortionCurve.self, from: data) {
            return [url.deletingPathExtension().lastPathComponent: single]
        }
        do {
            return try decoder.decode([String: RateDistortionCurve].self, from: data)
        } catch {
            throw EvaluationError(
                code: .badAnchorFile,
                message: "\(url.path) is neither one rate-distortion curve nor a map of curves (\(error)); "
                    + "expected {\"method\", \"bpp\", \"psnr\"} as in shared/anchors/kodak")
        }
    }
}
