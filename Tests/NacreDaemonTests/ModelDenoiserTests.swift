import Foundation
import NacreCodec
import NacreEngine
import NacreStore
import Testing

/// Where a model's denoiser is found: `NAME.nxdn` beside `NAME.nxcm`, used only for the decoder
/// it was trained for.
struct ModelDenoiserTests {
    @Test func theBlockBesideTheModelIsUsedForItsOwnDecoderOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-sidecar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let engine = try Engine(threads: 1)
        let model = folder + "/0123abcd.nxcm"
        #expect(ModelDenoiser.sidecarPath(forModelAt: model) == folder + "/0123abcd.nxdn")
        #expect(ModelDenoiser.sidecarPath(forModelAt: folder + "/plain") == folder + "/plain.nxdn")

        let decoder: UInt64 = 0x1234_5678_9abc_def0
        #expect(try ModelDenoiser.locate(forModelAt: model, decoderIdentifier: decoder, engine: engine) == nil, "no block yet")
        let block = try Denoiser(architecture: DenoiserArchitecture(hiddenChannels: 16, convolutions: 2),
                                 decoderIdentifier: decoder, engine: engine).serialized()
        try Data(block).write(to: URL(fileURLWithPath: ModelDenoiser.sidecarPath(forModelAt: model)))
        let found = try #require(try ModelDenoiser.locate(forModelAt: model, decoderIdentifier: decoder, engine: engine))
        #expect(found.path == ModelDenoiser.sidecarPath(forModelAt: model) && found.denoiser.decoderIdentifier == decoder)
        #expect(try ModelDenoiser.locate(forModelAt: model, decoderIdentifier: decoder &+ 1, engine: engine) == nil,
                "a block for another decoder is not used")

        try Data("not a denoiser".utf8).write(to: URL(fileURLWithPath: ModelDenoiser.sidecarPath(forModelAt: model)))
        #expect(throws: CodecError.self, "a damaged block is an error, not a silent fallback") {
            try ModelDenoiser.locate(forModelAt: model, decoderIdentifier: decoder, engine: engine)
        }
    }
}
