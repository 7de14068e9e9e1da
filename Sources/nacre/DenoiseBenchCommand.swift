import ArgumentParser
import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre bench denoise`: PSNR with and without a denoiser on the same bitstreams, per quality,
/// the gain at equal bpp with the denoiser's archive bytes counted, and the time it adds.
struct DenoiseBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Denoiser benchmark: PSNR gain per quality at identical bitstreams, gain at equal bpp, ms/MP added.",
        discussion: """
            With --speed C,L only the time of an untrained denoiser with C hidden channels and L convolutions \
            is measured (on a synthetic 768×512 image), to choose an architecture.
            """)

    @Option(help: "Folder of test PNGs (e.g. ../shared/data/kodak).") var data: String?
    @Option(help: "Coded model (from `nacre export-model`).") var model: String?
    @Option(parsing: .upToNextOption, help: "Denoiser blocks (from `nacre train-denoiser`); several are compared on the same bitstreams.")
    var denoiser: [String] = []
    @Option(help: "Comma-separated qualities (1…100).") var qualities = "1,15,29,43,58,72,86,100"
    @Option(help: "Use only the first N images.") var limit: Int?
    @Option(help: "Compute threads.") var threads: Int?
    @Option(help: "Time only an untrained denoiser of this shape: CHANNELS,CONVOLUTIONS.") var speed: String?
    @Option(help: "Write the report as JSON here.") var json: String?

    func run() throws {
        let engine = try Engine(threads: threads)
        if let speed {
            let parts = speed.split(separator: ",").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--speed takes CHANNELS,CONVOLUTIONS, e.g. 16,4") }
            let architecture = DenoiserArchitecture(hiddenChannels: parts[0], convolutions: parts[1])
            let candidate = try Denoiser(architecture: architecture, decoderIdentifier: 0, engine: engine)
            let ms = try DenoiserBench.speed(of: candidate, width: 768, height: 512, repeats: 7)
            print(String(format: "%@: %d parameters, %.2f kMAC/px, %.1f ms/MP wall (median), %.1f ms/MP CPU (%d threads)", architecture.description,
                         architecture.parameterCount, architecture.multiplyAccumulatesPerPixel / 1000, ms.wall, ms.cpu, engine.threads))
            return
        }
        guard let data, let model, !denoiser.isEmpty else { throw ValidationError("pass --data, --model and --denoiser (or --speed)") }
        let codec = try CodecModel.load(contentsOfFile: model, engine: engine)
        let filters = try denoiser.map { try Denoiser.load(contentsOfFile: $0, engine: engine) }
        let qualityList = try CodecFiles.qualities(qualities)
        let images = try CodecFiles.pngPaths(in: data, limit: limit).map {
            (name: ($0 as NSString).lastPathComponent, pixels: try CodecFiles.readPNG($0))
        }
        // The denoiser's cost in an archive: how much larger an archive's sealed file gets when
        // its model frame (zstd level 19) carries the denoiser beside the decoder.
        let decoder = codec.decoderBytes()
        let plainSize = try Self.sealedSize(model: decoder)
        var costs: [Int] = []
        print("nacre bench denoise: \(images.count) images from \(data), model \(codec.identifierString), threads \(engine.threads)")
        for (path, filter) in zip(denoiser, filters) {
            let block = filter.serialized()
            let bundle = ModelFrameContent(decoder: decoder, denoiser: block).encoded()
            costs.append(try Self.sealedSize(model: bundle) - plainSize)
            print("denoiser \(path): \(filter.architecture) (\(filter.parameterCount) parameters, weight grid ±\(filter.weightLevels), "
                  + "block \(block.count) B, +\(bundle.count - decoder.count) B in the model frame, +\(costs.last!) B in a sealed archive)")
        }
        let bench = try DenoiserBench(model: codec, denoisers: filters, qualities: qualityList, denoiserBytes: costs)
        let reports = try bench.run(images: images) { name, q, bpp, plain, better in
            FileHandle.standardError.write(Data(String(format: "  %@ q%5.1f  %.4f bpp  %.2f → %@ dB\n", name, q, bpp, plain,
                                                       better.map { String(format: "%.2f", $0) }.joined(separator: " / ")).utf8))
        }
        for (path, report) in zip(denoiser, reports) {
            print("\n\(path):")
            print("quality      bpp   PSNR dB  denoised   gain   gain at equal bpp")
            for p in report.points {
                print(String(format: "%7.1f  %7.4f  %8.3f  %8.3f  %+6.3f  %+6.3f", p.quality, p.bitsPerPixel, p.psnr, p.denoisedPSNR,
                             p.denoisedPSNR - p.psnr, p.equalRateGain))
            }
            let meanGain = report.points.reduce(0) { $0 + $1.equalRateGain } / Double(report.points.count)
            print(String(format: "mean gain at equal bpp %+.3f dB (denoiser bytes counted: +%.5f bpp over these images); denoiser %.1f ms/MP added to a decode of %.1f ms/MP (%d threads)",
                         meanGain, report.denoiserBitsPerPixel, report.millisecondsPerMegapixel, report.decodeMillisecondsPerMegapixel, engine.threads))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let value: [String: DenoiserBench.Report] = Dictionary(uniqueKeysWithValues: zip(denoiser, reports).map { ($0, $1) })
            try CodecFiles.writeAtomically(Array(try encoder.encode(value)), to: json)
        }
    }

    /// Bytes of a sealed archive holding no images and `model` as its model frame (written to a
    /// temporary file and removed); a fixed manifest, so two sizes differ only by the model frame.
    static func sealedSize(model: [UInt8]) throws -> Int {
        let path = NSTemporaryDirectory() + "nacre-denoise-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).nacre"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let manifest = ArchiveManifest(creationTime: 0, writerVersion: "nacre bench", modelID: String(repeating: "0", count: 64),
                                       modelSHA256: SHA256.hash([UInt8]()))
        do {
            _ = try ArchiveWriter(path: path, manifest: manifest, model: model).seal()
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            guard let size else { throw CodecCommandError("cannot measure \(path)") }
            return size
        } catch let error as ArchiveError {
            throw CLIError(error)
        }
    }
}
