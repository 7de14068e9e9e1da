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

    @Option(help: "Folder of test PNGs (e.g. ../shared/data/kodak).") var data: String
    @Option(help: "Coded model (from `nacre export-model`).") var model: String
    @Option(help: "Comma-separated qualities (1…100).") var qualities = "10,25,40,55,70,85,100"
    @Option(help: "Use only the first N images.") var limit: Int?
    @Option(help: "Compute threads.") var threads: Int?

    func run() throws {
        let levels = try CodecFiles.qualities(qualities)
        let codec = try CodecModel.load(contentsOfFile: try CodecFiles.modelPath(model), engine: try Engine(threads: threads))
        let images = try CodecFiles.pngPaths(in: data, limit: limit).map(CodecFiles.readPNG)
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
