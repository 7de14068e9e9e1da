import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The int8 decoder (model format version 2): per-channel int8 g_s weights, what they cost in
/// pixels against the f32 decoder, their serialization, and corrupt int8 blocks.
@Suite struct Int8DecoderTests {
    @Test func quantizationErrorIsAtMostHalfAStep() throws {
        var rng = SeededGenerator(seed: 3)
        let shape = [4, 3, 5, 5]
        var weights = (0..<300).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        weights[7] = 1.5  // one outlier in channel 0
        for c in 0..<75 { weights[75 * 2 + c] = 0 }  // an all-zero channel
        let q = try Int8ChannelWeights(quantizing: weights, shape: shape)
        let back = q.dequantized()
        #expect(q.scales[2] == 0)
        for o in 0..<4 {
            let peak = weights[(o * 75)..<((o + 1) * 75)].map(abs).max()!
            #expect(abs(q.scales[o] - peak / 127) <= 1e-7)
            for i in (o * 75)..<((o + 1) * 75) { #expect(abs(back[i] - weights[i]) <= q.scales[o] / 2 * 1.0001) }
        }
        // Clipping for the least squared error never does worse than the plain maximum.
        let clipped = try Int8ChannelWeights(quantizing: weights, shape: shape, clipping: .meanSquaredError)
        func error(_ w: [Float]) -> Float { zip(w, weights).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        #expect(error(clipped.dequantized()) <= error(back))
        #expect(zip(clipped.scales, q.scales).allSatisfy { $0 <= $1 && $0 >= $1 / 2 })
    }

    /// The same latents decoded by the f32 and the int8 decoder give nearly the same pixels.
    @Test func int8AndF32DecodersAgreeOnAPhoto() throws {
        let f32 = try CodecFixtures.tinyModel()
        let int8 = try f32.withDecoderPrecision(.int8)
        #expect(int8.decoderPrecision == .int8 && f32.decoderPrecision == .f32)
        #expect(int8.identifier != f32.identifier)
        let photo = try CodecFixtures.photo(2)
        for quality in [CodecFixtures.quality(ofLevel: 0), CodecFixtures.quality(ofLevel: 2)] {
            let a = try f32.encode(photo, quality: quality), b = try int8.encode(photo, quality: quality)
            let (imageA, latentsA) = try f32.decodeWithLatents(a)
            let (imageB, latentsB) = try int8.decodeWithLatents(b)
            #expect(latentsA.y == latentsB.y && latentsA.z == latentsB.z)  // h_s is integer: same latents
            let between = try PSNR(reference: imageA, distorted: imageB).decibels
            let lost = try PSNR(reference: photo, distorted: imageA).decibels - PSNR(reference: photo, distorted: imageB).decibels
            #expect(between > 45, "int8 vs f32 pixels: \(between) dB at quality \(quality)")
            #expect(abs(lost) < 0.05, "int8 loses \(lost) dB at quality \(quality)")
        }
    }

    @Test func version2RoundTripsExactly() throws {
        let model = try CodecFixtures.tinyModel().withDecoderPrecision(.int8, clipping: .meanSquaredError)
        let full = model.serialized(), decoder = model.decoderBytes()
        #expect(full[4] == 2 && decoder[4] == 2)  // format version
        // Every decoder tensor gains an encoding byte; int8 tensors store 1 byte per weight plus
        // a 4-byte scale per output channel instead of 4 bytes per weight; plus the scale count.
        let f32Bytes = try CodecFixtures.tinyModel().decoderBytes().count
        let int8Change = model.int8Synthesis.values.reduce(0) { $0 + 4 * $1.shape[0] - 3 * $1.values.count }
        #expect(decoder.count == f32Bytes + model.decoderParameters.count + int8Change + 1)
        let engine = try Engine(threads: 1)
        let reloaded = try CodecModel.load(full, engine: engine)
        let decoderOnly = try CodecModel.load(decoder, engine: engine)
        #expect(reloaded.serialized() == full && reloaded.decoderBytes() == decoder && decoderOnly.decoderBytes() == decoder)
        #expect(decoderOnly.identifier == model.identifier && decoderOnly.decoderPrecision == .int8)
        #expect(reloaded.int8Synthesis == model.int8Synthesis)
        let encoded = try model.encode(try CodecFixtures.photo(1), quality: 40)
        #expect(try decoderOnly.decode(encoded).rgb == model.decode(encoded).rgb)
        // Asking for int8 again keeps the stored weights (no re-quantization drift).
        #expect(try reloaded.withDecoderPrecision(.int8).decoderBytes() == decoder)
    }

    @Test func version1ModelsStayVersion1() throws {
        let model = try CodecFixtures.tinyModel()
        let bytes = model.serialized()
        #expect(bytes[4] == 1 && bytes[5] == 0)
        let copy = try model.withDecoderPrecision(.f32)
        #expect(copy.serialized() == bytes && copy.identifier == model.identifier)
        let back = try model.withDecoderPrecision(.int8).withDecoderPrecision(.f32)
        #expect(back.decoderBytes()[4] == 1 && back.decoderPrecision == .f32)
    }

    /// oneDNN's int8 convolutions (activations quantized per tensor, calibrated on two photos)
    /// against the reference path (dequantized weights, f32 engine) on a third photo.
    @Test func int8KernelsAgreeWithTheReferencePath() throws {
        let model = try CodecFixtures.tinyModel().withDecoderPrecision(.int8, calibrationImages: [try CodecFixtures.photo(0), try CodecFixtures.photo(1)])
        #expect(model.int8ActivationScales.count == 4 && model.int8ActivationScales.allSatisfy { $0 > 0 })
        let photo = try CodecFixtures.photo(2)
        for level in [0, 2] {
            let encoded = try model.encode(photo, quality: CodecFixtures.quality(ofLevel: level))
            model.usesInt8Kernels = false
            let reference = try model.decode(encoded)
            model.usesInt8Kernels = true
            let kernels = try model.decode(encoded)
            let between = try PSNR(reference: reference, distorted: kernels).decibels
            let lost = try PSNR(reference: photo, distorted: reference).decibels - PSNR(reference: photo, distorted: kernels).decibels
            #expect(between > 40, "int8 kernels vs reference path: \(between) dB at level \(level)")
            #expect(lost < 0.1, "int8 kernels lose \(lost) dB at level \(level)")
        }
        // The scales travel in the decoder bytes.
        let decoderOnly = try CodecModel.load(model.decoderBytes(), engine: try Engine(threads: 1))
        #expect(decoderOnly.int8ActivationScales == model.int8ActivationScales && decoderOnly.decoderBytes() == model.decoderBytes())
        let encoded = try model.encode(photo, quality: 50)
        for kernels in [false, true] {
            model.usesInt8Kernels = kernels
            decoderOnly.usesInt8Kernels = kernels
            #expect(try decoderOnly.decode(encoded).rgb == model.decode(encoded).rgb, "int8 kernels: \(kernels)")
        }
        // Corrupt scales are rejected.
        let bytes = model.decoderBytes()
        let levels = CodecFixtures.configuration.levelCount, m = CodecFixtures.configuration.latentChannels
        let count = try Self.encodingOffset(of: "gain.decoder", rank: 2, in: bytes) + 1 + levels * m * 4
        #expect(bytes[count] == 4)
        for (what, change) in [("count 3", { (b: inout [UInt8]) in b[count] = 3 }),
                               ("negative scale", { (b: inout [UInt8]) in b[count + 4] |= 0x80 }),
                               ("zero scale", { (b: inout [UInt8]) in b.replaceSubrange((count + 5)..<(count + 9), with: [0, 0, 0, 0]) })] {
            var candidate = bytes
            change(&candidate)
            let error = #expect(throws: CodecError.self, "\(what)") { try CodecModel.load(Self.resealed(candidate), engine: try Engine(threads: 1)) }
            #expect(error?.code == .incompatibleModel, "\(what)")
        }
    }

    /// Weights changed after quantization (decoder fine-tuning) are quantized again when saved.
    @Test func changedWeightsAreQuantizedAgain() throws {
        let model = try CodecFixtures.tinyModel().withDecoderPrecision(.int8)
        let before = model.decoderBytes()
        let weight = CodecModel.synthesisConvolutionWeights(of: model.network)[1]
        var values = weight.values()
        values[3] += 0.05
        try weight.setValues(values)
        let saved = try CodecModel.load(model.decoderBytes(), engine: try Engine(threads: 1))
        #expect(model.decoderBytes() != before)
        let reloaded = CodecModel.synthesisConvolutionWeights(of: saved.network)[1].values()
        let step = saved.int8Synthesis[weight.name]!.scales[0]
        #expect(abs(reloaded[3] - values[3]) <= step / 2 * 1.0001)
    }

    /// Re-seals a modified model file with a valid checksum, so the int8 checks themselves are reached.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        let body = Array(bytes[0..<(bytes.count - 8)])
        var w = ByteWriter(bytes: body)
        w.append(FNV1a.hash(body))
        return w.bytes
    }

    /// Offset of the encoding byte of the named tensor in a version-2 file (after name, rank, dims).
    static func encodingOffset(of name: String, rank: Int, in bytes: [UInt8]) throws -> Int {
        let needle = Array(name.utf8)
        let start = try #require((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
        return start + needle.count + 1 + 4 * rank
    }

    @Test func corruptInt8BlocksGiveCodecErrors() throws {
        let bytes = try CodecFixtures.tinyModel().withDecoderPrecision(.int8).decoderBytes()
        let engine = try Engine(threads: 1)
        let encoding = try Self.encodingOffset(of: "g_s.2.weight", rank: 4, in: bytes)
        let scales = encoding + 1, values = scales + 16 * 4
        func expectRejected(_ what: String, _ change: (inout [UInt8]) -> Void) {
            var candidate = bytes
            change(&candidate)
            let error = #expect(throws: CodecError.self, "\(what)") { try CodecModel.load(Self.resealed(candidate), engine: engine) }
            #expect(error?.code == .incompatibleModel, "\(what)")
        }
        expectRejected("unknown encoding") { $0[encoding] = 7 }
        expectRejected("f32 where int8 is expected") { $0[encoding] = 0 }
        expectRejected("int8 where f32 is expected") { $0[try! Self.encodingOffset(of: "gain.decoder", rank: 2, in: bytes)] = 1 }
        expectRejected("value −128") { $0[values + 5] = 0x80 }
        expectRejected("negative scale") { $0[scales + 3] |= 0x80 }
        expectRejected("NaN scale") { $0.replaceSubrange((scales + 4)..<(scales + 8), with: [0, 0, 0xC0, 0x7F]) }
        expectRejected("truncated int8 block") { $0 = Array($0[0..<(values + 100)]) + [0, 0, 0, 0, 0, 0, 0, 0] }
        expectRejected("version 3") { $0[4] = 3 }
        // A sweep of resealed byte flips over the tensors and blocks (not the header, where a flip
        // can ask for a legal but huge network): a typed error or a valid model, never a crash.
        var rng = SeededGenerator(seed: 11)
        let tensors = try Self.encodingOffset(of: "g_s.0.weight", rank: 4, in: bytes) - 20
        for _ in 0..<150 {
            var flipped = bytes
            flipped[Int.random(in: tensors..<(bytes.count - 8), using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            do { _ = try CodecModel.load(Self.resealed(flipped), engine: engine) } catch is CodecError {} catch {
                Issue.record("untyped error \(error)")
            }
        }
    }
}
