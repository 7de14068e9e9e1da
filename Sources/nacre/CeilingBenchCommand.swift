import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre bench ceiling`: how much of the codec's distortion is quantization and how much the
/// transforms themselves (g_a then g_s with the latents not rounded); and how far the real
/// bitstream is above the rate the model estimates (what training minimises); for a mean model,
/// what its means save of that estimate.
struct CeilingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceiling",
        abstract: "Transform ceiling and coding overhead: mean PSNR per quality with the latents rounded (a decode) and not rounded (the transforms alone); the bitstream's bpp against the model's own rate estimate.")

    @OptionGroup var testSet: CodecTestSetOptions

    func run() throws {
        let levels = try testSet.qualityList()
        let codec = try CodecModel.load(contentsOfFile: testSet.model, engine: try Engine(threads: testSet.threads))
        let images = try testSet.images().map(\.pixels)
        let means = codec.configuration.predictsMeans
        if let magnitudes = codec.meanPathWeightMagnitudes() {
            print(String(format: "mean path: head mean |weight| %.5f; h_a.0 mean |weight| on y %.5f, on |y| %.5f",
                         magnitudes.head, magnitudes.hyperAnalysisOnY, magnitudes.hyperAnalysisOnMagnitude))
        }
        print("quality  rounded dB  not rounded dB  bitstream bpp  model estimate bpp  overhead"
              + (means ? "  estimate without means  means save" : "") + "  (mean over \(images.count) images)")
        for quality in levels {
            var rounded = 0.0, exact = 0.0, bitstream = 0.0, estimate = 0.0, withoutMeans = 0.0
            for image in images {
                rounded += try PSNR(reference: image, distorted: try codec.reconstruction(of: image, quality: quality, rounding: true)).decibels
                exact += try PSNR(reference: image, distorted: try codec.reconstruction(of: image, quality: quality, rounding: false)).decibels
                bitstream += try codec.encode(image, quality: quality, tileSide: 0).bitsPerPixel
                let bits = try codec.estimatedBits(of: image, quality: quality)
                estimate += (bits.latent + bits.hyperLatent) / Double(image.pixelCount)
                if let plain = bits.latentWithoutMeans { withoutMeans += (plain + bits.hyperLatent) / Double(image.pixelCount) }
            }
            let count = Double(images.count)
            let meanColumns = means ? String(format: "  %22.4f  %8.2f %%", withoutMeans / count, (1 - estimate / withoutMeans) * 100) : ""
            print(String(format: "%7.1f  %10.3f  %14.3f  %13.4f  %18.4f  %+7.2f %%", quality, rounded / count, exact / count,
                         bitstream / count, estimate / count, (bitstream / estimate - 1) * 100) + meanColumns)
        }
    }
}
