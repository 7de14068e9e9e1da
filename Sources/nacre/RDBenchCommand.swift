import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage

/// `nacre bench rd`: the codec's rate-distortion curve on a folder of PNGs, BD-rates against the
/// anchors, speed and decoder size.
struct RDBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rd",
        abstract: "Rate-distortion benchmark: real bitstreams at several qualities, BD-rate vs the anchors, speed, decoder size.")

    @OptionGroup var testSet: CodecTestSetOptions
    @Option(help: "Write the curve here (anchors' JSON format).") var json: String?
    @Option(help: "Draw the R-D plot here (needs python3 + matplotlib).") var plot: String?
    @Option(help: "Anchor folder (curves in the JSON format of its files).") var anchors = "../shared/anchors/kodak"
    @Option(help: "Plot script (default: bench/plot_rd.py in the current folder or in the source tree the executable was built in, else PREFIX/share/nacre/plot_rd.py as `make install` puts it).")
    var plotScript: String?
    @Option(help: "Name of the curve.") var method: String?
    @Option(help: "Force tiles of this side (multiple of 64) to measure seams; default: the encoder's own layout.")
    var tileSide: Int?
    @Option(help: "Convolution arithmetic of g_a, h_a and g_s: f32 or bf16 (the entropy path is integer either way).")
    var precision = "f32"
    @Option(help: "Encoder-side latent refinement: gradient steps per image (0: none).") var refine = 0
    @Option(help: "Step size of the refinement (quantization bins).") var refineStep = 0.05

    func validate() throws {
        // Checked before the benchmark runs, not after minutes of coding.
        if plot != nil, resolvedPlotScript == nil {
            throw ValidationError(plotScript.map { "--plot-script \($0) is not there" }
                                  ?? "--plot needs the plot script plot_rd.py, which is not in bench/ here, in the executable's source tree or in PREFIX/share/nacre; pass --plot-script PATH")
        }
    }

    /// `--plot-script` if it exists, else the first of the default places that has the script.
    private var resolvedPlotScript: String? {
        let readable = { (path: String) in FileManager.default.isReadableFile(atPath: path) }
        if let plotScript { return readable(plotScript) ? plotScript : nil }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = ["bench/plot_rd.py"]
        var folder = executable
        for _ in 0..<5 {  // a build tree: REPO/.build/<triple>/release/nacre
            folder.deleteLastPathComponent()
            candidates.append(folder.appendingPathComponent("bench/plot_rd.py").path)
        }
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/nacre/plot_rd.py").path)
        return candidates.first(where: readable)
    }

    func run() throws {
        guard let arithmetic = Precision(rawValue: precision) else { throw ValidationError("unknown precision \(precision); use f32 or bf16") }
        let engine = try Engine(threads: testSet.threads, precision: arithmetic)
        let codec = try CodecModel.load(contentsOfFile: testSet.model, engine: engine)
        let qualityList = try testSet.qualityList()
        let images = try testSet.images()
        let config = codec.configuration
        print("nacre bench rd: \(images.count) images from \(testSet.data), model \(codec.identifierString) (N=\(config.hiddenChannels), M=\(config.latentChannels), \(config.levelCount) levels, step \(codec.info["source.step"] ?? "?")), threads \(engine.threads), \(arithmetic.rawValue)\(tileSide.map { ", forced \($0)-px tiles" } ?? "")\(refine > 0 ? ", latent refinement \(refine) steps" : "")")
        let refinement = refine > 0 ? LatentRefinement(iterations: refine, learningRate: refineStep) : nil
        let bench = try RateDistortionBench(model: codec, qualities: qualityList, tileSide: tileSide, refinement: refinement)
        let report = try bench.run(images: images) { m in
            FileHandle.standardError.write(Data(String(format: "  %@ q%5.1f  %.4f bpp  %.2f dB  enc %.0f ms  dec %.0f ms\n",
                m.image, m.quality, m.bitsPerPixel, m.psnr, m.encodeSeconds * 1000, m.decodeSeconds * 1000).utf8))
        }
        let name = method ?? "nacre (model \(codec.identifierString), step \(codec.info["source.step"] ?? "?"))"
        let curve = report.curve(method: name)
        print("quality      bpp  (z bpp)   PSNR dB   MS-SSIM")
        for p in report.points {
            print(String(format: "%7.1f  %7.4f  (%.4f)  %8.3f   %@", p.quality, p.bitsPerPixel, p.hyperBitsPerPixel, p.psnr,
                         p.msssim.map { String(format: "%.4f", $0) } ?? "n/a"))
        }
        print(String(format: "encode %.1f ms/MP, decode %.1f ms/MP (wall time, %d threads, entropy coding included; of decoding, rANS + integer h_s take %.1f ms/MP)",
                     report.encodeMillisecondsPerMegapixel, report.decodeMillisecondsPerMegapixel, engine.threads,
                     report.latentDecodeMillisecondsPerMegapixel))
        let decoderBytes = codec.decoderBytes().count
        print(String(format: "decoder: %.2f kMAC/px (g_s + h_s), %d parameters, %d bytes as stored (%@ g_s + int8 h_s + tables)",
                     config.decoderMACsPerPixel / 1000, codec.decoderParameterCount, decoderBytes, codec.decoderPrecision.rawValue))
        let totalPixels = report.measurements.filter { $0.quality == qualityList[0] }.reduce(0) { $0 + $1.pixels }
        print(String(format: "decoder bytes spread over these %d images: +%.4f bpp (whole-archive rate = latent bpp + this)",
                     images.count, Double(decoderBytes * 8) / Double(totalPixels)))

        var anchorCurves: [String: RateDistortionCurve] = [:]
        let anchorFiles = ["this-machine-pillow.json", "bpg444.json", "bmshj2018-hyperprior-mse.json"]
        for file in anchorFiles {
            let url = URL(fileURLWithPath: anchors).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            for (key, c) in try RateDistortionCurve.loadAnchors(from: url) where key != "png" { anchorCurves[key] = c }
        }
        if anchorCurves.isEmpty {
            print("no anchor curves (\(anchorFiles.joined(separator: ", "))) in \(anchors): BD-rates skipped; pass --anchors DIR")
        } else {
            print("BD-rate (PSNR) of this curve against the anchors (negative = fewer bits):")
        }
        for row in RateDistortionBench.bdRates(of: curve, against: anchorCurves) {
            let psnrs = anchorCurves[row.name]!.psnr
            if let rate = row.bdRate {
                print("  " + row.name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%+8.1f %%", rate))
            } else {
                print("  " + row.name.padding(toLength: 28, withPad: " ", startingAt: 0)
                      + String(format: "no overlap (anchor %.1f…%.1f dB, ours %.1f…%.1f dB)",
                               psnrs.min() ?? 0, psnrs.max() ?? 0, curve.psnr.min() ?? 0, curve.psnr.max() ?? 0))
            }
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try CodecFiles.writeAtomically(Array(try encoder.encode(curve)), to: json)
            print("curve written to \(json)")
        }
        if let plot {
            let curvePath = json ?? (NSTemporaryDirectory() + "nacre-rd-\(getpid()).json")
            if json == nil { try CodecFiles.writeAtomically(Array(try JSONEncoder().encode(curve)), to: curvePath) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let script = resolvedPlotScript ?? "bench/plot_rd.py"
            process.arguments = ["python3", script, "--curve", curvePath, "--out", plot]
                + anchorFiles.map { URL(fileURLWithPath: anchors).appendingPathComponent($0).path }
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CodecCommandError("\(script) failed (status \(process.terminationStatus)); is matplotlib installed (`pip install matplotlib`)?")
            }
            print("plot written to \(plot)")
        }
    }
}
