import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// Per-collection adaptation: fine-tuning g_s on a batch's own latents lowers the batch's error
/// without touching the bitstreams, and the relabelled records decode with the adapted model.
struct DecoderAdaptationTests {
    @Test func adaptingTheDecoderToABatchLowersItsErrorWithTheSameLatents() throws {
        let model = try CodecFixtures.tinyModel()
        let photos = try (0..<3).map(CodecFixtures.photo)
        let samples = try photos.map { DecoderAdaptation.Sample(encoded: try model.encode($0, quality: 60), original: $0) }
        let decodedBefore = try model.decode(samples[0].encoded)
        let adaptation = DecoderAdaptation(steps: 30, learningRate: 1e-3, windowSide: 64)
        let (adapted, report) = try adaptation.adapt(model, samples: samples)
        #expect(report.steps == 30)
        #expect(report.mseAfter < report.mseBefore, "MSE \(report.mseBefore) → \(report.mseAfter)")
        #expect(adapted.identifier != model.identifier)

        for sample in samples {
            let relabelled = adaptation.relabel(sample.encoded, for: adapted)
            #expect(try adapted.decodeLatents(relabelled) == (try model.decodeLatents(sample.encoded)), "the latents must not change")
            #expect(throws: CodecError.self) { try adapted.decode(sample.encoded) }  // old label: another model's record
        }
        // The original model is untouched.
        #expect(try model.decode(samples[0].encoded) == decodedBefore)
    }
}
