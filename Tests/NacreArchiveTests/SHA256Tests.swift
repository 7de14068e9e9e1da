import Foundation
import Testing
import NacreArchive

@Suite("SHA-256")
struct SHA256Tests {
    @Test("NIST vectors: empty, abc, two-block message")
    func knownVectors() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("One million 'a', fed in uneven pieces")
    func millionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let all = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(SHA256.hash(all).hex == expected)
        var hasher = SHA256()
        var offset = 0
        var step = 1
        while offset < all.count {
            let end = min(all.count, offset + step)
            hasher.update(all[offset..<end])
            offset = end
            step = step * 3 % 1000 + 1
        }
        #expect(hasher.finalize().hex == expected)
    }

    @Test("A copied hasher hashes on independently, and finalize leaves the hasher unchanged")
    func valueSemantics() {
        var first = SHA256()
        first.update(Array("ab".utf8))
        var second = first
        first.update(Array("c".utf8))
        second.update(Array("d".utf8))
        #expect(first.finalize() == SHA256.hash(Array("abc".utf8)))
        #expect(first.finalize() == SHA256.hash(Array("abc".utf8)))
        #expect(second.finalize() == SHA256.hash(Array("abd".utf8)))
        first.update(Array("d".utf8))
        #expect(first.finalize() == SHA256.hash(Array("abcd".utf8)))
    }

    @Test("Every length around the padding boundary matches streaming byte-by-byte")
    func paddingBoundaries() {
        var generator = SplitMix64(seed: 3)
        let data = generator.bytes(200)
        for length in 50...130 {
            var hasher = SHA256()
            for byte in data[0..<length] { hasher.update([byte]) }
            #expect(hasher.finalize() == SHA256.hash(data[0..<length]))
        }
        #expect(SHA256.hash(data[0..<55]) != SHA256.hash(data[0..<56]))
    }

    @Test("Matches the sha256sum command on a file")
    func matchesSha256sum() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        var generator = SplitMix64(seed: 11)
        let data = generator.bytes(300_001)
        let path = folder + "/data.bin"
        try Data(data).write(to: URL(fileURLWithPath: path))
        let result = try ArchiveTestSupport.run("/usr/bin/sha256sum", [path])
        #expect(result.status == 0)
        #expect(result.output.split(separator: " ").first.map(String.init) == SHA256.hash(data).hex)
        #expect(try SHA256.hash(fileAtPath: path) == SHA256.hash(data))
        #expect(throws: ArchiveError.self) { try SHA256.hash(fileAtPath: folder + "/missing") }
    }

    @Test("Digest rejects wrong lengths")
    func digestLength() {
        #expect(throws: ArchiveError.self) { try SHA256Digest(bytes: [1, 2, 3]) }
        #expect(throws: Never.self) { try SHA256Digest(bytes: [UInt8](repeating: 9, count: 32)) }
    }
}
