import Foundation
@testable import NacreArchive

/// A deterministic pseudo-random generator (SplitMix64), so fixtures are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            let word = next()
            for shift in 0..<min(8, count - index) { result[index + shift] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(shift))) }
            index += 8
        }
        return result
    }
}

/// Shared fixtures and helpers for the archive tests.
enum ArchiveTestSupport {
    /// A fresh empty folder under the system temp folder.
    static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-archive-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func removeFolder(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// The files in a folder, hidden ones included.
    static func contents(of folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    static func model(seed: UInt64 = 1, count: Int = 4096) -> [UInt8] {
        // Weight-like bytes: small values dominate, so zstd has something to do.
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(bitPattern: Int8(clamping: Int.random(in: -20...20, using: &generator))) }
    }

    static func manifest(for model: [UInt8], time: Int64 = 1_700_000_000_000_000) -> ArchiveManifest {
        ArchiveManifest(creationTime: time, writerVersion: "nacre-tests 1", modelID: "test-model-v1",
                        modelSHA256: SHA256.hash(model), codecSettings: ["lambda": "0.013", "levels": "8"])
    }

    /// `count` images with random (incompressible, like entropy-coded) bitstreams; image 1 has an alpha plane.
    static func images(count: Int, seed: UInt64 = 7, latentBytes: ClosedRange<Int> = 200...3000) -> [ArchiveImage] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { number in
            var record = ImageRecord(
                name: Array(String(format: "photos/IMG_%04d.png", number).utf8),
                width: UInt32.random(in: 64...4000, using: &generator), height: UInt32.random(in: 64...3000, using: &generator),
                channels: number == 1 ? 4 : 3, colorType: number == 1 ? 6 : 2, bitDepth: number % 3 == 2 ? 16 : 8,
                quality: Float(Int.random(in: 100...10000, using: &generator)) / 100,
                originalSHA256: SHA256.hash(generator.bytes(16)),
                psnr: Float.random(in: 25...42, using: &generator), msssim: Float.random(in: 0.9...1, using: &generator),
                flags: UInt32(number % 4))
            // A plausible PNG size (about half the raw samples), derived so the random sequence is unchanged.
            record.originalByteCount = UInt64(record.width) * UInt64(record.height) * UInt64(record.channels) * UInt64(record.bitDepth) / 16
            let z = generator.bytes(Int.random(in: 16...200, using: &generator))
            let y = generator.bytes(Int.random(in: latentBytes, using: &generator))
            let alpha: [UInt8]? = number == 1 ? (0..<4096).map { $0 % 64 < 60 ? 255 : UInt8($0 & 0xFF) } : nil
            return ArchiveImage(record: record, bitstreams: [z, y], alpha: alpha)
        }
    }

    /// Bytes of the shortest LEB128 encoding of `value`.
    static func varintLength(_ value: UInt64) -> Int {
        var writer = ByteWriter()
        writer.varint(value)
        return writer.bytes.count
    }

    /// Writes and seals an archive; returns the seal summary.
    @discardableResult
    static func writeArchive(at path: String, images: [ArchiveImage], model: [UInt8], manifest: ArchiveManifest? = nil) throws -> ArchiveWriter.SealedArchive {
        let writer = try ArchiveWriter(path: path, manifest: manifest ?? Self.manifest(for: model), model: model)
        for image in images { try writer.append(image) }
        return try writer.seal()
    }

    /// A sealed archive's bytes together with its inputs.
    struct Sample {
        var bytes: [UInt8]
        var images: [ArchiveImage]
        var model: [UInt8]
        var manifest: ArchiveManifest
        /// The frames before the index, from the intact archive.
        var frames: [FrameLocation]
        var indexOffset: Int { bytes.count - 48 - indexLength }
        var indexLength: Int
        var trailerOffset: Int { bytes.count - 48 }
    }

    static func sample(imageCount: Int = 4) throws -> Sample {
        let folder = try temporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/sample.nacre"
        let model = Self.model()
        let images = Self.images(count: imageCount)
        let sealed = try writeArchive(at: path, images: images, model: model)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let reader = try ArchiveReader.parse(bytes: bytes)
        return Sample(bytes: bytes, images: images, model: model, manifest: manifest(for: model), frames: reader.frames,
                      indexLength: Int(sealed.indexAndTrailerBytes) - 48)
    }

    /// Runs a program; returns its exit status and standard output.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Overwrites a little-endian UInt16/UInt32/UInt64 in a byte array.
    static func patch<T: FixedWidthInteger>(_ bytes: inout [UInt8], at offset: Int, _ value: T) {
        for index in 0..<MemoryLayout<T>.size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    /// Recomputes the trailer's own CRC after a test edited its fields.
    static func resealTrailer(_ bytes: inout [UInt8]) {
        let start = bytes.count - 48
        patch(&bytes, at: start + 44, CRC32C.checksum(bytes[(start + 8)..<(start + 44)]))
    }

    /// Recomputes the manifest's CRC after a test edited its fields.
    static func resealManifest(_ bytes: inout [UInt8]) {
        let payloadLength = Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
        let crcOffset = 8 + payloadLength - 4
        patch(&bytes, at: crcOffset, CRC32C.checksum(bytes[8..<crcOffset]))
    }
}
