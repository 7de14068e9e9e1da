import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreStore
import Testing
@testable import NacreDaemon

/// Verification of a sealed batch in both `verify.decode` modes, on a real archive written as
/// the pipeline writes it (the built-in base model, real photo crops).
@Suite("Batch verifier")
struct BatchVerifierTests {
    /// A sealed three-image batch and what the pipeline knew about it at encode.
    struct Batch {
        let folder = TemporaryFolder()
        let context: CodecContext
        let path: String
        var expected: [BatchVerifier.Expected] = []

        init() throws {
            context = CodecContext(engine: try Engine(threads: 1),
                                   codec: try CodecModel.load(contentsOfFile: PipelineProcessTests.PipelineRecoveryTests.baseModel,
                                                              engine: try Engine(threads: 1)),
                                   modelPath: PipelineProcessTests.PipelineRecoveryTests.baseModel)
            folder.makeFolder("processing")
            path = folder.sub("batch.nacre")
            try context.openWriter(path: path, writerVersion: "test", settings: [:])
            for crop in try TestCrops.make(count: 3) {
                let claimed = folder.sub("processing/" + crop.name)
                precondition(FileManager.default.createFile(atPath: claimed, contents: Data(crop.png)))
                let packed = try context.pack(path: claimed, name: Array(crop.name.utf8), rate: .quality(50),
                                              limits: .default)
                _ = try context.append(packed.image)
                expected.append(BatchVerifier.Expected(name: Array(crop.name.utf8), claimedPath: claimed,
                                                       sourcePath: folder.sub("inbox/" + crop.name), latentDigest: packed.latentDigest))
            }
            _ = try context.seal()
        }

        func verify(_ decode: DaemonConfig.VerifyDecode) throws -> BatchVerifier.Verified {
            try BatchVerifier.verify(archiveID: "batch", path: path, expected: expected, toleranceDB: 0.01, decode: decode,
                                     context: context, stop: StopFlag())
        }
    }

    @Test func bothModesPassAnIntactBatch() throws {
        let batch = try Batch()
        for decode in [DaemonConfig.VerifyDecode.full, .latents(pixelCheckEvery: 2), .latents(pixelCheckEvery: 16)] {
            let verified = try batch.verify(decode)
            #expect(verified.images.count == 3, "\(decode)")
        }
    }

    /// The latents mode compares each image's decoded latents with those measured at encode: a
    /// digest that does not match (as if the bitstream had changed since) fails the batch and
    /// names the image; an image the pixel check covers is judged by its PSNR instead.
    @Test func latentsModeCatchesOtherLatents() throws {
        var batch = try Batch()
        batch.expected[1].latentDigest = SHA256.hash(Array("not these latents".utf8))
        let failure = #expect(throws: PipelineError.self) { try batch.verify(.latents(pixelCheckEvery: 16)) }
        #expect(failure?.code == .verification)
        #expect(failure?.message.contains(String(decoding: batch.expected[1].name, as: UTF8.self)) == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("other latents") == true)
        // Every image decoded to pixels (full, or a pixel check on every image): the PSNR holds.
        #expect(try batch.verify(.full).images.count == 3)
        #expect(try batch.verify(.latents(pixelCheckEvery: 1)).images.count == 3)
        // After a restart nothing is known from the encode: each image is decoded to pixels.
        batch.expected[1].latentDigest = nil
        #expect(try batch.verify(.latents(pixelCheckEvery: 16)).images.count == 3)
    }
}
