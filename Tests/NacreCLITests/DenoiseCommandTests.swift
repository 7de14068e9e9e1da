import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreTestSupport
import Testing

/// `nacre pack --denoiser` then `nacre unpack --denoise`: the denoiser travels in the archive's
/// model frame and restores give exactly what applying it directly gives. A default pack with the
/// built-in model carries the built-in denoiser, which raises PSNR on real photo crops.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct DenoiseCommandTests {
    static let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreCodecTests/Fixtures/photos").path
    static let photoName = "photo001-crop128.png"

    /// A scratch folder with a tiny full model, a denoiser for it and one for another decoder.
    struct Workspace {
        let root: String
        var model: String { root + "/model.nxcm" }
        var denoiser: String { root + "/model.nxdn" }
        var foreignDenoiser: String { root + "/other.nxdn" }
        var input: String { root + "/" + DenoiseCommandTests.photoName }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-denoise-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: DenoiseCommandTests.photos + "/" + DenoiseCommandTests.photoName, toPath: input)
            let engine = try Engine(threads: 1)
            let network = try HyperpriorModel(
                configuration: HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [0.005, 0.02, 0.08]),
                engine: engine, seed: 7)
            let codec = try CodecModel.exporting(from: network, calibrationImages: [try PNGReader.read(contentsOfFile: input).pixels])
            try Data(codec.serialized()).write(to: URL(fileURLWithPath: model))
            for (path, decoder) in [(denoiser, codec.identifier), (foreignDenoiser, codec.identifier ^ 1)] {
                let filter = try Denoiser(architecture: DenoiserArchitecture(hiddenChannels: 16, convolutions: 2), decoderIdentifier: decoder,
                                          engine: engine)
                var rng = SeededRandom(seed: 11)
                for p in filter.parameters { rng.fillUniform(p, bound: 0.05) }
                try Data(filter.serialized()).write(to: URL(fileURLWithPath: path))
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test func packedDenoiserRestoresBitIdenticalToApplyingItDirectly() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let archive = workspace.root + "/with.nacre"
        let pack = try NacreExecutable.run(["pack", "--model", workspace.model, "--denoiser", workspace.denoiser, "--quality", "20",
                                            "-o", archive, workspace.input])
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let denoised = try NacreExecutable.run(["unpack", archive, "--denoise", "-o", workspace.root + "/denoised"])
        try #require(denoised.status == 0, "unpack --denoise failed: \(denoised.stderr)")
        let plain = try NacreExecutable.run(["unpack", archive, "-o", workspace.root + "/plain"])
        try #require(plain.status == 0, "unpack failed: \(plain.stderr)")

        // The same, in process: the archive's own model frame, decoded, then the denoiser applied.
        let engine = try Engine(threads: 1)
        let reader = try ArchiveReader.open(path: archive)
        let content = try ModelFrameContent(blob: try reader.readModel())
        let codec = try CodecModel.load(content.decoder, engine: engine)
        let filter = try Denoiser(serialized: try #require(content.denoiser), engine: engine)
        #expect(content.denoiser == Array(try Data(contentsOf: URL(fileURLWithPath: workspace.denoiser))))
        let encoded = try EncodedImage(serialized: try reader.readImage(named: Self.photoName).bitstreams[0])
        let decoded = try codec.decode(encoded)
        let expected = try filter.apply(to: decoded, quality: encoded.quality)
        let restored = try PNGReader.read(contentsOfFile: workspace.root + "/denoised/" + Self.photoName).pixels
        let restoredPlain = try PNGReader.read(contentsOfFile: workspace.root + "/plain/" + Self.photoName).pixels
        #expect(restored.rgb == expected.rgb)
        #expect(restoredPlain.rgb == decoded.rgb)
        #expect(restored.rgb != restoredPlain.rgb)
    }

    @Test func denoiseWithoutAStoredDenoiserAndForeignDenoisersAreRefused() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        // By default the model's own denoiser (model.nxdn beside model.nxcm) goes into the archive.
        let withOwn = workspace.root + "/own.nacre"
        let packOwn = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", withOwn, workspace.input])
        try #require(packOwn.status == 0, "pack failed: \(packOwn.stderr)")
        let own = try ModelFrameContent(blob: try ArchiveReader.open(path: withOwn).readModel())
        #expect(own.denoiser == Array(try Data(contentsOf: URL(fileURLWithPath: workspace.denoiser))))

        let archive = workspace.root + "/plain.nacre"
        let pack = try NacreExecutable.run(["pack", "--model", workspace.model, "--no-denoiser", "-o", archive, workspace.input])
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let output = workspace.root + "/out"
        let unpack = try NacreExecutable.run(["unpack", archive, "--denoise", "-o", output])
        #expect(unpack.status != 0)
        #expect(unpack.stderr.contains(archive) && unpack.stderr.contains("no denoiser"), "\(unpack.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []).isEmpty)

        let foreign = try NacreExecutable.run(["pack", "--model", workspace.model, "--denoiser", workspace.foreignDenoiser,
                                               "-o", workspace.root + "/foreign.nacre", workspace.input])
        #expect(foreign.status != 0)
        #expect(foreign.stderr.contains("trained for decoder"), "\(foreign.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/foreign.nacre"))
    }

    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/NacreStore/Resources").path

    /// Mean PSNR of the restored PNGs in `folder` against the originals in `DenoiseCommandTests.photos`.
    static func meanPSNR(of folder: String, names: [String]) throws -> Double {
        try names.reduce(0) { sum, name in
            let original = try PNGReader.read(contentsOfFile: photos + "/" + name).pixels
            let restored = try PNGReader.read(contentsOfFile: folder + "/" + name).pixels
            return sum + (try PSNR(reference: original, distorted: restored).decibels)
        } / Double(names.count)
    }

    @Test func aDefaultPackCarriesTheBuiltInDenoiserWhichRaisesPSNR() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-denoise-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let names = ["photo001-crop128.png", "photo007-crop128.png", "photo015-crop128.png"]
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        for name in names { try FileManager.default.copyItem(atPath: Self.photos + "/" + name, toPath: root + "/in/" + name) }
        // The built-in model and denoiser as shipped (not an override from the environment).
        let shipped = ["NACRE_BASE_MODEL": Self.resources + "/base.nxcm", "NACRE_BASE_DENOISER": ""]

        let archive = root + "/default.nacre"
        let pack = try NacreExecutable.run(["pack", "--quality", "15", "-o", archive, root + "/in"], environment: shipped)
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let content = try ModelFrameContent(blob: try ArchiveReader.open(path: archive).readModel())
        #expect(content.denoiser == Array(try Data(contentsOf: URL(fileURLWithPath: Self.resources + "/base.nxdn"))))

        let denoised = try NacreExecutable.run(["unpack", archive, "--denoise", "-o", root + "/denoised"])
        try #require(denoised.status == 0, "unpack --denoise failed: \(denoised.stderr)")
        let plain = try NacreExecutable.run(["unpack", archive, "-o", root + "/plain"])
        try #require(plain.status == 0, "unpack failed: \(plain.stderr)")
        let plainPSNR = try Self.meanPSNR(of: root + "/plain", names: names)
        let denoisedPSNR = try Self.meanPSNR(of: root + "/denoised", names: names)
        #expect(denoisedPSNR > plainPSNR + 0.005, "plain \(plainPSNR) dB, denoised \(denoisedPSNR) dB")

        // --no-denoiser: the model frame is the decoder alone, as before denoisers existed.
        let bare = root + "/bare.nacre"
        let packBare = try NacreExecutable.run(["pack", "--quality", "15", "--no-denoiser", "-o", bare, root + "/in"], environment: shipped)
        try #require(packBare.status == 0, "pack --no-denoiser failed: \(packBare.stderr)")
        let bareModel = try ArchiveReader.open(path: bare).readModel()
        #expect(bareModel == content.decoder)
        let refused = try NacreExecutable.run(["unpack", bare, "--denoise", "-o", root + "/refused"])
        #expect(refused.status != 0 && refused.stderr.contains("no denoiser"), "\(refused.stderr)")
    }
}

/// `nacre train-denoiser` writes the block of its best held-back validation, its start included:
/// training that only makes the block worse leaves it as it started.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct TrainDenoiserCommandTests {
    @Test func aBlockThatTrainingOnlyMakesWorseIsWrittenAsItStarted() throws {
        let workspace = try DenoiseCommandTests.Workspace()
        defer { workspace.remove() }
        let out = workspace.root + "/trained.nxdn"
        // A learning rate far too high: from the identity (gain 0), every step makes it worse.
        let run = try NacreExecutable.run(["train-denoiser", "--model", workspace.model, "--data", DenoiseCommandTests.photos,
                                           "--out", out, "--crops-per-image", "1", "--channels", "16", "--convolutions", "2",
                                           "--steps", "20", "--validate-every", "10", "--lr", "5", "--threads", "1"])
        try #require(run.status == 0, "train-denoiser failed: \(run.stderr)")
        #expect(run.stdout.contains("step 0 (the best held-back validation"), "\(run.stdout)\n\(run.stderr)")
        let block = try Denoiser.load(contentsOfFile: out, engine: try Engine(threads: 1))
        #expect(block.info["training.steps"] == "0")
        #expect(block.info["validation.gainDB"] == "0.000" || block.info["validation.gainDB"] == "-0.000")
    }
}
