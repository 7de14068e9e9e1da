import Foundation
import NacreEngine
import NacreImage

/// Per-collection adaptation: fine-tunes g_s on one batch's images before the batch's archive is
/// sealed, so the decoder the archive carries anyway fits that collection better.
///
/// The bitstreams do not change: the latents ŷ the encoder chose stay as they are, and g_s learns
/// to map exactly those latents closer to the originals (MSE, Adam, random 256-pixel windows of
/// each image's latent grid). The rate is therefore unchanged and, in a shared-decoder archive,
/// so are the bytes (the decoder is stored once either way); only the restores get better, for
/// extra encode time. The adapted model has a new identifier: records are relabelled with
/// ``relabel(_:for:)``, and the PSNR recorded at encode must be measured again with it.
public struct DecoderAdaptation: Sendable {
    /// Gradient steps (at most).
    public var steps: Int
    /// Wall-clock budget in seconds (nil: only `steps` limits).
    public var timeBudgetSeconds: Double?
    /// Adam's step size.
    public var learningRate: Double
    /// Side of the training windows, in pixels (a multiple of 16).
    public var windowSide: Int
    /// Seed of the window choice.
    public var seed: UInt64

    public init(steps: Int = 400, timeBudgetSeconds: Double? = nil, learningRate: Double = 2e-5, windowSide: Int = 256, seed: UInt64 = 1) {
        self.steps = steps
        self.timeBudgetSeconds = timeBudgetSeconds
        self.learningRate = learningRate
        self.windowSide = windowSide
        self.seed = seed
    }

    /// What an adaptation did.
    public struct Report: Sendable {
        public var steps: Int
        public var seconds: Double
        /// Mean squared error (0…255 scale) over the batch's pixels, before and after.
        public var mseBefore: Double
        public var mseAfter: Double
        /// PSNR of those pooled errors.
        public var psnrBefore: Double { 10 * Foundation.log10(255 * 255 / max(mseBefore, 1e-12)) }
        public var psnrAfter: Double { 10 * Foundation.log10(255 * 255 / max(mseAfter, 1e-12)) }
    }

    /// One image of the batch: its record (coded by `model`) and its original pixels.
    public struct Sample {
        public var encoded: EncodedImage
        public var original: PixelBuffer
        public init(encoded: EncodedImage, original: PixelBuffer) {
            self.encoded = encoded
            self.original = original
        }
    }

    /// A copy of `model` whose g_s is fine-tuned on `samples`; `model` itself is left unchanged.
    /// The result is kept only if it lowers the batch's error; otherwise `model` itself is returned. `progress` gets (step, running MSE).
    /// `shouldStop` is asked before each step: true ends the fine-tuning early (what it reached is judged as usual).
    public func adapt(_ model: CodecModel, samples: [Sample], shouldStop: () -> Bool = { false },
                      progress: (Int, Double) -> Void = { _, _ in }) throws -> (model: CodecModel, report: Report) {
        guard !samples.isEmpty, windowSide >= 64, windowSide % 16 == 0 else {
            throw CodecError(code: .invalidArgument, message: "adaptation needs at least one image and a window side that is a multiple of 16 from 64")
        }
        let engine = model.network.engine
        let copy = try CodecModel.load(model.serialized(), engine: engine)
        var grids: [(grid: LatentGrid, gains: [Float], original: PixelBuffer)] = []
        for sample in samples {
            let (layout, tiles) = try copy.decodeTileLatents(sample.encoded)
            let position = try QualityPosition(code: sample.encoded.qualityCode, levelCount: copy.configuration.levelCount)
            let rects = layout.tiles
            let grid = try LatentGrid(layout: layout, channels: copy.configuration.latentChannels) { index in
                try copy.latentValues(of: tiles[index], rect: rects[index], position: position)
            }
            grids.append((grid, copy.gains(at: position).decoder, sample.original))
        }
        let before = try Self.batchError(copy, samples)
        let parameters = copy.network.synthesis.parameters
        let optimizer = Adam(parameters: parameters, settings: Adam.Settings(
            schedule: LearningRateSchedule(base: learningRate, decay: .cosine(final: learningRate / 10, steps: steps)),
            maxGradientNorm: 1))
        var random = SeededRandom(seed: seed)
        let started = Date()
        var done = 0
        var running = 0.0
        while done < steps {
            if let budget = timeBudgetSeconds, Date().timeIntervalSince(started) >= budget { break }
            if shouldStop() { break }
            let item = grids[Int(random.next() % UInt64(grids.count))]
            let side = windowSide / 16
            let rows = min(side, item.grid.height), columns = min(side, item.grid.width)
            let top = Int(random.next() % UInt64(item.grid.height - rows + 1))
            let left = Int(random.next() % UInt64(item.grid.width - columns + 1))
            let latent = try engine.multiplyChannels(try item.grid.window(rows: top..<(top + rows), columns: left..<(left + columns)),
                                                     gains: item.gains)
            optimizer.zeroGradients()
            let xHat = try copy.network.synthesis.forward(latent, training: true)
            let target = Self.targetTensor(item.original, x: left * 16, y: top * 16, shape: xHat.shape)
            // Only pixels of the image (not padding), away from window edges that are not image
            // edges (there g_s sees zero padding instead of the neighbours it sees when decoding).
            let mask = Self.mask(shape: xHat.shape, x: left * 16, y: top * 16, image: item.original,
                                 gridWidth: item.grid.width, gridHeight: item.grid.height)
            let count = Float(max(1, mask.reduce(0) { $0 + Int($1) }))
            let predicted = xHat.values(), wanted = target
            var gradient = [Float](repeating: 0, count: predicted.count)
            var squared = 0.0
            let plane = xHat.shape.h * xHat.shape.w
            for i in predicted.indices where mask[i % plane] != 0 {
                let d = predicted[i] - wanted[i]
                squared += Double(d * d)
                gradient[i] = 2 * d / (3 * count)
            }
            _ = try copy.network.synthesis.backward(try Tensor(shape: xHat.shape, values: gradient))
            _ = try optimizer.step()
            done += 1
            running = 0.95 * running + 0.05 * squared / Double(3 * count) * 255 * 255
            progress(done, running)
        }
        for parameter in parameters { parameter.zeroGradient() }
        let adapted = try CodecModel.load(copy.serialized(), engine: engine)
        let after = try Self.batchError(adapted, samples.map { Sample(encoded: relabel($0.encoded, for: adapted), original: $0.original) })
        let seconds = Date().timeIntervalSince(started)
        guard after < before else {
            return (model, Report(steps: done, seconds: seconds, mseBefore: before, mseAfter: before))
        }
        return (adapted, Report(steps: done, seconds: seconds, mseBefore: before, mseAfter: after))
    }

    /// The record with its model identifier changed to `model`'s (the latents are unchanged).
    public func relabel(_ encoded: EncodedImage, for model: CodecModel) -> EncodedImage {
        var copy = encoded
        copy.modelIdentifier = model.identifier
        return copy
    }

    /// Mean squared error (0…255) of the decoded batch, pooled over all pixels.
    static func batchError(_ model: CodecModel, _ samples: [Sample]) throws -> Double {
        var sum = 0.0, pixels = 0.0
        for sample in samples {
            let decoded = try model.decode(sample.encoded)
            let reference = try PixelBuffer(width: sample.original.width, height: sample.original.height, rgb: sample.original.rgb)
            sum += try PSNR(reference: reference, distorted: decoded).mse * Double(decoded.pixelCount)
            pixels += Double(decoded.pixelCount)
        }
        return sum / pixels
    }

    /// The original's pixels under a window (0…1, plain CHW), edge-replicated past the image.
    static func targetTensor(_ image: PixelBuffer, x: Int, y: Int, shape: TensorShape) -> [Float] {
        let (h, w) = (shape.h, shape.w), plane = h * w
        var out = [Float](repeating: 0, count: 3 * plane)
        for row in 0..<h {
            let sourceRow = min(y + row, image.height - 1)
            for column in 0..<w {
                let s = (sourceRow * image.width + min(x + column, image.width - 1)) * 3
                for c in 0..<3 { out[c * plane + row * w + column] = Float(image.rgb[s + c]) / 255 }
            }
        }
        return out
    }

    /// 1 where a window pixel counts in the loss.
    static func mask(shape: TensorShape, x: Int, y: Int, image: PixelBuffer, gridWidth: Int, gridHeight: Int) -> [UInt8] {
        let border = 32
        let (h, w) = (shape.h, shape.w)
        let trimTop = y > 0 ? border : 0, trimLeft = x > 0 ? border : 0
        let trimBottom = y + h < gridHeight * 16 ? border : 0, trimRight = x + w < gridWidth * 16 ? border : 0
        var out = [UInt8](repeating: 0, count: h * w)
        for row in trimTop..<max(trimTop, h - trimBottom) where y + row < image.height {
            for column in trimLeft..<max(trimLeft, w - trimRight) where x + column < image.width {
                out[row * w + column] = 1
            }
        }
        return out
    }
}
