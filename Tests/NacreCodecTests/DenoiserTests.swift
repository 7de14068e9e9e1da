import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The denoiser: its block's round trip and damage handling, the model-frame bundle, decoder
/// checks, tiling, and that a few training steps on a real coded crop lower the error.
struct DenoiserTests {
    /// A small denoiser with non-trivial weights (the last layer is not the zero it starts with).
    static func randomDenoiser(decoder: UInt64 = 0x1234_5678_9ABC_DEF0, engine: Engine) throws -> Denoiser {
        let denoiser = try Denoiser(architecture: DenoiserArchitecture(hiddenChannels: 16, convolutions: 2), decoderIdentifier: decoder,
                                    engine: engine, seed: 5, info: ["purpose": "tests"])
        var rng = SeededRandom(seed: 9)
        for p in denoiser.parameters { rng.fillUniform(p, bound: 0.05) }
        return denoiser
    }

    static func checksummed(_ body: [UInt8]) -> [UInt8] {
        var bytes = body
        withUnsafeBytes(of: FNV1a.hash(body).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    @Test func blockRoundTripKeepsEveryStoredWeightAndTheOutput() throws {
        let engine = try Engine(threads: 1)
        let denoiser = try Self.randomDenoiser(engine: engine)
        let block = denoiser.serialized()
        #expect(block == denoiser.serialized())
        let loaded = try Denoiser(serialized: block, engine: engine)
        #expect(loaded.architecture == denoiser.architecture)
        #expect(loaded.decoderIdentifier == denoiser.decoderIdentifier)
        #expect(loaded.info == ["purpose": "tests"])
        #expect(loaded.serialized() == block)
        // int8 storage: the loaded weights are the rounded ones, within half a step of the originals.
        try denoiser.roundWeightsToStoredPrecision()
        for (a, b) in zip(denoiser.parameters, loaded.parameters) { #expect(a.values() == b.values(), "\(a.name)") }
        let image = try CodecFixtures.photo(0)
        #expect(try loaded.apply(to: image, quality: 30) == (try denoiser.apply(to: image, quality: 30)))
        #expect(try loaded.apply(to: image, quality: 30) != image)
    }

    @Test func aCoarseWeightGridIsKeptAcrossLoadingAndCompressesTheBlock() throws {
        let engine = try Engine(threads: 1)
        let denoiser = try Self.randomDenoiser(engine: engine)
        let fine = denoiser.serialized()
        denoiser.weightLevels = 31
        let coarse = denoiser.serialized()
        #expect(coarse.count == fine.count)
        let loaded = try Denoiser(serialized: coarse, engine: engine)
        #expect(loaded.weightLevels == 31)
        #expect(loaded.serialized() == coarse)
        #expect(try Denoiser(serialized: fine, engine: engine).weightLevels == Denoiser.maximumWeightLevels)
        for index in loaded.convolutions.indices {
            let stored = loaded.storedForm(ofConvolution: index)
            #expect(stored.weights.allSatisfy { abs(Int($0)) <= 31 })
            #expect(stored.weights.contains(31) || stored.weights.contains(-31))
        }
        // Fewer distinct values: fewer bits per weight (zeroth-order entropy of the weight bytes).
        func entropy(_ d: Denoiser) -> Double {
            let values = d.convolutions.indices.flatMap { d.storedForm(ofConvolution: $0).weights }
            let counts = Dictionary(grouping: values, by: { $0 }).values.map { Double($0.count) / Double(values.count) }
            return -counts.reduce(0) { $0 + $1 * log2($1) }
        }
        #expect(entropy(loaded) < entropy(try Denoiser(serialized: fine, engine: engine)) - 1.0)
        // The coarse grid still follows the weights: the filtered images stay close.
        let image = try CodecFixtures.photo(0)
        let a = try loaded.apply(to: image, quality: 40).rgb, b = try Denoiser(serialized: fine, engine: engine).apply(to: image, quality: 40).rgb
        #expect(zip(a, b).map { abs(Int($0) - Int($1)) }.max()! <= 2)
    }

    @Test func weightsThatCannotMatterAreStoredAsZero() throws {
        let engine = try Engine(threads: 1)
        let denoiser = try Self.randomDenoiser(engine: engine)
        let image = try CodecFixtures.photo(1)
        let before = try denoiser.apply(to: image, quality: 60)
        let loaded = try Denoiser(serialized: denoiser.serialized(), engine: engine)
        let first = loaded.storedForm(ofConvolution: 0), last = loaded.storedForm(ofConvolution: loaded.convolutions.count - 1)
        let kernel = 9, inputs = DenoiserArchitecture.tensorChannels
        for o in 0..<denoiser.architecture.hiddenChannels {
            for i in (DenoiserArchitecture.imageChannels + 1)..<inputs {
                #expect(first.weights[((o * inputs + i) * kernel)..<((o * inputs + i + 1) * kernel)].allSatisfy { $0 == 0 })
            }
        }
        let perOutput = last.weights.count / DenoiserArchitecture.tensorChannels
        #expect(last.weights[(DenoiserArchitecture.imageChannels * perOutput)...].allSatisfy { $0 == 0 })
        #expect(last.biases[DenoiserArchitecture.imageChannels...].allSatisfy { $0 == 0 })
        // Zeroing them changes nothing the filter outputs, beyond int8 rounding of the others.
        let after = try loaded.apply(to: image, quality: 60)
        #expect(zip(before.rgb, after.rgb).map { abs(Int($0) - Int($1)) }.max()! <= 1)
        // A weight byte of −128 (outside the symmetric grid) is refused.
        var bytes = Array(denoiser.serialized().dropLast(8))
        let firstWeight = bytes.count - loaded.architecture.layerChannels.reduce(0) { $0 + $1.output * (4 + $1.input * 9 + 4) }
            + 4 * loaded.architecture.hiddenChannels
        bytes[firstWeight] = 0x80
        #expect(throws: CodecError.self) { _ = try Denoiser(serialized: Self.checksummed(bytes), engine: engine) }
    }

    @Test func damagedBlocksGiveTypedErrors() throws {
        let engine = try Engine(threads: 1)
        let block = try Self.randomDenoiser(engine: engine).serialized()
        func code(_ bytes: [UInt8]) -> CodecError.Code? {
            do { _ = try Denoiser(serialized: bytes, engine: engine); return nil } catch let error as CodecError {
                return error.code
            } catch { return nil }
        }
        var flipped = block
        flipped[block.count / 2] ^= 0x40
        #expect(code(flipped) == .corruptDenoiserBlock)
        for cut in [0, 3, 12, 40, block.count / 2, block.count - 1] { #expect(code(Array(block.prefix(cut))) == .corruptDenoiserBlock, "cut at \(cut)") }
        #expect(code(block + [0]) == .corruptDenoiserBlock)
        var magic = block
        magic[0] = UInt8(ascii: "X")
        #expect(code(magic) == .corruptDenoiserBlock)
        var newer = Array(block.dropLast(8))
        newer[4] = 2
        #expect(code(Self.checksummed(newer)) == .unsupportedDenoiserVersion)
        var tooWide = Array(block.dropLast(8))
        tooWide[16] = 0; tooWide[17] = 4  // 1024 hidden channels
        #expect(code(Self.checksummed(tooWide)) == .corruptDenoiserBlock)
        var shortWeights = Array(block.dropLast(8))
        shortWeights.removeLast(4)
        #expect(code(Self.checksummed(shortWeights)) == .corruptDenoiserBlock)
    }

    @Test func modelFrameCarriesTheDecoderAloneOrBundledWithADenoiser() throws {
        let engine = try Engine(threads: 1)
        let decoder = try CodecFixtures.tinyModel().decoderBytes()
        let block = try Self.randomDenoiser(engine: engine).serialized()
        // Without a denoiser the blob is the decoder bytes, as archives always stored them.
        #expect(ModelFrameContent(decoder: decoder).encoded() == decoder)
        #expect(try ModelFrameContent(blob: decoder) == ModelFrameContent(decoder: decoder))
        let bundle = ModelFrameContent(decoder: decoder, denoiser: block).encoded()
        #expect(Array(bundle.prefix(4)) == Array("NXMF".utf8))
        #expect(try ModelFrameContent(blob: bundle) == ModelFrameContent(decoder: decoder, denoiser: block))
        func code(_ bytes: [UInt8]) -> CodecError.Code? {
            do { _ = try ModelFrameContent(blob: bytes); return nil } catch { return error.code }
        }
        for cut in [6, 10, 20, bundle.count - 1] { #expect(code(Array(bundle.prefix(cut))) == .corruptDenoiserBlock, "cut at \(cut)") }
        #expect(code(bundle + [7]) == .corruptDenoiserBlock)
        // Not a bundle: the decoder bytes alone (the decoder's loader reports damage there).
        #expect(try ModelFrameContent(blob: [1, 2, 3]) == ModelFrameContent(decoder: [1, 2, 3]))
        var newer = bundle
        newer[4] = 9
        #expect(code(newer) == .unsupportedDenoiserVersion)
    }

    @Test func anotherDecodersOutputIsRefused() throws {
        let engine = try Engine(threads: 1)
        let denoiser = try Self.randomDenoiser(decoder: 1, engine: engine)
        #expect(throws: CodecError.self) { try denoiser.requireDecoder(2) }
        do { try denoiser.requireDecoder(2) } catch { #expect(error.code == .wrongDecoder) }
        try denoiser.requireDecoder(1)
        #expect(throws: CodecError.self) { _ = try denoiser.apply(to: try CodecFixtures.photo(0), quality: 0) }
    }

    @Test func tilingDoesNotChangeTheResultAndOddSizesWork() throws {
        let engine = try Engine(threads: 1)
        let denoiser = try Self.randomDenoiser(engine: engine)
        let photo = try CodecFixtures.photo(1)
        let odd = try photo.window(x: 0, y: 0, width: 117, height: 93)
        let whole = try denoiser.apply(to: odd, quality: 50)
        denoiser.tileSide = 16
        let tiled = try denoiser.apply(to: odd, quality: 50)
        let differences = zip(whole.rgb, tiled.rgb).map { abs(Int($0) - Int($1)) }
        #expect(differences.max()! <= 1)
        #expect(differences.filter { $0 != 0 }.count * 1000 <= differences.count)
        let alpha = try PixelBuffer(width: 5, height: 3, rgb: [UInt8](repeating: 90, count: 45), alpha: [UInt8](0..<15))
        #expect(try denoiser.apply(to: alpha, quality: 10).alpha == alpha.alpha)
        let single = try PixelBuffer(width: 1, height: 1, rgb: [10, 200, 30])
        #expect(try denoiser.apply(to: single, quality: 100).rgb.count == 3)
    }

    @Test func aFewTrainingStepsLowerTheErrorOnARealCodedCrop() throws {
        let codec = try CodecFixtures.tinyModel()
        let original = try CodecFixtures.photo(2)
        let encoded = try codec.encode(original, quality: 1)
        let pair = DenoiserTrainingPair(quality: encoded.quality, decoded: try codec.decode(encoded), original: original)
        let denoiser = try Denoiser(architecture: DenoiserArchitecture(hiddenChannels: 16, convolutions: 2), decoderIdentifier: codec.identifier,
                                    engine: codec.network.engine, seed: 3)
        let trainer = try DenoiserTrainer(denoiser: denoiser, training: [pair],
                                          options: .init(steps: 60, batchSize: 4, patchSide: 64, learningRate: 3e-3))
        let before = try trainer.validate(on: [pair])
        #expect(abs(before.meanGain) < 1e-9)  // starts as the identity
        for _ in 0..<60 { try trainer.trainStep() }
        let after = try trainer.validate(on: [pair])
        #expect(after.meanGain > 0.05, "gain \(after.meanGain) dB")
        // Resuming from a checkpoint restores the same weights and step.
        let copy = try Denoiser(architecture: denoiser.architecture, decoderIdentifier: codec.identifier, engine: codec.network.engine)
        let resumed = try DenoiserTrainer(denoiser: copy, training: [pair], options: trainer.options)
        try resumed.resume(from: trainer.checkpoint())
        #expect(resumed.step == 60)
        #expect(copy.serialized() == denoiser.serialized())
    }
}
