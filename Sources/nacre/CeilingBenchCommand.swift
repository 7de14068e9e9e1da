import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre bench ceiling`: how much of the codec's distortion is quantization and how much the
/// transforms themselves (g_a then g_s with the latents not rounded).
struct CeilingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceiling",
        abstract: "Transform ceiling: mean PSNR per quality with the latents rounded (a decode) and not rounded (the transforms alone).")

    @OptionGroup var testSet: CodecTestSetOptions

    func run() throws {
        let levels = try testSet.qualityList()
        let codec = try CodecModel.load(contentsOfFile: testSet.model, engine: try Engine(threads: testSet.threads))
        let images = try testSet.images().map(\.pixels)
        print("quality  rounded dB  not rounded dB  (mean over \(images.count) images)")
        for quality in levels {
            var rounded = 0.0, exact = 0.0
            for image in images {
                rounded += try PSNR(reference: image, distorted: try codec.reconstruction(of: image, quality: quality, rounding: true)).decibels
                exact += try PSNR(reference: image, distorted: try codec.reconstruction(of: image, quality: quality, rounding: false)).decibels
            }
            let count = Double(images.count)
            print(String(format: "%7.1f  %10.3f  %14.3f", quality, rounded / count, exact / count))
        }
    }
}
