import Foundation
import Testing
@testable import NacreCodec

@Suite struct LatentCoderTests {
    static let gaussian = try! EntropyTables.gaussian()
    static let factorized = try! EntropyTables.factorized(
        pmfs: (0..<4).map { c in (0..<(5 + 2 * c)).map { i in 1.0 / Double(6 + 2 * c) } },
        firstValues: [-2, -3, 0, 10])

    /// y drawn roughly from the table it is coded with, plus a sprinkling of escapes.
    static func sampleY(count: Int, seed: UInt64) -> (y: [Int32], indices: [UInt8]) {
        var rng = SeededGenerator(seed: seed)
        var y: [Int32] = [], indices: [UInt8] = []
        for _ in 0..<count {
            let index = UInt8.random(in: 0...63, using: &rng)
            let sigma = EntropyTables.defaultGaussianScales[Int(index)]
            indices.append(index)
            y.append(Int.random(in: 0..<200, using: &rng) == 0
                     ? Int32.random(in: Int32.min...Int32.max, using: &rng)
                     : rng.roughGaussian(sigma: sigma))
        }
        return (y, indices)
    }

    @Test func randomGaussianLatentsRoundTrip() throws {
        let (y, indices) = Self.sampleY(count: 20_000, seed: 1)
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: Self.gaussian)
        #expect(try LatentCoder.decodeGaussian(bytes, scaleIndices: indices, tables: Self.gaussian) == y)
    }

    @Test func meansShiftTheCodedResidual() throws {
        let (y, indices) = Self.sampleY(count: 5_000, seed: 2)
        var rng = SeededGenerator(seed: 3)
        let means = y.map { _ in Int32.random(in: Int32.min...Int32.max, using: &rng) }
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, means: means, tables: Self.gaussian)
        #expect(try LatentCoder.decodeGaussian(bytes, scaleIndices: indices, means: means, tables: Self.gaussian) == y)
        // Means near the values make the stream much smaller than means far away.
        let near = try LatentCoder.encodeGaussian(y, scaleIndices: indices, means: y, tables: Self.gaussian)
        #expect(near.count < bytes.count / 4)
    }

    @Test func extremeValuesRoundTripThroughTheEscape() throws {
        let extremes: [Int32] = [.min, .max, .min + 1, .max - 1, 0, -1, 1, 1565, -1565, 1 << 20, -(1 << 20)]
        for index in [UInt8(0), 31, 63] {
            let indices = [UInt8](repeating: index, count: extremes.count)
            let bytes = try LatentCoder.encodeGaussian(extremes, scaleIndices: indices, tables: Self.gaussian)
            #expect(try LatentCoder.decodeGaussian(bytes, scaleIndices: indices, tables: Self.gaussian) == extremes)
            // Extreme means against extreme values: residuals up to ±(2^32 − 1).
            let means = extremes.reversed().map { $0 }
            let shifted = try LatentCoder.encodeGaussian(extremes, scaleIndices: indices, means: means, tables: Self.gaussian)
            #expect(try LatentCoder.decodeGaussian(shifted, scaleIndices: indices, means: means, tables: Self.gaussian) == extremes)
        }
    }

    @Test func allEscapeStreamRoundTrips() throws {
        var rng = SeededGenerator(seed: 4)
        let y = (0..<3_000).map { _ in Int32.random(in: 2...Int32.max, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) }
        let indices = [UInt8](repeating: 0, count: y.count)  // table 0 covers only −1...1
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: Self.gaussian)
        #expect(try LatentCoder.decodeGaussian(bytes, scaleIndices: indices, tables: Self.gaussian) == y)
    }

    @Test func emptyAndSingleSymbolStreams() throws {
        let empty = try LatentCoder.encodeGaussian([], scaleIndices: [], tables: Self.gaussian)
        #expect(empty.count == 8)
        #expect(try LatentCoder.decodeGaussian(empty, scaleIndices: [], tables: Self.gaussian) == [])
        for value: Int32 in [0, 3, -7, .max] {
            let one = try LatentCoder.encodeGaussian([value], scaleIndices: [10], tables: Self.gaussian)
            #expect(try LatentCoder.decodeGaussian(one, scaleIndices: [10], tables: Self.gaussian) == [value])
        }
    }

    @Test func factorizedLatentsRoundTripPerChannel() throws {
        var rng = SeededGenerator(seed: 5)
        let plane = 37
        var z: [Int32] = []
        for c in 0..<4 {
            let lo = Int32(Self.factorized.minValues[c])
            for _ in 0..<plane { z.append(Int32.random(in: (lo - 3)...(lo + 12), using: &rng)) }
        }
        z[0] = .min; z[z.count - 1] = .max
        let bytes = try LatentCoder.encodeFactorized(z, channelCount: 4, tables: Self.factorized)
        #expect(try LatentCoder.decodeFactorized(bytes, channelCount: 4, elementCount: z.count, tables: Self.factorized) == z)
        // A one-element-per-channel tensor (a 1×1 z) works too.
        let tiny: [Int32] = [0, 1, 2, 3]
        let tinyBytes = try LatentCoder.encodeFactorized(tiny, channelCount: 4, tables: Self.factorized)
        #expect(try LatentCoder.decodeFactorized(tinyBytes, channelCount: 4, elementCount: 4, tables: Self.factorized) == tiny)
    }

    @Test func codedSizeIsNearTheEntropy() throws {
        // Values drawn from table 40's own distribution cost about its entropy.
        let t = 40
        let f = Self.gaussian.frequencies(ofTable: t).dropLast().map(Double.init)
        let minValue = Int(Self.gaussian.minValues[t])
        var rng = SeededGenerator(seed: 6)
        let cdf = f.reduce(into: [0.0]) { $0.append($0.last! + $1) }
        let y: [Int32] = (0..<20_000).map { _ in
            let u = Double.random(in: 0..<cdf.last!, using: &rng)
            return Int32(minValue + cdf.lastIndex { $0 <= u }!)
        }
        let entropy = f.reduce(0.0) { $0 - ($1 / 65536) * log2($1 / 65536) }
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: .init(repeating: UInt8(t), count: y.count), tables: Self.gaussian)
        let bitsPerSymbol = Double(bytes.count * 8) / Double(y.count)
        #expect(bitsPerSymbol < entropy * 1.02 + 0.01)
        #expect(bitsPerSymbol > entropy * 0.95)
    }

    @Test func inconsistentArgumentsAreErrors() throws {
        #expect(throws: EntropyCodingError.self) { try LatentCoder.encodeGaussian([1, 2], scaleIndices: [0], tables: Self.gaussian) }
        #expect(throws: EntropyCodingError.self) { try LatentCoder.encodeGaussian([1], scaleIndices: [64], tables: Self.gaussian) }
        #expect(throws: EntropyCodingError.self) { try LatentCoder.encodeGaussian([1], scaleIndices: [0], means: [], tables: Self.gaussian) }
        #expect(throws: EntropyCodingError.self) { try LatentCoder.encodeFactorized([1, 2, 3], channelCount: 2, tables: Self.factorized) }
        #expect(throws: EntropyCodingError.self) { try LatentCoder.encodeFactorized([1, 2, 3, 4, 5], channelCount: 5, tables: Self.factorized) }
    }

    @Test func truncatedAndCorruptStreamsAreErrorsNotCrashes() throws {
        let (y, indices) = Self.sampleY(count: 400, seed: 7)
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: Self.gaussian)
        // Every truncation fails.
        for cut in 0..<bytes.count {
            #expect(throws: EntropyCodingError.self) {
                try LatentCoder.decodeGaussian(Array(bytes.prefix(cut)), scaleIndices: indices, tables: Self.gaussian)
            }
        }
        // Random byte flips, insertions and garbage: never a trap; nearly always an error.
        var rng = SeededGenerator(seed: 8)
        var silent = 0
        let trials = 600
        for trial in 0..<trials {
            var corrupt = bytes
            switch trial % 3 {
            case 0:
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    corrupt[Int.random(in: 0..<corrupt.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:
                corrupt.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...corrupt.count, using: &rng))
            default:
                corrupt = (0..<Int.random(in: 0..<(2 * bytes.count), using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            do {
                let decoded = try LatentCoder.decodeGaussian(corrupt, scaleIndices: indices, tables: Self.gaussian)
                if decoded != y || corrupt != bytes { silent += 1 }
            } catch let error as EntropyCodingError {
                #expect([.truncatedStream, .corruptStream].contains(error.code))
            }
        }
        // The final-state check catches nearly everything; a flip inside an escape's raw bypass bits
        // can decode to another valid value (raw bits carry no redundancy; the archive's checksum
        // is what catches those).
        #expect(silent <= trials / 100)
    }

    @Test func decodingWithTheWrongTablesIsDetected() throws {
        let (y, indices) = Self.sampleY(count: 1_000, seed: 9)
        let bytes = try LatentCoder.encodeGaussian(y, scaleIndices: indices, tables: Self.gaussian)
        let shifted = indices.map { min($0 + 1, 63) }
        #expect(throws: EntropyCodingError.self) {
            try LatentCoder.decodeGaussian(bytes, scaleIndices: shifted, tables: Self.gaussian)
        }
    }
}
