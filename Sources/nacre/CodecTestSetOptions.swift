import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// The options every codec benchmark over a folder of test images shares: which images, which
/// model, which qualities, how many threads.
struct CodecTestSetOptions: ParsableArguments {
    @Option(help: "Folder of test PNGs (e.g. ../shared/data/kodak).") var data: String
    @Option(help: "Coded model (from `nacre export-model`).") var model: String
    @Option(help: "Comma-separated qualities (1…100).") var qualities = "10,25,40,55,70,85,100"
    @Option(help: "Use only the first N images.") var limit: Int?
    @Option(help: "Compute threads.") var threads: Int?

    /// The parsed `--qualities`.
    func qualityList() throws -> [Double] { try CodecFiles.qualities(qualities) }

    /// The test images, by file name, in the order the folder lists them.
    func images() throws -> [(name: String, pixels: PixelBuffer)] {
        try CodecFiles.pngPaths(in: data, limit: limit).map {
            (name: ($0 as NSString).lastPathComponent, pixels: try CodecFiles.readPNG($0))
        }
    }
}
