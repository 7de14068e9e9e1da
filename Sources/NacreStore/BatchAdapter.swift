import NacreArchive
import NacreCodec
import NacreImage

/// Per-collection adaptation of a whole batch, shared by `nacre pack --adapt-seconds` and the
/// daemon's `encode.adapt_seconds`: fine-tunes the decoder on a sample spread over the batch,
/// measures every image of the batch again with the adapted decoder, and keeps it only when the
/// batch's mean PSNR rises.
///
/// The verdict is the whole batch's because a sample can improve at the other images' expense:
/// a 500-image batch trained on its first 64 images lost 0.09 dB overall (BENCHMARKS.md,
/// "Per-collection adaptation"). The bitstreams never change, only the decoder and the records'
/// measurements.
public struct BatchAdapter {
    /// The fine-tuning (its step and time budget, learning rate, windows).
    public var tuning: DecoderAdaptation
    /// At most this many images are trained on (their pixels are held in memory meanwhile).
    public var sampleLimit: Int

    /// Fine-tuning for `seconds` (no step limit) on at most `sampleLimit` images.
    public init(seconds: Double, sampleLimit: Int) {
        self.init(tuning: DecoderAdaptation(steps: 1_000_000, timeBudgetSeconds: seconds), sampleLimit: sampleLimit)
    }

    public init(tuning: DecoderAdaptation, sampleLimit: Int) {
        self.tuning = tuning
        self.sampleLimit = sampleLimit
    }

    /// What the adapter is doing, for a progress display.
    public enum Progress {
        /// A fine-tuning step and the running mean squared error (0…255 scale) of the sample.
        case training(step: Int, mse: Double)
        /// The `index`-th of `count` images is being measured with the adapted decoder.
        case measuring(index: Int, count: Int)
    }

    /// What an adaptation did.
    public struct Outcome {
        /// The decoder the batch's archive carries: the adapted one, or the base model when the
        /// adaptation did not raise the batch's mean PSNR.
        public var decoder: CodecModel
        /// The batch's images, measured with `decoder` (the input images when the base is kept).
        public var images: [ArchiveImage]
        /// True when `decoder` is the adapted one.
        public var isAdapted: Bool
        /// How many images were trained on.
        public var trainedOn: Int
        /// The fine-tuning's own report (its steps, time and the sample's error).
        public var training: DecoderAdaptation.Report
        /// Mean PSNR over the batch's images (finite values) with the base decoder and with the
        /// adapted one; equal when the adapted decoder was not measured (the fine-tuning did not
        /// lower the sample's error, or a stop was asked for).
        public var meanPSNRBefore: Double
        public var meanPSNRAfter: Double
        /// The denoiser to store with `decoder`: the given one when the base is kept; with the
        /// adapted decoder, the given one bound to it if it still raises the batch's mean PSNR
        /// through that decoder, else nil.
        public var denoiser: Denoiser?
        /// How much the given denoiser raised the mean PSNR through the adapted decoder (nil
        /// when it was not measured).
        public var denoiserGain: Double?
    }

    /// `limit` indices of `0..<count` spread evenly over it (all of them when `count ≤ limit`),
    /// so a sample of a long batch sees all of it, not only its start.
    public static func sampleIndices(count: Int, limit: Int) -> [Int] {
        guard count > limit else { return Array(0..<count) }
        return (0..<max(limit, 0)).map { $0 * count / limit }
    }

    /// Mean of the images' finite PSNRs (NaN when there is none).
    public static func meanPSNR(_ images: [ArchiveImage]) -> Double {
        let finite = images.map { Double($0.record.psnr) }.filter(\.isFinite)
        return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
    }

    /// Adapts `codec`'s decoder to `images` (packed and measured with `codec`, in batch order).
    /// `denoiser` is the one the archive would carry with `codec` (trained for it), if any.
    /// `original(i)` reads image `i`'s PNG file and its decoded form. `shouldStop` is asked
    /// between steps and between measurements: true ends the work early and keeps the base.
    public func adapt(_ codec: CodecModel, images: [ArchiveImage], denoiser: Denoiser? = nil,
                      original: (Int) throws -> (bytes: [UInt8], decoded: DecodedImage),
                      shouldStop: () -> Bool = { false }, progress: (Progress) -> Void = { _ in }) throws -> Outcome {
        let chosen = Self.sampleIndices(count: images.count, limit: sampleLimit)
        var held: [Int: (bytes: [UInt8], decoded: DecodedImage)] = [:]
        for index in chosen { held[index] = try original(index) }
        let samples = try chosen.map { index in
            DecoderAdaptation.Sample(encoded: try EncodedImage(serialized: images[index].bitstreams[0]),
                                     original: held[index]!.decoded.pixels)
        }
        let (adapted, report) = try tuning.adapt(codec, samples: samples, shouldStop: shouldStop,
                                                 progress: { progress(.training(step: $0, mse: $1)) })
        let before = Self.meanPSNR(images)
        let kept = Outcome(decoder: codec, images: images, isAdapted: false, trainedOn: chosen.count, training: report,
                           meanPSNRBefore: before, meanPSNRAfter: before, denoiser: denoiser)
        guard adapted.identifier != codec.identifier, !shouldStop() else { return kept }

        let packer = try ImagePacker(codec: codec, rate: .quality(50))  // the rate is not used to measure
        var measured: [ArchiveImage] = []
        measured.reserveCapacity(images.count)
        var denoised = MeanPSNR(), plain = MeanPSNR()
        for (index, image) in images.enumerated() {
            if shouldStop() { return kept }
            progress(.measuring(index: index, count: images.count))
            let (bytes, decoded) = try held.removeValue(forKey: index) ?? original(index)
            let encoded = tuning.relabel(try EncodedImage(serialized: image.bitstreams[0]), for: adapted)
            let reconstruction = try packer.reconstruct(pngBytes: bytes, decoded: decoded, encoded: encoded, decoder: adapted)
            measured.append(try ImagePacker.measure(reconstruction, name: image.record.name).image)
            if let denoiser {
                // Measured as the block would be used once bound to the adapted decoder.
                let filtered = try denoiser.apply(to: reconstruction.decodedPixels, quality: encoded.quality)
                plain.add(try PSNR(reference: decoded.pixels, distorted: reconstruction.decodedPixels).decibels)
                denoised.add(try PSNR(reference: decoded.pixels, distorted: filtered).decibels)
            }
        }
        let after = Self.meanPSNR(measured)
        guard after > before else {
            var outcome = kept
            outcome.meanPSNRAfter = after
            return outcome
        }
        let gain = denoiser == nil ? nil : denoised.mean - plain.mean
        var rebound: Denoiser?
        if let denoiser, let gain, gain > 0 {
            rebound = try Denoiser(serialized: denoiser.serialized(boundTo: adapted.identifier), engine: codec.network.engine)
        }
        return Outcome(decoder: adapted, images: measured, isAdapted: true, trainedOn: chosen.count, training: report,
                       meanPSNRBefore: before, meanPSNRAfter: after, denoiser: rebound, denoiserGain: gain)
    }

    /// A running mean of finite PSNR values.
    private struct MeanPSNR {
        var sum = 0.0, count = 0
        mutating func add(_ value: Double) { if value.isFinite { sum += value; count += 1 } }
        var mean: Double { count == 0 ? .nan : sum / Double(count) }
    }
}
