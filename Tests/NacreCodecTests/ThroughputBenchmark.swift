import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// Throughput measurement, not a test of speed: it only runs when asked, prints its numbers, and
/// asserts nothing about time (only that what it measured round-tripped).
///
/// `NACRE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark`
@Suite(.enabled(if: ProcessInfo.processInfo.environment["NACRE_BENCH"] == "1", "set NACRE_BENCH=1 (release build) to measure throughput"))
struct ThroughputBenchmark {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test func rANSThroughput() throws {
        let tables = try EntropyTables.gaussian()
        var rng = SeededGenerator(seed: 77)
        let count = 2_000_000
        var y = [Int32](), indices = [UInt8]()
        y.reserveCapacity(count); indices.reserveCapacity(count)
        for _ in 0..<count {
            // Skewed toward small scales, as real y is (many near-zero channels).
            let index = UInt8(min(63, Int.random(in: 0...63, using: &rng) * Int.random(in: 0...63, using: &rng) / 63))
            indices.append(index)
            y.append(rng.roughGaussian(sigma: EntropyTables.defaultGaussianScales[Int(index)]))
        }
        var bytes: [UInt8] = []
        let encode = try Self.seconds { bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: tables) }
        var decoded: [Int32] = []
        let decode = try Self.seconds { decoded = try LatentCoder.decodeGaussian(bytes, scaleIndices: indices, tables: tables) }
        #expect(decoded == y)
        print(String(format: "rANS Gaussian: %d symbols, %.3f bits/symbol, encode %.1f Msymbols/s, decode %.1f Msymbols/s",
                     count, Double(bytes.count * 8) / Double(count), Double(count) / encode / 1e6, Double(count) / decode / 1e6))
    }

    @Test func hyperSynthesisTime() throws {
        // The default model's h_s on a 768×512 image: z 64×8×12 → 64×16×24 → 64×32×48 → y indices 96×32×48.
        let layers = try IntegerHyperSynthesisTests.randomFloatHyperSynthesis(zChannels: 64, hidden: 64, yChannels: 96, seed: 1)
        let z = try IntegerHyperSynthesisTests.randomZ(channels: 64, height: 8, width: 12, seed: 2)
        let network = try IntegerHyperSynthesis.quantizing(layers, calibration: [z])
        var indices: [UInt8] = []
        _ = try network.scaleIndices(for: z)
        let runs = 5
        let time = try Self.seconds { for _ in 0..<runs { indices = try network.scaleIndices(for: z) } } / Double(runs)
        #expect(indices.count == 96 * 32 * 48)
        // A stride-2 transposed convolution uses a quarter of its taps per output pixel.
        let firstLayer: Double = 64 * 64 * 25 * 16 * 24 / 4
        let secondLayer: Double = 64 * 64 * 25 * 32 * 48 / 4
        let lastLayer: Double = 64 * 96 * 9 * 32 * 48
        let macs = firstLayer + secondLayer + lastLayer
        print(String(format: "integer h_s 768×512: %.1f ms (%.0f M useful MAC, %.2f GMAC/s)", time * 1e3, macs / 1e6, macs / time / 1e9))
    }

    /// g_s of an int8 model through the reference path (dequantized weights, f32 engine), through
    /// the int8 kernels and as f32 phase convolutions, alternating, on the latents of one real
    /// image; min and median of 12 runs each, so a machine shared with other jobs still gives comparable numbers.
    /// `NACRE_BENCH_MODEL=model.nxcm NACRE_BENCH_IMAGE=photo.png` (a full int8 model from
    /// `nacre export-model`; the image e.g. a 768×512 Kodak image).
    @Test func int8SynthesisTime() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let modelPath = environment["NACRE_BENCH_MODEL"], let imagePath = environment["NACRE_BENCH_IMAGE"] else {
            print("int8SynthesisTime: set NACRE_BENCH_MODEL and NACRE_BENCH_IMAGE to measure")
            return
        }
        let threads = Int(environment["NACRE_BENCH_THREADS"] ?? "2") ?? 2
        let model = try CodecModel.load(contentsOfFile: modelPath, engine: try Engine(threads: threads))
        try #require(model.decoderPrecision == .int8 && !model.int8ActivationScales.isEmpty)
        let image = try PNGReader.read(contentsOfFile: imagePath).pixels
        let encoded = try model.encode(image, quality: 55)
        let latents = try model.decodeLatents(encoded)
        let shape = encoded.tiles[0].yShape
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: model.configuration.levelCount)
        let y = try Tensor(shape: TensorShape(n: 1, c: shape.channels, h: shape.height, w: shape.width), values: latents.y.map(Float.init))
        let x = try model.network.engine.multiplyChannels(y, gains: model.gains(at: position).decoder)
        // The f32 g_s as phase convolutions (`ConvTranspose2D.usePhaseConvolutions`) on a copy.
        let phases = try model.withDecoderPrecision(.int8)
        for case let layer as ConvTranspose2D in phases.network.synthesis.layers { try layer.usePhaseConvolutions() }
        let variants: [(String, () throws -> Void)] = [
            ("reference f32 (deconvolution)", { model.usesInt8Kernels = false; _ = try model.synthesize(x) }),
            ("int8 kernels, two passes", { model.usesInt8Kernels = true; _ = try model.synthesize(x) }),
            ("f32 phase convolutions", { _ = try phases.synthesize(x) }),
        ]
        var times = [[Double]](repeating: [], count: variants.count)
        for run in 0..<(13 * variants.count) {
            let v = run % variants.count
            let seconds = try Self.seconds { try variants[v].1() }
            if run >= variants.count { times[v].append(seconds) }  // the first of each builds its plans
        }
        let megapixels = Double(image.pixelCount) / 1e6
        for (v, variant) in variants.enumerated() {
            let sorted = times[v].sorted()
            print(String(format: "g_s %@ on %d×%d, %d threads: min %.1f ms (%.1f ms/MP), median %.1f ms",
                         variant.0, image.width, image.height, threads,
                         sorted[0] * 1e3, sorted[0] * 1e3 / megapixels, sorted[sorted.count / 2] * 1e3))
        }
    }
}
