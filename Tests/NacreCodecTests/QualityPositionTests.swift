import Testing
@testable import NacreCodec

/// The quality → level mapping and the exact integer interpolation of scale-index offsets.
@Suite struct QualityPositionTests {
    @Test func endpointsAndLevelsLandExactly() throws {
        let levels = 8
        let first = try QualityPosition(quality: 1, levelCount: levels)
        #expect(first.level == 0 && first.fraction == 0)
        let last = try QualityPosition(quality: 100, levelCount: levels)
        #expect(last.level == 6 && last.fraction == 256)
        for l in 0..<levels {
            let p = try QualityPosition(quality: 1 + 99 * Double(l) / 7, levelCount: levels)
            #expect(p.level * 256 + p.fraction == l * 256)
        }
        let single = try QualityPosition(quality: 37, levelCount: 1)
        #expect(single.level == 0 && single.fraction == 0)
    }

    @Test func positionIsMonotoneInQuality() throws {
        var previous = -1
        for code in stride(from: 100, through: 10_000, by: 7) {
            let p = try QualityPosition(code: UInt16(code), levelCount: 8)
            let absolute = p.level * 256 + p.fraction
            #expect(absolute >= previous)
            previous = absolute
        }
    }

    @Test func integerOffsetsInterpolateBetweenLevels() throws {
        let offsets: [Int32] = [-1000, 0, 2000, 0, 1000, 0]  // 3 levels × 2 channels
        let mid = try QualityPosition(quality: 25.75, levelCount: 3)  // halfway between levels 0 and 1
        #expect(mid.level == 0 && mid.fraction == 128)
        #expect(mid.interpolate(offsets, channels: 2) == [500, 0])
        let floats: [Float] = [-1, 0, 2, 0, 1, 0]
        #expect(mid.interpolate(floats, channels: 2) == [0.5, 0])
        let top = try QualityPosition(quality: 100, levelCount: 3)
        #expect(top.interpolate(offsets, channels: 2) == [1000, 0])
    }

    @Test func rejectsOutOfRangeQualities() {
        for q in [0.99, 100.01, .infinity, .nan] {
            #expect(throws: CodecError.self) { try QualityPosition(quality: q, levelCount: 8) }
        }
        #expect(throws: CodecError.self) { try QualityPosition(code: 99, levelCount: 8) }
        #expect(throws: CodecError.self) { try QualityPosition(code: 10_001, levelCount: 8) }
    }
}
