import Foundation
import Logging
import NacreEngine
import NacreImage

/// The photos a training run draws crops from, decoded once into memory, split into a training
/// part and a held-back validation part.
///
/// The split is by file (a stable hash of the path), so validation crops never come from a photo
/// that is trained on, and it does not change when files are added or removed elsewhere.
public final class TrainingImageSet: @unchecked Sendable {
    /// Images crops are drawn from.
    public let training: [PixelBuffer]
    /// Held-back images for validation.
    public let validation: [PixelBuffer]
    /// Paths of the training images, in the order of `training`.
    public let trainingPaths: [String]

    /// One image in `heldBackOneIn` goes to validation (at least one when there are two or more).
    public init(folders: [String], minimumSide: Int, heldBackOneIn: Int = 16, logger: Logger) throws {
        let paths = try Self.pngFiles(in: folders)
        var training: [PixelBuffer] = [], validation: [PixelBuffer] = [], trainingPaths: [String] = []
        var skipped = 0
        for path in paths {
            let image: PixelBuffer
            do {
                image = try PNGReader.read(contentsOfFile: path).pixels
            } catch {
                logger.warning("skipping training image", metadata: ["path": "\(path)", "error": "\(error)"])
                skipped += 1
                continue
            }
            guard min(image.width, image.height) >= minimumSide else { skipped += 1; continue }
            if Self.stableHash(path) % UInt64(max(2, heldBackOneIn)) == 0 {
                validation.append(image)
            } else {
                training.append(image)
                trainingPaths.append(path)
            }
        }
        if validation.isEmpty, training.count >= 2 {
            validation.append(training.removeLast())
            trainingPaths.removeLast()
        }
        guard !training.isEmpty else {
            throw CodecError(code: .noTrainingData,
                             message: "no PNG of at least \(minimumSide)×\(minimumSide) pixels found in \(folders.joined(separator: ", ")) "
                                 + "(\(skipped) skipped); point --data at folders of photos")
        }
        self.training = training
        self.validation = validation
        self.trainingPaths = trainingPaths
        logger.info("training images loaded", metadata: [
            "training": "\(training.count)", "validation": "\(validation.count)", "skipped": "\(skipped)",
            "megapixels": "\(String(format: "%.1f", Double(training.reduce(0) { $0 + $1.pixelCount }) / 1e6))",
        ])
    }

    /// All `.png` files below the folders (a folder may also be a single file), sorted
    /// (``PNGFileFinder``'s rules: hidden entries and symbolic links skipped).
    static func pngFiles(in folders: [String]) throws -> [String] {
        var out: [String] = []
        for folder in folders {
            guard FileManager.default.fileExists(atPath: folder) else {
                throw CodecError(code: .noTrainingData, message: "training data folder \(folder) does not exist")
            }
            guard PNGFileFinder.isFolder(folder) else {
                out.append(folder)
                continue
            }
            out += try PNGFileFinder.files(under: folder).map(\.path)
        }
        // By file name first: the order (which decides the validation crops a run uses) must not
        // depend on how the folders are spelled (`../data` and `/work/data` sort differently).
        return out.sorted { (($0 as NSString).lastPathComponent, $0) < (($1 as NSString).lastPathComponent, $1) }
    }

    /// FNV-1a of the file name, stable across runs and machines.
    static func stableHash(_ path: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ((path as NSString).lastPathComponent).utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return h
    }

    /// Fills `tensor` (N×3×S×S, plain layout) with random crops: a random image, a random
    /// scale in [minimumScale, 1] (area-averaging downscale, which also hides source JPEG
    /// artefacts), a random position, and a random horizontal flip.
    public func sampleCrops(into tensor: Tensor, rng: inout SeededRandom, minimumScale: Float = 0.5) throws {
        let n = tensor.shape.n, size = tensor.shape.h
        guard tensor.shape.c == 3, tensor.shape.w == size else {
            throw CodecError(code: .invalidArgument, message: "crop tensor must be N×3×S×S, got \(tensor.shape)")
        }
        var values = [Float](repeating: 0, count: tensor.count)
        for item in 0..<n {
            let image = training[Int(rng.next() % UInt64(training.count))]
            let shortSide = Float(min(image.width, image.height))
            let largestScale: Float = 1, smallestScale = max(minimumScale, Float(size) / shortSide)
            let scale = smallestScale >= largestScale ? 1 : smallestScale + rng.unitFloat() * (largestScale - smallestScale)
            let window = min(Int((Float(size) / scale).rounded()), min(image.width, image.height))
            let left = Int(rng.next() % UInt64(image.width - window + 1))
            let top = Int(rng.next() % UInt64(image.height - window + 1))
            let flip = rng.next() & 1 == 1
            Self.resample(image, left: left, top: top, window: window, size: size, flip: flip,
                          into: &values, offset: item * 3 * size * size)
        }
        try tensor.setValues(values)
    }

    /// Fixed validation crops: the centre `size`×`size` of each held-back image (at most `limit`).
    public func validationCrops(size: Int, limit: Int) -> [[Float]] {
        validation.prefix(limit).filter { min($0.width, $0.height) >= size }.map { image in
            var values = [Float](repeating: 0, count: 3 * size * size)
            Self.resample(image, left: (image.width - size) / 2, top: (image.height - size) / 2, window: size,
                          size: size, flip: false, into: &values, offset: 0)
            return values
        }
    }

    /// Box-filters the `window`×`window` square at (left, top) down to `size`×`size`, as planar
    /// RGB in 0…1 at `offset`.
    static func resample(_ image: PixelBuffer, left: Int, top: Int, window: Int, size: Int, flip: Bool,
                         into values: inout [Float], offset: Int) {
        let plane = size * size
        let ratio = Float(window) / Float(size)
        image.rgb.withUnsafeBufferPointer { rgb in
            for oy in 0..<size {
                let y0 = top + Int(Float(oy) * ratio), y1 = max(y0 + 1, top + Int(Float(oy + 1) * ratio))
                for ox in 0..<size {
                    let x0 = left + Int(Float(ox) * ratio), x1 = max(x0 + 1, left + Int(Float(ox + 1) * ratio))
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for sy in y0..<y1 {
                        var i = (sy * image.width + x0) * 3
                        for _ in x0..<x1 {
                            r += Float(rgb[i]); g += Float(rgb[i + 1]); b += Float(rgb[i + 2])
                            i += 3
                        }
                    }
                    let norm = 1 / (255 * Float((y1 - y0) * (x1 - x0)))
                    let dx = flip ? size - 1 - ox : ox
                    let o = offset + oy * size + dx
                    values[o] = r * norm; values[o + plane] = g * norm; values[o + 2 * plane] = b * norm
                }
            }
        }
    }
}
