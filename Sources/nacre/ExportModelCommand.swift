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

    @Option(help: "Float model (.nwts) or training checkpoint to export; or a full coded model (.nxcm) to re-store with another --decoder-precision (no re-calibration).") var from: String
    @Option(help: "Where to write the coded model (encoder + decoder).") var out: String
    @Option(help: "Folder of PNG photos for calibration.") var calibrate: String
    @Option(help: "Photos to calibrate on.") var calibrationImages = 4
    @Option(help: "Side of the calibration crops (two per photo).") var crop = 256
    @Option(help: "Also write the decoder-only bytes here.") var decoderOut: String?
    @Option(help: "Compute threads.") var threads: Int?
    @Option(help: "How g_s's convolution weights are stored: int8 (per output channel, format version 2) or f32 (the reference, version 1).")
    var decoderPrecision = DecoderPrecision.int8.rawValue
    @Option(help: "int8 scale per channel: meanSquaredError (clip to minimise the weight error; measured best on photos) or maximum (max |w| / 127).")
    var weightClipping = Int8ChannelWeights.Clipping.meanSquaredError.rawValue

    func validate() throws {
        guard DecoderPrecision(rawValue: decoderPrecision) != nil else {
            throw ValidationError("--decoder-precision must be one of \(DecoderPrecision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard Int8ChannelWeights.Clipping(rawValue: weightClipping) != nil else {
            throw ValidationError("--weight-clipping must be one of \(Int8ChannelWeights.Clipping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let engine = try Engine(threads: threads)
        var crops: [PixelBuffer] = []
        for path in try CodecFiles.pngPaths(in: calibrate, limit: calibrationImages) {
            crops += try Self.calibrationCrops(of: CodecFiles.readPNG(path), side: crop)
        }
        let source: CodecModel
        if try Self.isCodedModel(from) {
            source = try CodecModel.load(contentsOfFile: from, engine: engine)
        } else {
            source = try CodecModel.exporting(from: try WeightsFile.read(from: from), calibrationImages: crops, engine: engine,
                                              info: ["source.file": (from as NSString).lastPathComponent])
        }
        let model = try source.withDecoderPrecision(DecoderPrecision(rawValue: decoderPrecision)!,
                                  clipping: Int8ChannelWeights.Clipping(rawValue: weightClipping)!,
                                  calibrationImages: crops)
        let bytes = model.serialized()
        try CodecFiles.writeAtomically(bytes, to: out)
        let decoder = model.decoderBytes()
        if let decoderOut { try CodecFiles.writeAtomically(decoder, to: decoderOut) }
        for quality in [1.0, 50, 100] {
            let agreement = try model.scaleIndexAgreement(on: crops, quality: quality)
            print(String(format: "integer vs float scale index at quality %.0f on the calibration crops: %.2f%% equal, %.2f%% within one step, max %d",
                         quality, agreement.equal * 100, agreement.withinOne * 100, agreement.maximumDifference))
        }
        print("exported model \(model.identifierString) (step \(model.info["source.step"] ?? "?")): \(bytes.count) bytes, decoder \(decoder.count) bytes (g_s \(model.decoderPrecision.rawValue)), \(crops.count) calibration crops")
    }

    /// Whether the file starts with a coded model's magic (else it is read as a weights file).
    static func isCodedModel(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return try handle.read(upToCount: 4) == Data("NXCM".utf8)
    }

    /// The centre crop and the top-left quarter-offset crop of a photo.
    static func calibrationCrops(of image: PixelBuffer, side: Int) throws -> [PixelBuffer] {
        let cx = max(0, (image.width - side) / 2), cy = max(0, (image.height - side) / 2)
        let qx = max(0, (image.width - side) / 4), qy = max(0, (image.height - side) / 4)
        return [try image.window(x: cx, y: cy, width: side, height: side),
                try image.window(x: qx, y: qy, width: side, height: side)]
    }
}
