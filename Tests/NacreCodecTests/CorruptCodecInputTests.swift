import Foundation
import NacreEngine
import Testing
@testable import NacreCodec

/// Corrupt or truncated records and model files give typed errors, never a crash or a hang.
@Suite struct CorruptCodecInputTests {
    /// Every truncation and a sweep of byte flips of an encoded image: the decoder either throws a
    /// typed error or (a flip inside an escape's raw bits) returns an image of the right size.
    @Test func corruptEncodedImagesFailCleanly() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.photo(0)
        let bytes = try model.encode(image, quality: 50).serialized()
        var failures = 0
        func attempt(_ candidate: [UInt8]) {
            do {
                let decoded = try model.decode(try EncodedImage(serialized: candidate))
                #expect(decoded.width >= 1 && decoded.height >= 1)
            } catch is CodecError {
                failures += 1
            } catch is EntropyCodingError {
                failures += 1
            } catch {
                Issue.record("untyped error \(error)")
            }
        }
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) { attempt(Array(bytes[0..<length])) }
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<120 {
            var flipped = bytes
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            flipped[at] ^= UInt8.random(in: 1...255, using: &rng)
            attempt(flipped)
        }
        #expect(failures > 150)  // every truncation and nearly every flip is detected
    }

    @Test func headerLiesAreRejected() throws {
        let model = try CodecFixtures.tinyModel()
        let encoded = try model.encode(try CodecFixtures.photo(0), quality: 50)
        var otherModel = encoded
        otherModel.modelIdentifier ^= 1
        let error = #expect(throws: CodecError.self) { try model.decode(otherModel) }
        #expect(error?.code == .incompatibleModel)
        var otherSize = encoded
        otherSize.width = 300  // latents no longer fit the size
        #expect(throws: CodecError.self) { try model.decode(otherSize) }
        var otherQuality = encoded
        otherQuality.qualityCode = 20_000
        #expect(throws: CodecError.self) { try EncodedImage(serialized: otherQuality.serialized()) }
    }

    @Test func corruptModelFilesFailCleanly() throws {
        let model = try CodecFixtures.tinyModel()
        let bytes = model.decoderBytes()
        let engine = try Engine(threads: 1)
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 41)) {
            #expect(throws: CodecError.self) { try CodecModel.load(Array(bytes[0..<length]), engine: engine) }
        }
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<20 {
            var flipped = bytes
            flipped[Int.random(in: 0..<bytes.count, using: &rng)] ^= 0x5A
            #expect(throws: CodecError.self) { try CodecModel.load(flipped, engine: engine) }
        }
    }
}
