import Foundation
import Logging
import NacreEngine
import NacreImage
@testable import NacreCodec

/// A tiny coded model (N = M = 16, 3 levels) trained for a few dozen steps on the committed photo
/// crops (so quality changes the picture) and exported, calibrated on the same crops; and helpers.
enum CodecFixtures {
    static let configuration = HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [0.005, 0.02, 0.08])
    static let photoFolder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/photos").path
    static let photoNames = ["photo001-crop128.png", "photo007-crop128.png", "photo015-crop128.png"]

    static func photo(_ index: Int) throws -> PixelBuffer {
        try PNGReader.read(contentsOfFile: photoFolder + "/" + photoNames[index]).pixels
    }

    /// A fresh engine and the tiny exported model (each test gets its own: engines are single-threaded).
    static func tinyModel(threads: Int = 1) throws -> CodecModel {
        try CodecModel.load(try trainedModelBytes.get(), engine: try Engine(threads: threads))
    }

    /// Trained once per test run (about 40 steps on 64-pixel crops), then shared as bytes.
    static let trainedModelBytes = Result<[UInt8], any Error> {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-codec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let logger = quietLogger
        let data = try TrainingImageSet(folders: [photoFolder], minimumSide: 64, heldBackOneIn: 1000, logger: logger)
        let trainer = try HyperpriorTrainer(options: tinyTrainingOptions(steps: 40), configuration: configuration, data: data,
                                            checkpointPath: folder + "/run.ckpt", resume: false, logger: logger)
        try trainer.run(progress: { _ in })
        return try CodecModel.exporting(from: trainer.model, calibrationImages: try (0..<3).map(photo),
                                        info: ["purpose": "tests"]).serialized()
    }

    /// Short, fast training on 64-pixel crops of the committed photos, one thread.
    static func tinyTrainingOptions(steps: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.cropSize = 64
        options.batchSize = 2
        options.steps = steps
        options.learningRate = 3e-3
        options.warmupSteps = 0
        options.validationIntervalSteps = 0
        options.threads = 1
        return options
    }

    /// A logger that keeps test output to errors.
    static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }

    /// Quality that lands exactly on level `l` (position fraction 0).
    static func quality(ofLevel l: Int) -> Double {
        1 + 99 * Double(l) / Double(configuration.levelCount - 1)
    }

    /// A synthetic image with smooth gradients and edges (sizes the photo crops cannot give).
    static func synthetic(width: Int, height: Int) throws -> PixelBuffer {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                rgb[i] = UInt8((x * 255) / max(width - 1, 1))
                rgb[i + 1] = UInt8((y * 255) / max(height - 1, 1))
                rgb[i + 2] = (x / 7 + y / 5) % 2 == 0 ? 40 : 210
            }
        }
        return try PixelBuffer(width: width, height: height, rgb: rgb)
    }
}
