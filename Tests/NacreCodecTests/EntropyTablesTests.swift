import Foundation
import Testing
@testable import NacreCodec

@Suite struct EntropyTablesTests {
    @Test func defaultGaussianScalesMatchCompressAI() {
        let scales = EntropyTables.defaultGaussianScales
        #expect(scales.count == 64)
        #expect(abs(scales[0] - 0.11) < 1e-12)
        #expect(abs(scales[63] - 256) < 1e-9)
        // Log spacing: constant ratio.
        let ratio = scales[1] / scales[0]
        for i in 1..<64 { #expect(abs(scales[i] / scales[i - 1] - ratio) < 1e-9) }
    }

    @Test func continuousScaleIndexMatchesTheTable() {
        let scales = EntropyTables.defaultGaussianScales
        for j in [0, 1, 31, 63] {
            #expect(abs(EntropyTables.continuousScaleIndex(ofScale: scales[j]) - Double(j)) < 1e-9)
            #expect(abs(EntropyTables.scale(atContinuousIndex: Double(j)) / scales[j] - 1) < 1e-12)
        }
        // Halfway in log between two table scales is index j + 0.5.
        let mid = (scales[10] * scales[11]).squareRoot()
        #expect(abs(EntropyTables.continuousScaleIndex(ofScale: mid) - 10.5) < 1e-9)
    }

    @Test func everyGaussianTableSumsTo65536WithPositiveFrequencies() throws {
        let tables = try EntropyTables.gaussian()
        #expect(tables.count == 64)
        for t in 0..<tables.count {
            let f = tables.frequencies(ofTable: t)
            #expect(f.allSatisfy { $0 >= 1 })
            #expect(f.reduce(0, +) == 65536)
            #expect(f.count == Int(tables.regularCounts[t]) + 1)
            // Symmetric range centred on 0.
            #expect(Int(tables.minValues[t]) == -(Int(tables.regularCounts[t]) - 1) / 2)
        }
        // CompressAI's −ppf(1e-9/2) = 6.10941: the widest table is ceil(256 · 6.10941) = 1565 each side.
        #expect(tables.minValues[63] == -1565)
        #expect(tables.minValues[0] == -1)
    }

    @Test func gaussianTablesAreUnimodalAroundZero() throws {
        let tables = try EntropyTables.gaussian()
        for t in [0, 20, 40, 63] {
            let f = tables.frequencies(ofTable: t).dropLast()
            let centre = -Int(tables.minValues[t])
            // Wide tables are nearly flat at the top, so allow the rounding's one unit.
            #expect(f[f.startIndex + centre] + 1 >= f.max()!)
            #expect(f[f.startIndex] <= f[f.startIndex + centre / 2 + 1])
        }
    }

    @Test func quantizerKeepsTinyMassesCodableAndIsDeterministic() throws {
        let masses = [0.0, 1e-30, 0.5, 0.25, 0.25, 0, 0]
        let a = try CDFQuantizer.frequencies(masses: masses)
        let b = try CDFQuantizer.frequencies(masses: masses)
        #expect(a == b)
        #expect(a.allSatisfy { $0 >= 1 })
        #expect(a.reduce(0, +) == 65536)
        #expect(a[2] > a[3] && a[3] == a[4])
        // All-zero mass falls back to uniform.
        let u = try CDFQuantizer.frequencies(masses: [0, 0, 0, 0])
        #expect(u == [16384, 16384, 16384, 16384])
    }

    @Test func quantizerRejectsBadMasses() {
        #expect(throws: EntropyCodingError.self) { try CDFQuantizer.frequencies(masses: []) }
        #expect(throws: EntropyCodingError.self) { try CDFQuantizer.frequencies(masses: [0.5, .nan]) }
        #expect(throws: EntropyCodingError.self) { try CDFQuantizer.frequencies(masses: [0.5, -0.1]) }
        #expect(throws: EntropyCodingError.self) { try CDFQuantizer.frequencies(masses: Array(repeating: 1, count: 70_000)) }
    }

    @Test func factorizedTablesCoverTheGivenRange() throws {
        let pmfA = (0..<9).map { i in exp(-abs(Double(i - 4))) / 3 }
        let pmfB = [0.2, 0.6, 0.2]
        let tables = try EntropyTables.factorized(pmfs: [pmfA, pmfB], firstValues: [-4 + 2, -1])
        #expect(tables.count == 2)
        #expect(tables.minValues == [-2, -1])
        #expect(tables.regularCounts == [9, 3])
        for t in 0..<2 { #expect(tables.frequencies(ofTable: t).reduce(0, +) == 65536) }
        // pmfB sums to 1, so its escape gets only the guaranteed minimum.
        #expect(tables.frequencies(ofTable: 1).last == 1)
    }

    @Test func serializationRoundTripsAndIsStable() throws {
        let tables = try EntropyTables.gaussian()
        let bytes = tables.serialized()
        #expect(bytes.count == 12 + tables.count * 8 + 2 * tables.regularCounts.reduce(0) { $0 + Int($1) + 1 })
        #expect(Array(bytes.prefix(4)) == Array("NXET".utf8))
        let loaded = try EntropyTables(serialized: bytes)
        #expect(loaded == tables)
        #expect(loaded.serialized() == bytes)
    }

    @Test func corruptSerializedTablesAreRejected() throws {
        let bytes = try EntropyTables.factorized(pmfs: [[0.25, 0.5, 0.25]], firstValues: [-1]).serialized()
        for cut in 0..<bytes.count {
            #expect(throws: EntropyCodingError.self) { try EntropyTables(serialized: Array(bytes.prefix(cut))) }
        }
        var extra = bytes
        extra.append(0)
        #expect(throws: EntropyCodingError.self) { try EntropyTables(serialized: extra) }
        var badFrequency = bytes
        badFrequency[bytes.count - 2] &+= 1  // the escape frequency: the sum is no longer 65536
        #expect(throws: EntropyCodingError.self) { try EntropyTables(serialized: badFrequency) }
        var hugeCount = bytes
        hugeCount[8] = 0xFF; hugeCount[9] = 0xFF; hugeCount[10] = 0xFF
        #expect(throws: EntropyCodingError.self) { try EntropyTables(serialized: hugeCount) }
        var hugeSymbols = bytes
        hugeSymbols[18] = 0xFF  // the first table's regular count
        #expect(throws: EntropyCodingError.self) { try EntropyTables(serialized: hugeSymbols) }
    }
}
