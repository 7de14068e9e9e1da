import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NacreImage

/// Measures a denoiser on real bitstreams: each image is coded once per quality, decoded, and
/// filtered; PSNR with and without the filter (same bitstream), and the time the filter adds.
public struct DenoiserBench {
    /// Means over the images at one quality.
    public struct Point: Sendable, Codable {
        public var quality: Double
        /// Latent bits per pixel (mean over the images; Kodak images all have the same size).
        public var bitsPerPixel: Double
        public var psnr: Double
        public var denoisedPSNR: Double
        /// Gain at equal bpp: the denoised PSNR minus the plain curve's PSNR at the rate that
        /// includes the denoiser's bytes (interpolated linearly in log-rate; extrapolated past the ends).
        public var equalRateGain: Double
    }

    public struct Report: Sendable, Codable {
        public var points: [Point]
        /// Denoiser time / megapixels, in ms (wall time).
        public var millisecondsPerMegapixel: Double
        /// Decoding time (entropy decoding, h_s, g_s) / megapixels in the same run, in ms: what
        /// the denoiser adds to.
        public var decodeMillisecondsPerMegapixel: Double
        /// Bits per pixel the denoiser block adds when its bytes are spread over the images.
        public var denoiserBitsPerPixel: Double
    }

    public let model: CodecModel
    /// The denoisers compared (each gets its own report; the bitstreams are shared).
    public let denoisers: [Denoiser]
    public let qualities: [Double]
    /// Bytes each denoiser costs in an archive (its block after the model frame's zstd).
    public let denoiserBytes: [Int]

    public init(model: CodecModel, denoisers: [Denoiser], qualities: [Double], denoiserBytes: [Int]) throws {
        guard !qualities.isEmpty, qualities.allSatisfy({ (1...100).contains($0) }) else {
            throw CodecError(code: .invalidArgument, message: "give at least one quality, each in 1…100")
        }
        guard !denoisers.isEmpty, denoiserBytes.count == denoisers.count else {
            throw CodecError(code: .invalidArgument, message: "give at least one denoiser, and one byte count for each")
        }
        for denoiser in denoisers { try denoiser.requireDecoder(model.identifier) }
        self.model = model
        self.denoisers = denoisers
        self.qualities = qualities.sorted()
        self.denoiserBytes = denoiserBytes
    }

    public init(model: CodecModel, denoiser: Denoiser, qualities: [Double], denoiserBytes: Int) throws {
        try self.init(model: model, denoisers: [denoiser], qualities: qualities, denoiserBytes: [denoiserBytes])
    }

    /// Codes every image at every quality once and filters each decode with every denoiser; one
    /// report per denoiser. `progress` gets (image, quality, bpp, psnr, denoised psnr of each).
    public func run(images: [(name: String, pixels: PixelBuffer)],
                    progress: (String, Double, Double, Double, [Double]) -> Void = { _, _, _, _, _ in }) throws -> [Report] {
        var bits = [Double](repeating: 0, count: qualities.count), psnr = bits
        var denoised = [[Double]](repeating: bits, count: denoisers.count)
        var seconds = [Double](repeating: 0, count: denoisers.count)
        var decodeSeconds = 0.0, megapixels = 0.0, totalPixels = 0
        for (name, image) in images {
            totalPixels += image.pixelCount
            for (index, quality) in qualities.enumerated() {
                let encoded = try model.encode(image, quality: quality)
                let decodeStart = DispatchTime.now().uptimeNanoseconds
                let decoded = try model.decode(encoded)
                decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - decodeStart) / 1e9
                megapixels += Double(image.pixelCount) / 1e6
                let bpp = Double(encoded.serialized().count * 8) / Double(image.pixelCount)
                let plain = try PSNR(reference: image, distorted: decoded).decibels
                var better: [Double] = []
                for (d, denoiser) in denoisers.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let filtered = try denoiser.apply(to: decoded, quality: encoded.quality)
                    seconds[d] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    better.append(try PSNR(reference: image, distorted: filtered).decibels)
                    denoised[d][index] += better[d]
                }
                bits[index] += bpp
                psnr[index] += plain
                progress(name, quality, bpp, plain, better)
            }
        }
        let count = Double(max(1, images.count))
        let rates = bits.map { $0 / count }, plain = psnr.map { $0 / count }
        return denoisers.indices.map { d in
            let extra = Double(denoiserBytes[d] * 8) / Double(max(1, totalPixels))
            let points = qualities.indices.map { i in
                Point(quality: qualities[i], bitsPerPixel: rates[i], psnr: plain[i], denoisedPSNR: denoised[d][i] / count,
                      equalRateGain: denoised[d][i] / count - Self.interpolate(rates: rates, psnr: plain, at: rates[i] + extra))
            }
            return Report(points: points, millisecondsPerMegapixel: seconds[d] * 1000 / max(1e-9, megapixels),
                          decodeMillisecondsPerMegapixel: decodeSeconds * 1000 / max(1e-9, megapixels), denoiserBitsPerPixel: extra)
        }
    }

    /// PSNR of the curve (rates increasing) at `rate`, linear in log-rate between its points.
    static func interpolate(rates: [Double], psnr: [Double], at rate: Double) -> Double {
        guard rates.count > 1 else { return psnr.first ?? .nan }
        var segment = rates.count - 2
        for i in 0..<(rates.count - 1) where rate <= rates[i + 1] { segment = i; break }
        let a = log(rates[segment]), b = log(rates[segment + 1])
        guard b > a else { return psnr[segment] }
        return psnr[segment] + (psnr[segment + 1] - psnr[segment]) * (log(rate) - a) / (b - a)
    }
}

extension DenoiserBench {
    /// Time of `denoiser` on a synthetic `width × height` image, ms per megapixel: the median wall
    /// time of `repeats` runs after one warm-up, and the process CPU time per run (all threads),
    /// which a busy machine inflates far less than wall time. For choosing an architecture.
    public static func speed(of denoiser: Denoiser, width: Int, height: Int, repeats: Int) throws -> (wall: Double, cpu: Double) {
        var rng = SystemRandomNumberGenerator()
        let image = try PixelBuffer(width: width, height: height, rgb: (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        _ = try denoiser.apply(to: image, quality: 50)
        var times: [Double] = []
        let cpuStart = processCPUSeconds()
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try denoiser.apply(to: image, quality: 50)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let megapixels = Double(width * height) / 1e6
        let cpu = (processCPUSeconds() - cpuStart) * 1000 / Double(times.count)
        return (times.sorted()[times.count / 2] / megapixels, cpu / megapixels)
    }

    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
