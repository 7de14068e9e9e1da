import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreTestSupport
import Testing

/// `nacre pack` then `ls`, `verify` and `unpack`, as a user runs them, with a tiny untrained full
/// model (the committed golden codec model is decoder-only, so it cannot encode).
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct PackUnpackCommandTests {
    static let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreCodecTests/Fixtures/photos").path
    static let photoNames = ["photo001-crop128.png", "photo007-crop128.png"]

    /// A scratch folder with a model file and an input tree:
    /// gray.png, photo001-crop128.png, rgba.png, sub/photo007-crop128.png, plus a symlink and a
    /// non-PNG file that a folder walk must skip.
    struct Workspace {
        let root: String
        var model: String { root + "/model.nxcm" }
        var inputs: String { root + "/in" }
        var archive: String { root + "/out.nacre" }
        let rgba: PixelBuffer
        let gray: PixelBuffer

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-pack-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root + "/in/sub", withIntermediateDirectories: true)
            let calibration = try PackUnpackCommandTests.photoNames.map {
                try PNGReader.read(contentsOfFile: PackUnpackCommandTests.photos + "/" + $0).pixels
            }
            let engine = try Engine(threads: 1)
            let network = try HyperpriorModel(
                configuration: HyperpriorConfiguration(hiddenChannels: 16, latentChannels: 16, lambdas: [0.005, 0.02, 0.08]),
                engine: engine, seed: 7)
            let model = try CodecModel.exporting(from: network, calibrationImages: calibration)
            try Data(model.serialized()).write(to: URL(fileURLWithPath: root + "/model.nxcm"))

            try FileManager.default.copyItem(atPath: PackUnpackCommandTests.photos + "/" + PackUnpackCommandTests.photoNames[0],
                                             toPath: root + "/in/" + PackUnpackCommandTests.photoNames[0])
            try FileManager.default.copyItem(atPath: PackUnpackCommandTests.photos + "/" + PackUnpackCommandTests.photoNames[1],
                                             toPath: root + "/in/sub/" + PackUnpackCommandTests.photoNames[1])
            let (width, height) = (24, 20)
            var rgb = [UInt8](repeating: 0, count: width * height * 3), alpha = [UInt8](repeating: 0, count: width * height)
            var grayRGB = rgb
            for y in 0..<height {
                for x in 0..<width {
                    let i = y * width + x
                    rgb[3 * i] = UInt8(x * 10); rgb[3 * i + 1] = UInt8(y * 12); rgb[3 * i + 2] = UInt8((x + y) % 2 * 200)
                    alpha[i] = UInt8((x * 37 + y * 11) % 256)
                    let level = UInt8((x * 7 + y * 5) % 256)
                    grayRGB[3 * i] = level; grayRGB[3 * i + 1] = level; grayRGB[3 * i + 2] = level
                }
            }
            rgba = try PixelBuffer(width: width, height: height, rgb: rgb, alpha: alpha)
            gray = try PixelBuffer(width: width, height: height, rgb: grayRGB)
            try Data(try PNGWriter.encode(rgba, layout: PNGLayout(channels: .rgba))).write(to: URL(fileURLWithPath: root + "/in/rgba.png"))
            try Data(try PNGWriter.encode(gray, layout: PNGLayout(channels: .gray))).write(to: URL(fileURLWithPath: root + "/in/gray.png"))
            try FileManager.default.createSymbolicLink(atPath: root + "/in/link.png", withDestinationPath: root + "/in/rgba.png")
            try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/in/notes.txt"))
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func jsonObject(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func packListVerifyAndUnpackRestoreNamesModesAlphaAndPSNR() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let pack = try NacreExecutable.run(["pack", "--model", workspace.model, "--quality", "60", "-o", workspace.archive,
                                            "--json", workspace.inputs])
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let packed = try Self.jsonObject(pack.stdout)
        let expectedNames = ["gray.png", "photo001-crop128.png", "rgba.png", "sub/photo007-crop128.png"]
        #expect((packed["images"] as? [[String: Any]])?.map { $0["name"] as? String } == expectedNames)

        let ls = try NacreExecutable.run(["ls", "--json", workspace.archive])
        try #require(ls.status == 0, "ls failed: \(ls.stderr)")
        let listed = try #require(try Self.jsonObject(ls.stdout)["images"] as? [[String: Any]])
        #expect(listed.map { $0["name"] as? String } == expectedNames)

        let verify = try NacreExecutable.run(["verify", workspace.archive])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")

        let restoredFolder = workspace.root + "/restored"
        let unpack = try NacreExecutable.run(["unpack", workspace.archive, "-o", restoredFolder, "--json"])
        try #require(unpack.status == 0, "unpack failed: \(unpack.stderr)")
        for entry in listed {
            let name = try #require(entry["name"] as? String)
            let original = try PNGReader.read(contentsOfFile: workspace.inputs + "/" + name)
            let restored = try PNGReader.read(contentsOfFile: restoredFolder + "/" + name)
            #expect(restored.pixels.width == original.pixels.width && restored.pixels.height == original.pixels.height, "\(name)")
            #expect(restored.source.colorType == original.source.colorType, "\(name): mode changed")
            #expect(restored.pixels.alpha == original.pixels.alpha, "\(name): alpha not restored exactly")
            let psnr = try PSNR(reference: original.pixels, distorted: restored.pixels).decibels
            let recorded = try #require(entry["psnr"] as? Double)
            #expect(abs(psnr - recorded) < 0.01, "\(name): restored PSNR \(psnr) vs recorded \(recorded)")
        }
        #expect(try PNGReader.read(contentsOfFile: restoredFolder + "/gray.png").source.colorType == .gray)

        // Existing files are refused without --force, and nothing is written; --force overwrites.
        let again = try NacreExecutable.run(["unpack", workspace.archive, "-o", restoredFolder, "--image", "rgba.png"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"), "stderr: \(again.stderr)")
        let forced = try NacreExecutable.run(["unpack", workspace.archive, "-o", restoredFolder, "--image", "rgba.png", "--force"])
        #expect(forced.status == 0, "stderr: \(forced.stderr)")
        #expect(forced.stdout.contains("restored 1 of 1"))
    }

    @Test func packRefusesANonPNGInputAndAnExistingArchive() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let notPNG = workspace.root + "/fake.png"
        try Data("this is text, not a PNG\n".utf8).write(to: URL(fileURLWithPath: notPNG))
        let bad = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", workspace.archive,
                                           workspace.inputs + "/rgba.png", notPNG])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains(notPNG), "the error must name the file: \(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.archive), "a failed pack must leave no archive")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: workspace.root).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")

        let first = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", workspace.archive, workspace.inputs + "/rgba.png"])
        try #require(first.status == 0, "pack failed: \(first.stderr)")
        let refused = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", workspace.archive, workspace.inputs + "/gray.png"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("already exists"), "stderr: \(refused.stderr)")
        let replaced = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", workspace.archive, "--force", "--json",
                                                workspace.inputs + "/gray.png"])
        #expect(replaced.status == 0, "stderr: \(replaced.stderr)")
        let ls = try NacreExecutable.run(["ls", "--json", workspace.archive])
        let names = (try Self.jsonObject(ls.stdout)["images"] as? [[String: Any]])?.map { $0["name"] as? String }
        #expect(names == ["gray.png"], "the archive was not replaced")
    }

    @Test func unpackSkipsADamagedImageRestoresTheOthersAndFails() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let pack = try NacreExecutable.run(["pack", "--model", workspace.model, "-o", workspace.archive, workspace.inputs])
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let ls = try NacreExecutable.run(["ls", "--json", workspace.archive])
        let listed = try #require(try Self.jsonObject(ls.stdout)["images"] as? [[String: Any]])
        let victim = try #require(listed.first { $0["name"] as? String == "rgba.png" })
        let offset = try #require(victim["frameOffset"] as? Int), length = try #require(victim["frameLength"] as? Int)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: workspace.archive)))
        bytes[offset + length / 2] ^= 0x5A
        let damaged = workspace.root + "/damaged.nacre"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))

        let folder = workspace.root + "/restored"
        let unpack = try NacreExecutable.run(["unpack", damaged, "-o", folder, "--json"])
        #expect(unpack.status == 1)
        #expect(unpack.stderr.contains("rgba.png"), "the damaged image must be named: \(unpack.stderr)")
        let report = try Self.jsonObject(unpack.stdout)
        #expect((report["failed"] as? [[String: Any]])?.map { $0["name"] as? String } == ["rgba.png"])
        #expect((report["restored"] as? [[String: Any]])?.count == 3)
        #expect(!FileManager.default.fileExists(atPath: folder + "/rgba.png"))
        #expect(FileManager.default.fileExists(atPath: folder + "/sub/photo007-crop128.png"))
    }

    @Test func unpackRefusesNamesThatLeaveTheFolder() throws {
        // The container stores any byte string as a name; unpack must not write outside its folder.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-unpack-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (number, name) in ["../escape.png", "/tmp/nacre-escape-\(UUID().uuidString).png", "a/../../b.png"].enumerated() {
            let archive = root + "/evil\(number).nacre"
            let model: [UInt8] = [1, 2, 3]
            let writer = try ArchiveWriter(path: archive, manifest: ArchiveManifest(
                writerVersion: "test", modelID: SHA256.hash(model).hex, modelSHA256: SHA256.hash(model)), model: model)
            let record = ImageRecord(name: Array(name.utf8), width: 1, height: 1, channels: 3, colorType: 2, bitDepth: 8,
                                     quality: 50, originalSHA256: SHA256.hash([UInt8]()), psnr: 30, msssim: .nan)
            try writer.append(ArchiveImage(record: record, bitstreams: [[0]]))
            _ = try writer.seal()
            let run = try NacreExecutable.run(["unpack", archive, "-o", root + "/out"])
            #expect(run.status != 0, "\(name) was accepted")
            #expect(run.stderr.contains("not a plain relative path"), "\(name): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root + "/escape.png") && !FileManager.default.fileExists(atPath: root + "/b.png"))
            if name.hasPrefix("/") { #expect(!FileManager.default.fileExists(atPath: name)) }
        }
    }
}
