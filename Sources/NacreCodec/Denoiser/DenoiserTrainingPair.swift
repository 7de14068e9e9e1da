import Foundation
import NacreEngine
import NacreImage

/// One training example: a crop of an original photo and the same crop coded and decoded by the
/// real codec at `quality` (the bitstream's quality, 1…100).
public struct DenoiserTrainingPair: Sendable, Equatable {
    public var quality: Double
    public var decoded: PixelBuffer
    public var original: PixelBuffer

    public init(quality: Double, decoded: PixelBuffer, original: PixelBuffer) {
        self.quality = quality
        self.decoded = decoded
        self.original = original
    }

    /// Codes `cropsPerImage` random `side × side` crops of each image (whole images when smaller)
    /// with `model`, each at a quality from `quality`; `progress` gets the number of pairs made.
    public static func make(model: CodecModel, images: [PixelBuffer], cropsPerImage: Int, side: Int, seed: UInt64,
                            quality: (inout SeededRandom) -> Double, progress: (Int) -> Void = { _ in }) throws -> [DenoiserTrainingPair] {
        var rng = SeededRandom(seed: seed)
        var pairs: [DenoiserTrainingPair] = []
        for image in images {
            for _ in 0..<cropsPerImage {
                let x = image.width > side ? Int(rng.next() % UInt64(image.width - side + 1)) : 0
                let y = image.height > side ? Int(rng.next() % UInt64(image.height - side + 1)) : 0
                // A smaller image is taken whole (the trainer skips pairs below its patch side).
                let crop = try image.window(x: x & ~1, y: y & ~1, width: min(side, image.width), height: min(side, image.height))
                let encoded = try model.encode(crop, quality: quality(&rng))
                pairs.append(DenoiserTrainingPair(quality: encoded.quality, decoded: try model.decode(encoded), original: crop))
                progress(pairs.count)
            }
        }
        return pairs
    }

    static let cacheMagic: [UInt8] = Array("NXDP".utf8)

    /// Pairs made with the decoder `decoderIdentifier` as the bytes of a cache file (not a product
    /// format: it only saves coding the crops again; `nacre train-denoiser` keeps it next to its output).
    public static func cacheBytes(_ pairs: [DenoiserTrainingPair], decoderIdentifier: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: cacheMagic)
        w.append(decoderIdentifier)
        w.append(UInt32(pairs.count))
        for pair in pairs {
            w.append(Float(pair.quality).bitPattern)
            w.append(UInt32(pair.original.width))
            w.append(UInt32(pair.original.height))
            w.append(contentsOf: pair.decoded.rgb)
            w.append(contentsOf: pair.original.rgb)
        }
        return w.bytes
    }

    /// Reads cache bytes written by `cacheBytes`; nil when they are damaged or were made with
    /// another decoder (then the pairs are made again).
    public static func pairs(fromCache bytes: [UInt8], decoderIdentifier: UInt64) -> [DenoiserTrainingPair]? {
        var r = ByteReader(bytes, what: "pair cache", shortReadCode: .corruptStream)
        do {
            guard try r.readBytes(4) == cacheMagic, try r.read(UInt64.self) == decoderIdentifier else { return nil }
            let count = Int(try r.read(UInt32.self))
            var pairs: [DenoiserTrainingPair] = []
            for _ in 0..<count {
                let quality = Double(Float(bitPattern: try r.read(UInt32.self)))
                let width = Int(try r.read(UInt32.self)), height = Int(try r.read(UInt32.self))
                guard width > 0, height > 0, width * height * 6 <= r.remaining else { return nil }
                let decoded = try PixelBuffer(width: width, height: height, rgb: try r.readBytes(width * height * 3))
                let original = try PixelBuffer(width: width, height: height, rgb: try r.readBytes(width * height * 3))
                pairs.append(DenoiserTrainingPair(quality: quality, decoded: decoded, original: original))
            }
            return r.remaining == 0 ? pairs : nil
        } catch {
            return nil
        }
    }
}

