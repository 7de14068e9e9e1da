import Testing
@testable import NacreCodec

@Suite struct LatentBitstreamTests {
    static let sample = LatentBitstream(
        zShape: .init(channels: 64, height: 8, width: 12), yShape: .init(channels: 96, height: 32, width: 48),
        zStream: (0..<40).map { UInt8($0) }, yStream: (0..<300).map { UInt8($0 % 256) })

    @Test func recordRoundTripsWithTheDocumentedLayout() throws {
        let bytes = Self.sample.serialized()
        // version, 6 varints (64 8 12 96 32 48 fit one byte each), len 40, z, len 300 (2 bytes), y.
        #expect(Array(bytes.prefix(8)) == [1, 64, 8, 12, 96, 32, 48, 40])
        #expect(bytes.count == 1 + 6 + 1 + 40 + 2 + 300)
        #expect(Array(bytes[48...49]) == [0xAC, 0x02])
        #expect(try LatentBitstream(serialized: bytes) == Self.sample)
    }

    @Test func malformedRecordsAreErrors() throws {
        let bytes = Self.sample.serialized()
        for cut in 0..<bytes.count {
            #expect(throws: EntropyCodingError.self) { try LatentBitstream(serialized: Array(bytes.prefix(cut))) }
        }
        #expect(throws: EntropyCodingError.self) { try LatentBitstream(serialized: bytes + [0]) }
        var badVersion = bytes
        badVersion[0] = 2
        #expect(throws: EntropyCodingError.self) { try LatentBitstream(serialized: badVersion) }
        // A giant dimension (varint 0xFF 0xFF 0x7F) is refused before any allocation.
        let giant: [UInt8] = [1, 0xFF, 0xFF, 0x7F, 1, 1, 1, 1, 1, 0, 0]
        #expect(throws: EntropyCodingError.self) { try LatentBitstream(serialized: giant) }
    }

    @Test func emptyLatentsAreValid() throws {
        let empty = LatentBitstream(zShape: .init(channels: 0, height: 0, width: 0), yShape: .init(channels: 0, height: 0, width: 0),
                                    zStream: [], yStream: [])
        #expect(try LatentBitstream(serialized: empty.serialized()) == empty)
    }
}
