import Foundation
import NacreImage

/// The rate-distortion benchmark: codes every image at every quality with the real encoder and
/// decoder and measures the real bitstream size, the 8-bit RGB PSNR and MS-SSIM, and the time.
public struct RateDistortionBench {
    /// One image at one quality.
    public struct Measurement: Sendable, Codable {
        public var image: String
        public var quality: Double
        /// Whole encoded record (header + z + y) × 8 / pixels.
        public var bitsPerPixel: Double
        /// z stream bytes × 8 / pixels.
        public var hyperBitsPerPixel: Double
        public var psnr: Double
        /// nil when the image is smaller than MS-SSIM's 161-pixel minimum side.
        public var msssim: Double?
        public var encodeSeconds: Double
        public var decodeSeconds: Double
        /// The part of decoding that is entropy decoding and the integer h_s (timed separately).
        public var latentDecodeSeconds: Double
        public var pixels: Int
    }

    /// Means over the images at one quality.
    public struct Point: Sendable, Codable {
        public var quality: Double
        /// Mean of per-image bpp (every Kodak image has the same size, so this is also total bits / total pixels there).
        public var bitsPerPixel: Double
        public var hyperBitsPerPixel: Double
        public var psnr: Double
        public var msssim: Double?
        public var images: Int
    }

    public struct Report: Sendable, Codable {
        public var points: [Point]
        public var measurements: [Measurement]
        /// Total encode time / total megapixels, in ms.
        public var encodeMillisecondsPerMegapixel: Double
        public var decodeMillisecondsPerMegapixel: Double
        /// Entropy decoding + integer h_s only.
        public var latentDecodeMillisecondsPerMegapixel: Double

        /// The curve in the anchors' JSON format.
        public func curve(method: String) -> RateDistortionCurve {
            let ssim = points.allSatisfy { $0.msssim != nil } ? points.map { $0.msssim! } : nil
            return RateDistortionCurve(method: method, bpp: points.map(\.bitsPerPixel), psnr: points.map(\.psnr), msssim: ssim)
        }
    }

    public let model: CodecModel
    public let qualities: [Double]
    /// Forced tile side (nil: the encoder's automatic layout).
    public let tileSide: Int?
    /// Encoder-side latent refinement (nil: none).
    public let refinement: LatentRefinement?

    public init(model: CodecModel, qualities: [Double], tileSide: Int? = nil, refinement: LatentRefinement? = nil) throws {
        guard !qualities.isEmpty else { throw CodecError(code: .invalidArgument, message: "give at least one quality") }
        for q in qualities { _ = try QualityPosition(quality: q, levelCount: model.configuration.levelCount) }
        self.model = model
        self.qualities = qualities
        self.tileSide = tileSide
        self.refinement = refinement
    }

    /// Runs every image at every quality; `progress` gets one line per coded image.
    public func run(images: [(name: String, pixels: PixelBuffer)], progress: (Measurement) -> Void = { _ in }) throws -> Report {
        var measurements: [Measurement] = []
        for (name, image) in images {
            for quality in qualities {
                let start = DispatchTime.now().uptimeNanoseconds
                let encoded = try model.encode(image, quality: quality, tileSide: tileSide, refinement: refinement)
                let middle = DispatchTime.now().uptimeNanoseconds
                let decoded = try model.decode(encoded)
                let end = DispatchTime.now().uptimeNanoseconds
                _ = try model.decodeLatents(encoded)
                let latentEnd = DispatchTime.now().uptimeNanoseconds
                let pixels = Double(image.pixelCount)
                let large = min(image.width, image.height) >= MSSSIM.minimumSide
                let m = Measurement(
                    image: name, quality: quality, bitsPerPixel: encoded.bitsPerPixel,
                    hyperBitsPerPixel: Double(encoded.streamByteCounts.z * 8) / pixels,
                    psnr: try PSNR(reference: image, distorted: decoded).decibels,
                    msssim: large ? try MSSSIM.compute(reference: image, distorted: decoded) : nil,
                    encodeSeconds: Double(middle - start) / 1e9, decodeSeconds: Double(end - middle) / 1e9,
                    latentDecodeSeconds: Double(latentEnd - end) / 1e9, pixels: image.pixelCount)
                measurements.append(m)
                progress(m)
            }
        }
        var points: [Point] = []
        for quality in qualities {
            let at = measurements.filter { $0.quality == quality }
            let count = Double(at.count)
            let ssims = at.compactMap(\.msssim)
            points.append(Point(
                quality: quality, bitsPerPixel: at.reduce(0) { $0 + $1.bitsPerPixel } / count,
                hyperBitsPerPixel: at.reduce(0) { $0 + $1.hyperBitsPerPixel } / count,
                psnr: at.reduce(0) { $0 + $1.psnr } / count,
                msssim: ssims.count == at.count && !at.isEmpty ? ssims.reduce(0, +) / count : nil, images: at.count))
        }
        let megapixels = Double(measurements.reduce(0) { $0 + $1.pixels }) / 1e6
        return Report(points: points, measurements: measurements,
                      encodeMillisecondsPerMegapixel: measurements.reduce(0) { $0 + $1.encodeSeconds } * 1000 / megapixels,
                      decodeMillisecondsPerMegapixel: measurements.reduce(0) { $0 + $1.decodeSeconds } * 1000 / megapixels,
                      latentDecodeMillisecondsPerMegapixel: measurements.reduce(0) { $0 + $1.latentDecodeSeconds } * 1000 / megapixels)
    }

    /// BD-rate (percent) of `curve` against each anchor curve, or nil where the PSNR ranges do not
    /// overlap (or a curve has fewer than 4 points).
    public static func bdRates(of curve: RateDistortionCurve, against anchors: [String: RateDistortionCurve]) -> [(name: String, bdRate: Double?, reason: String?)] {
        anchors.keys.sorted().map { name in
            do {
                return (name, try BjontegaardDelta.rate(reference: anchors[name]!, test: curve), nil)
            } catch {
                return (name, nil, "\(error)")
            }
        }
    }
}
