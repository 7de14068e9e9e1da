import Foundation
import Logging
import NacreArchive
import NacreCodec
import NacreEngine
import NacreStore
import Testing
@testable import NacreDaemon

extension PipelineProcessTests {
    /// Verification of a sealed batch in both `verify.decode` modes, on a real archive written as
    /// the pipeline writes it (the built-in base model, real photo crops). In the serialized
    /// pipeline suite: it encodes on the test's thread, which would starve the socket suites' timers.
    @Suite("Batch verifier")
    struct BatchVerifierTests {
        /// A sealed three-image batch and what the pipeline knew about it at encode.
        struct Batch {
            let folder = TemporaryFolder()
            let context: CodecContext
            let path: String
            var expected: [BatchVerifier.Expected] = []
            /// What the pipeline hands the early verifier for each image.
            var earlyJobs: [EarlyVerifier.Job] = []

            init() throws {
                context = CodecContext(engine: try Engine(threads: 1),
                                       codec: try CodecModel.load(contentsOfFile: PipelineRecoveryTests.baseModel,
                                                                  engine: try Engine(threads: 1)),
                                       modelPath: PipelineRecoveryTests.baseModel)
                folder.makeFolder("processing")
                path = folder.sub("batch.nacre")
                try context.openWriter(path: path, writerVersion: "test", settings: [:])
                for crop in try TestCrops.make(count: 3) {
                    let claimed = folder.sub("processing/" + crop.name)
                    precondition(FileManager.default.createFile(atPath: claimed, contents: Data(crop.png)))
                    let (packed, pixels) = try context.pack(path: claimed, name: Array(crop.name.utf8), rate: .quality(50),
                                                            limits: .default)
                    #expect(pixels == crop.pixels, "the source pixels come back with the packed image")
                    _ = try context.append(packed.image)
                    earlyJobs.append(EarlyVerifier.Job(archiveID: "batch", image: packed.image, latentDigest: packed.latentDigest,
                                                       reference: pixels, toleranceDB: 0.01))
                    expected.append(BatchVerifier.Expected(name: Array(crop.name.utf8), claimedPath: claimed,
                                                           sourcePath: folder.sub("inbox/" + crop.name), latentDigest: packed.latentDigest))
                }
                _ = try context.seal()
            }

            func earlyVerifier() -> EarlyVerifier {
                EarlyVerifier(codec: context.codec, modelFrame: context.modelFrame, logger: Logger(label: "test"))
            }

            func verify(_ decode: DaemonConfig.VerifyDecode) throws -> BatchVerifier.Verified {
                try BatchVerifier.verify(archiveID: "batch", path: path, expected: expected, toleranceDB: 0.01, decode: decode,
                                         context: context, stop: StopFlag())
            }
        }

        /// Runs `body` on a thread of its own (the encoding would hold a cooperative-pool thread
        /// the socket suites' timers need); an error comes back as its description.
        static func offPoolResult<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, VerifierFailure> {
            await offPool { Result { try body() }.mapError { VerifierFailure(description: "\($0)", code: ($0 as? PipelineError)?.code) } }
        }

        struct VerifierFailure: Error, Sendable {
            var description: String
            var code: PipelineError.Code?
        }

        @Test func bothModesPassAnIntactBatch() async throws {
            let counts = try await Self.offPoolResult {
                let batch = try Batch()
                return try [DaemonConfig.VerifyDecode.full, .latents(pixelCheckEvery: 2), .latents(pixelCheckEvery: 16)]
                    .map { try batch.verify($0).images.count }
            }.get()
            #expect(counts == [3, 3, 3])
        }

        /// The latents mode compares each image's decoded latents with those measured at encode: a
        /// digest that does not match (as if the bitstream had changed since) fails the batch and
        /// names the image; an image the pixel check covers is judged by its PSNR instead.
        @Test func latentsModeCatchesOtherLatents() async throws {
            struct Outcome: Sendable {
                var name: String
                var failure: VerifierFailure?
                var fullCount: Int, everyImageChecked: Int, afterRestart: Int
            }
            let outcome = try await Self.offPoolResult {
                var batch = try Batch()
                batch.expected[1].latentDigest = SHA256.hash(Array("not these latents".utf8))
                var failure: VerifierFailure?
                do { _ = try batch.verify(.latents(pixelCheckEvery: 16)) } catch {
                    failure = VerifierFailure(description: "\(error)", code: (error as? PipelineError)?.code)
                }
                // Every image decoded to pixels (full, or a pixel check on every image): the PSNR holds.
                let full = try batch.verify(.full).images.count
                let every = try batch.verify(.latents(pixelCheckEvery: 1)).images.count
                // After a restart nothing is known from the encode: each image is decoded to pixels.
                batch.expected[1].latentDigest = nil
                let restarted = try batch.verify(.latents(pixelCheckEvery: 16)).images.count
                return Outcome(name: String(decoding: batch.expected[1].name, as: UTF8.self), failure: failure,
                               fullCount: full, everyImageChecked: every, afterRestart: restarted)
            }.get()
            let failure = try #require(outcome.failure, "a batch with other latents passed")
            #expect(failure.code == .verification)
            #expect(failure.description.contains(outcome.name), "\(failure.description)")
            #expect(failure.description.contains("other latents"))
            #expect(outcome.fullCount == 3 && outcome.everyImageChecked == 3 && outcome.afterRestart == 3)
        }
            /// Images checked before the seal are not decoded again: each sealed frame's content must
        /// be the one that was checked. The checks themselves refuse other latents and a PSNR
        /// that is not the recorded one.
        @Test func earlyChecksStandInForDecodingAfterTheSeal() async throws {
            struct Outcome: Sendable {
                var checkedEarly: [Int]
                var latentsOnly: Bool
                var refused: [Bool]
                var queued: Int
                var failure: VerifierFailure?
            }
            let outcome = try await Self.offPoolResult {
                var batch = try Batch()
                let early = batch.earlyVerifier()
                var checkedEarly: [Int] = []
                // Every image pixel-checked early: a full verification decodes none of them.
                for index in batch.expected.indices { batch.expected[index].early = early.check(batch.earlyJobs[index]) }
                checkedEarly.append(try batch.verify(.full).checkedEarly)
                // Checked by latents only: enough where the mode asks for no pixels (positions 1 and 2 of 3).
                var latentsOnly = batch.earlyJobs[1]
                latentsOnly.reference = nil
                let latentOutcome = early.check(latentsOnly)
                for index in batch.expected.indices {
                    var job = batch.earlyJobs[index]
                    job.reference = nil
                    batch.expected[index].early = early.check(job)
                }
                checkedEarly.append(try batch.verify(.latents(pixelCheckEvery: 16)).checkedEarly)
                checkedEarly.append(try batch.verify(.full).checkedEarly)
                // Pixel checks made under a looser tolerance than the current one do not stand.
                for index in batch.expected.indices {
                    batch.expected[index].early = early.check(batch.earlyJobs[index])
                    batch.expected[index].early?.toleranceDB = 0.5
                }
                checkedEarly.append(try batch.verify(.full).checkedEarly)

                var otherLatents = batch.earlyJobs[0]
                otherLatents.latentDigest = SHA256.hash(Array("not these latents".utf8))
                var otherPSNR = batch.earlyJobs[0]
                otherPSNR.image.record.psnr += 0.5
                let refused = [early.check(otherLatents) == nil, early.check(otherPSNR) == nil]

                // Through the queue: what passed comes back by name, once.
                for job in batch.earlyJobs { early.submit(job) }
                try early.waitForQueuedChecks()
                let queued = early.take(archiveID: "batch").count + early.take(archiveID: "batch").count

                // A sealed frame that is not the checked one fails the batch, whether its check
                // stands in for pixels (full) or for latents only (latents mode, position 2): one
                // bitstream bit, or the alpha plane, is enough to change the digest.
                var failures: [VerifierFailure] = []
                for (mode, change) in [(DaemonConfig.VerifyDecode.full, "bitstream"), (.latents(pixelCheckEvery: 16), "bitstream"),
                                       (.latents(pixelCheckEvery: 16), "alpha")] {
                    var other = batch.earlyJobs[2].image
                    if change == "bitstream" { other.bitstreams[0][other.bitstreams[0].count / 2] ^= 1 } else { other.alpha = [0] }
                    let checked = try #require(early.check(batch.earlyJobs[2]))
                    batch.expected[2].early = EarlyVerifier.Outcome(contentDigest: other.contentDigest, pixelsChecked: checked.pixelsChecked,
                                                                    toleranceDB: checked.toleranceDB)
                    do {
                        _ = try batch.verify(mode)
                    } catch {
                        failures.append(VerifierFailure(description: "\(error)", code: (error as? PipelineError)?.code))
                    }
                }
                let failure = failures.count == 3 ? failures.first : nil
                return Outcome(checkedEarly: checkedEarly, latentsOnly: latentOutcome?.pixelsChecked == false,
                               refused: refused, queued: queued, failure: failure)
            }.get()
            #expect(outcome.checkedEarly == [3, 2, 0, 0], "position 0 is pixel-checked in the latents mode; full needs pixels everywhere")
            #expect(outcome.latentsOnly)
            #expect(outcome.refused == [true, true], "an early check passed other latents or another PSNR")
            #expect(outcome.queued == 3)
            let failure = try #require(outcome.failure, "a sealed frame other than the checked one passed (in one of 3 cases)")
            #expect(failure.code == .verification)
            #expect(failure.description.contains("differs from the one checked before the seal"), "\(failure.description)")
        }
    }
}
