import Foundation
import NacreImage
import NacreTestSupport
import Testing
@testable import NacreCodec

/// Decoding in another process with another oneDNN ISA (AVX2 instead of AVX-512) or one thread
/// gives bit-identical latents and the same PSNR within 0.01 dB (the float g_s may move pixels).
@Suite struct CrossProcessDeterminismTests {
    @Test func childProcessesDecodeBitIdenticalLatents() throws {
        try #require(NacreExecutable.path != nil, "the nacre executable is missing; build it with `swift build --build-tests`")
        let model = try CodecFixtures.tinyModel(threads: 2)
        let image = try CodecFixtures.photo(2)
        let encoded = try model.encode(image, quality: 63.3)
        let (decoded, latents) = try model.decodeWithLatents(encoded)
        let psnr = try PSNR(reference: image, distorted: decoded).decibels

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-det-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelPath = folder.appendingPathComponent("model.nxcm").path
        let imagePath = folder.appendingPathComponent("image.nxim").path
        try Data(model.decoderBytes()).write(to: URL(fileURLWithPath: modelPath))
        try Data(encoded.serialized()).write(to: URL(fileURLWithPath: imagePath))
        var expectedLatentBytes = Data()
        for v in latents.z + latents.y { withUnsafeBytes(of: v.littleEndian) { expectedLatentBytes.append(contentsOf: $0) } }

        let settings: [(name: String, environment: [String: String], isa: String?)] = [
            ("AVX2", ["ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "ONEDNN_VERBOSE": "1"], "isa:Intel AVX2"),
            ("one thread", ["OMP_NUM_THREADS": "1"], nil),
        ]
        for setting in settings {
            let latentsPath = folder.appendingPathComponent("latents-\(setting.name).bin").path
            let pixelsPath = folder.appendingPathComponent("pixels-\(setting.name).rgb").path
            let run = try NacreExecutable.run(["debug-decode", "--model", modelPath, "--in", imagePath,
                                               "--latents-out", latentsPath, "--pixels-out", pixelsPath],
                                              environment: setting.environment)
            let log = run.stdout + run.stderr
            try #require(run.status == 0, "\(setting.name): debug-decode failed: \(log.suffix(2000))")
            if let isa = setting.isa {
                #expect(log.contains(isa), "\(setting.name): oneDNN did not report \(isa); the ISA limit was not applied")
            }
            let childLatents = try Data(contentsOf: URL(fileURLWithPath: latentsPath))
            #expect(childLatents == expectedLatentBytes, "\(setting.name): latents differ")
            let pixels = try PixelBuffer(width: image.width, height: image.height,
                                         rgb: Array(try Data(contentsOf: URL(fileURLWithPath: pixelsPath))))
            let childPSNR = try PSNR(reference: image, distorted: pixels).decibels
            #expect(abs(childPSNR - psnr) < 0.01, "\(setting.name): PSNR \(childPSNR) vs \(psnr)")
        }
    }
}
