import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
import Testing

/// Per-collection adaptation is judged on the whole batch: the adapted decoder is kept only when
/// the batch's mean PSNR rises, never because the trained-on sample improved.
struct BatchAdapterTests {
    @Test func aSampleIsSpreadOverTheBatch() {
        #expect(BatchAdapter.sampleIndices(count: 10, limit: 4) == [0, 2, 5, 7])
        #expect(BatchAdapter.sampleIndices(count: 3, limit: 64) == [0, 1, 2])
        #expect(BatchAdapter.sampleIndices(count: 500, limit: 64).last == 492)
    }

    /// The base model on photo crops: fine-tuned on the crops, the batch gains and the adapted
    /// decoder is kept, with every record measured again; judged against first measurements it
    /// does not beat, the base decoder and those measurements are kept.
    @Test func theAdaptedDecoderIsKeptOnlyWhenTheWholeBatchGains() throws {
        let engine = try Engine(threads: 1)  // one core: the daemon suites run in parallel beside it
        let codec = try BaseModel.load(engine: engine)
        let packer = try ImagePacker(codec: codec, rate: .quality(15))
        let originals = try TestCrops.make(count: 5, side: 96, prefix: "batch").map { ($0.png, $0.pixels) }
        let images = try originals.enumerated().map { index, original in
            try packer.pack(pngBytes: original.0, name: Array("image-\(index).png".utf8)).image
        }
        func original(_ index: Int) throws -> (bytes: [UInt8], decoded: DecodedImage) {
            (originals[index].0, try PNGReader.decode(originals[index].0))
        }

        // All five trained on, gently: the batch gains.
        let gentle = BatchAdapter(tuning: DecoderAdaptation(steps: 60, learningRate: 1e-4, windowSide: 64), sampleLimit: 64)
        let denoiser = try #require(try ModelDenoiser.locate(forModelAt: try BaseModel.locate(), decoderIdentifier: codec.identifier,
                                                             engine: engine)?.denoiser)
        let kept = try gentle.adapt(codec, images: images, denoiser: denoiser, original: original)
        #expect(kept.trainedOn == 5)
        #expect(kept.isAdapted, "mean PSNR \(kept.meanPSNRBefore) → \(kept.meanPSNRAfter)")
        #expect(kept.meanPSNRAfter > kept.meanPSNRBefore)
        #expect(kept.decoder.identifier != codec.identifier)
        // The built-in denoiser still helps the slightly adapted decoder, so it goes along, bound to it.
        let gain = try #require(kept.denoiserGain)
        #expect(gain > 0, "the denoiser through the adapted decoder: \(gain) dB")
        let rebound = try #require(kept.denoiser)
        #expect(rebound.decoderIdentifier == kept.decoder.identifier)
        #expect(rebound.serialized() == denoiser.serialized(boundTo: kept.decoder.identifier))
        for (index, (before, after)) in zip(images, kept.images).enumerated() {
            var latents = try EncodedImage(serialized: after.bitstreams[0])
            latents.modelIdentifier = codec.identifier
            #expect(latents.serialized() == before.bitstreams[0], "the bitstreams never change, only their model label")
            let encoded = gentle.tuning.relabel(try EncodedImage(serialized: after.bitstreams[0]), for: kept.decoder)
            let measured = try PSNR(reference: originals[index].1, distorted: try kept.decoder.decode(encoded)).decibels
            #expect(abs(measured - Double(after.record.psnr)) < 1e-3, "records are measured with the adapted decoder")
        }

        // The same fine-tuning judged against better first measurements (as if the base decoder had
        // done 1 dB better on every image): the batch does not gain, so nothing changes.
        let better = images.map { image in
            var copy = image
            copy.record.psnr += 1
            return copy
        }
        let rejected = try gentle.adapt(codec, images: better, denoiser: denoiser, original: original)
        #expect(rejected.training.mseAfter < rejected.training.mseBefore, "the sample itself improved")
        #expect(abs(rejected.meanPSNRAfter - kept.meanPSNRAfter) < 0.01, "the adapted decoder was measured")
        #expect(rejected.meanPSNRAfter < rejected.meanPSNRBefore)
        #expect(!rejected.isAdapted)
        #expect(rejected.decoder.identifier == codec.identifier)
        #expect(rejected.images == better, "the base decoder's records stand")
        #expect(rejected.denoiser === denoiser, "and so does its denoiser")
    }
}
