import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre export-model`: turns a trained float model (or a training checkpoint) into a coded model.
struct ExportModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-model",
        abstract: "Export a trained float model or checkpoint as a coded model (integer h_s, tables, gain offsets).",
        discussion: "Calibrates the integer h_s on crops of a few photos from --calibrate (never use the test set).")

    @Option(help: "Float model (.nwts) or training checkpoint to export.") var from: String
    @Option(help: "Where to write the coded model (encoder + decoder).") var out: String
    @Option(help: "Folder of PNG photos for calibration.") var calibrate: String
    @Option(help: "Photos to calibrate on.") var calibrationImages = 4
    @Option(help: "Side of the calibration crops (two per photo).") var crop = 256
    @Option(help: "Also write the decoder-only bytes here.") var decoderOut: String?
    @Option(help: "Compute threads.") var threads: Int?

    func run() throws {
        let engine = try Engine(threads: threads)
        let weights = try WeightsFile.read(from: from)
        var crops: [PixelBuffer] = []
        for path in try CodecFiles.pngPaths(in: calibrate, limit: calibrationImages) {
            crops += try Self.calibrationCrops(of: CodecFiles.readPNG(path), side: crop)
        }
        let model = try CodecModel.exporting(from: weights, calibrationImages: crops, engine: engine,
                                             info: ["source.file": (from as NSString).lastPathComponent])
        let bytes = model.serialized()
        try CodecFiles.writeAtomically(bytes, to: out)
        let decoder = model.decoderBytes()
        if let decoderOut { try CodecFiles.writeAtomically(decoder, to: decoderOut) }
        for quality in [1.0, 50, 100] {
            let agreement = try model.scaleIndexAgreement(on: crops, quality: quality)
            print(String(format: "integer vs float scale index at quality %.0f on the calibration crops: %.2f%% equal, %.2f%% within one step, max %d",
                         quality, agreement.equal * 100, agreement.withinOne * 100, agreement.maximumDifference))
        }
        print("exported model \(model.identifierString) (step \(model.info["source.step"] ?? "?")): \(bytes.count) bytes, decoder \(decoder.count) bytes, \(crops.count) calibration crops")
    }

    /// The centre crop and the top-left quarter-offset crop of a photo.
    static func calibrationCrops(of image: PixelBuffer, side: Int) throws -> [PixelBuffer] {
        let cx = max(0, (image.width - side) / 2), cy = max(0, (image.height - side) / 2)
        let qx = max(0, (image.width - side) / 4), qy = max(0, (image.height - side) / 4)
        return [try image.window(x: cx, y: cy, width: side, height: side),
                try image.window(x: qx, y: qy, width: side, height: side)]
    }
}
