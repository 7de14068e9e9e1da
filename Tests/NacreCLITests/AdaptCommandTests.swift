import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreTestSupport
import Testing

/// `nacre pack --adapt-seconds`: the decoder is fine-tuned on a sample of the images and kept
/// only when the mean PSNR of all of them rises; either way the archive's records are what its
/// restores give.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct AdaptCommandTests {
    @Test func anAdaptedPackReportsAndStoresWhatTheWholeBatchGets() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-adapt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let names = ["photo001-crop128.png", "photo007-crop128.png", "photo015-crop128.png"]
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        for name in names {
            try FileManager.default.copyItem(atPath: DenoiseCommandTests.photos + "/" + name, toPath: root + "/in/" + name)
        }
        let shipped = ["NACRE_BASE_MODEL": DenoiseCommandTests.resources + "/base.nxcm", "NACRE_BASE_DENOISER": ""]
        let archive = root + "/adapted.nacre"
        let pack = try NacreExecutable.run(["pack", "--quality", "30", "--adapt-seconds", "3", "--adapt-images", "2", "--json",
                                            "-o", archive, root + "/in"], environment: shipped)
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        #expect(pack.stderr.contains("adapted the decoder on 2 of 3 images"), "\(pack.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(pack.stdout.utf8)) as? [String: Any])
        let reported = try #require(report["meanPSNR"] as? Double)

        let reader = try ArchiveReader.open(path: archive)
        let adapted = try reader.readManifest().codecSettings["adaptation.base"] != nil
        let content = try ModelFrameContent(blob: try reader.readModel())
        // The verdict line: "mean PSNR A → B dB", and "kept the original decoder" when B ≤ A.
        #expect(adapted == !pack.stderr.contains("kept the original decoder"), "\(pack.stderr)")
        if adapted {
            // The built-in denoiser goes along, bound to the adapted decoder, only if it still helps it.
            let kept = pack.stderr.contains("is kept"), left = pack.stderr.contains("is left out")
            #expect(kept != left, "\(pack.stderr)")
            if let block = content.denoiser {
                #expect(kept)
                let denoiser = try Denoiser(serialized: block, engine: try Engine(threads: 1))
                #expect(denoiser.decoderIdentifierString == (try reader.readManifest()).codecSettings["codec.modelIdentifier"])
                let denoised = try NacreExecutable.run(["unpack", archive, "--denoise", "-o", root + "/denoised"])
                try #require(denoised.status == 0, "unpack --denoise failed: \(denoised.stderr)")
                #expect(try DenoiseCommandTests.meanPSNR(of: root + "/denoised", names: names) > reported, "the kept denoiser raises PSNR")
            } else {
                #expect(left)
            }
        } else {
            #expect(content.denoiser != nil, "the base decoder keeps its own denoiser")
        }

        let restored = try NacreExecutable.run(["unpack", archive, "-o", root + "/out"])
        try #require(restored.status == 0, "unpack failed: \(restored.stderr)")
        let measured = try DenoiseCommandTests.meanPSNR(of: root + "/out", names: names)
        #expect(abs(measured - reported) < 0.01, "restores give \(measured) dB, the archive records \(reported) dB")
    }
}
