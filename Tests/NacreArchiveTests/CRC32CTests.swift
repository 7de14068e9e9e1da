import Testing
import NacreArchive

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("Standard check value and RFC 3720 vectors")
    func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("Streaming in pieces equals one shot (slicing-by-8 and byte tail agree)")
    func streaming() {
        var generator = SplitMix64(seed: 5)
        let data = generator.bytes(1000)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            var crc = CRC32C()
            crc.update(data[0..<split])
            crc.update(data[split...])
            #expect(crc.finalize() == CRC32C.checksum(data))
        }
    }
}
